// Compares one table on OLD and NEW. Both sides read in a REPEATABLE READ, READ ONLY
// transaction each, started back to back, so each side is one consistent snapshot.
//
// With a primary key: chunks in key order, their boundaries taken from OLD (the row
// chunk_sizer.next() positions further in key order), the last chunk open-ended so rows NEW
// has beyond OLD's last key are seen too. Per chunk each server computes count(*) and the sum
// of 64-bit row hashes, concurrently; only a chunk whose numbers differ is drilled into, by
// fetching (key, hash) from both sides and diffing them (row_diff). Without a key: one
// whole-table checksum, and on a difference the two multisets of rows.
//
// Under live writes the two snapshots are not the same instant, so a row written between them
// differs in the snapshots without differing for good. Keyed differences are therefore read
// again, outside the snapshots, after recheck_delay, up to recheck_rounds times; a row is
// reported once two looks in a row agree on it, and dropped as soon as it matches.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "compare/chunk_sizer.hpp"
#include "compare/pg_connection.hpp"
#include "compare/row_diff.hpp"
#include "compare/table_model.hpp"

namespace dw::compare {

/// One table as each side has it, and the columns compared (shared_columns()).
struct table_pair {
  table_info old_table;
  table_info new_table;
  std::vector<std::string> columns;
};

struct compare_settings {
  chunk_limits chunking;
  rate_limiter* limiter = nullptr;           ///< shared by every worker; nullptr: unlimited
  std::uint64_t max_unkeyed_rows = 1'000'000;  ///< keyless tables larger than this: counts only
  int recheck_rounds = 3;
  std::chrono::milliseconds recheck_delay{200};
  const std::atomic<bool>* stop = nullptr;   ///< set: abandon at the next chunk (Ctrl-C)
};

struct table_comparison {
  table_name table;
  std::vector<std::string> key;          ///< empty: compared as a whole table
  std::int64_t rows_old = 0;
  std::int64_t rows_new = 0;
  std::uint64_t chunks = 0;
  std::uint64_t differing_chunks = 0;
  std::vector<row_difference> rows;      ///< keyed tables: every differing row
  std::vector<multiset_difference> unkeyed;  ///< keyless tables: surplus rows per side
  bool unkeyed_listed = true;            ///< false: too large to list; counts only
  std::string error;                     ///< set: the comparison did not finish
  double seconds = 0;

  [[nodiscard]] std::uint64_t count(row_difference_kind k) const noexcept;
  [[nodiscard]] bool matches() const noexcept;
};

/// Compares one table. Statement failures are recorded in `error`; a lost connection
/// is thrown (pg_error with connection_failed()), since nothing else can run on it.
[[nodiscard]] table_comparison compare_table(pg_connection& old_conn, pg_connection& new_conn,
                                             const table_pair& table,
                                             const compare_settings& settings);

/// The (key, hash) of each of `keys` that exists, read outside any snapshot; used by the
/// recheck and by repair to see a row's current state.
[[nodiscard]] std::vector<keyed_hash> fetch_row_hashes(pg_connection& conn, const table_pair& table,
                                                       const std::vector<key_value>& keys);

/// Re-reads `rows` on both sides and returns those that still differ (kinds updated).
[[nodiscard]] std::vector<row_difference> recheck_rows(pg_connection& old_conn,
                                                       pg_connection& new_conn,
                                                       const table_pair& table,
                                                       const std::vector<row_difference>& rows);

}  // namespace dw::compare
