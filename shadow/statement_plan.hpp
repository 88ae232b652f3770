// What the session does with one SQL text (a Query, or the statement of a Parse), decided once
// from the classifier (compare/classifier.hpp) and the shadow options. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "compare/classifier.hpp"

namespace dw::shadow {

struct plan_options {
  std::span<const std::string> read_only_functions = {};
  bool serialize_sequences = true;            ///< inserts into one table run one at a time
  std::span<const std::string> serialize_tables = {};  ///< table keys (table_name::key()) serialised for every write
};

struct statement_plan {
  bool to_shadow = false;  ///< changes state: the shadow gets it
  /// A write whose order across sessions matters: ordered mode wraps it when it autocommits.
  bool needs_order = false;
  bool commits = false;             ///< COMMIT / END / PREPARE TRANSACTION / COMMIT PREPARED
  bool tx_control = false;          ///< any transaction statement
  bool outside_transaction = false; ///< refused inside BEGIN (VACUUM, ...): never wrapped
  bool concurrent_index_build = false;  ///< leaves an invalid index behind when it fails
  bool ddl = false;                 ///< changes the schema (cached catalog facts go stale)
  bool copy_in = false;             ///< COPY ... FROM STDIN: data follows from the client
  bool replayable = false;  ///< session state a fresh connection needs (SET, PREPARE, LISTEN...)
  bool nondeterministic = false;
  /// Tables whose writes run one at a time across sessions (sequence order, serialize_tables).
  std::vector<std::string> serialize_keys;

  /// One entry per statement of the text, in order.
  struct part {
    std::size_t location = 0;       ///< where the statement starts in the text (as planned,
                                    ///< before any nondeterminism rewrite)
    bool compare_rows = false;      ///< a write: its RETURNING rows are compared
    bool ends_transaction = false;  ///< COMMIT / ROLLBACK (not to a savepoint)
    bool chain = false;             ///< ... AND CHAIN: the next transaction starts at once
    bool replayable = false;        ///< session state a fresh connection needs (see above)
    bool creates_object = false;    ///< CREATE TEMP TABLE/VIEW/SEQUENCE, SELECT INTO TEMP
    bool begins = false;            ///< BEGIN / START TRANSACTION
    bool commits = false;           ///< COMMIT / END (AND CHAIN too)
    bool needs_order = false;       ///< a write whose order across sessions matters
    bool serialized = false;        ///< has serialize_keys of its own (see above)
  };
  std::vector<part> parts;
};

[[nodiscard]] statement_plan plan_statement(std::string_view sql, const plan_options& options);

/// libpg_query's fingerprint of `sql` (0 when it does not parse), for divergence records.
[[nodiscard]] std::uint64_t statement_fingerprint(std::string_view sql);

}  // namespace dw::shadow
