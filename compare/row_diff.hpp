// Drill-down inside a chunk whose checksums differ: each side's (key, row hash) pairs in, the
// exact differing rows out. And the same for tables without a key, as multisets of row
// hashes. Pure; the rows come from table_checksum's queries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compare/table_model.hpp"

namespace dw::compare {

enum class row_difference_kind : std::uint8_t {
  missing_on_new,  ///< OLD has the key, NEW does not
  extra_on_new,    ///< NEW has the key, OLD does not
  different,       ///< both have it, with different values
};

/// "missing_on_new", "extra_on_new", "different".
[[nodiscard]] std::string_view to_string(row_difference_kind k) noexcept;

struct row_difference {
  row_difference_kind kind = row_difference_kind::different;
  key_value key;

  friend bool operator==(const row_difference&, const row_difference&) = default;
};

/// The key's parts length-prefixed ("1:a2:bc"), so no two different keys flatten alike: a
/// map key for looking rows up by their key.
[[nodiscard]] std::string flat_key(const key_value& key);

struct keyed_hash {
  key_value key;
  std::string hash;
};

/// Rows only OLD has and rows whose hashes differ, in OLD's order, then rows only NEW has,
/// in NEW's order.
[[nodiscard]] std::vector<row_difference> diff_keyed_rows(const std::vector<keyed_hash>& old_rows,
                                                          const std::vector<keyed_hash>& new_rows);

/// One distinct row of a keyless table: its hash, how many copies, and its text.
struct counted_row {
  std::string hash;
  std::int64_t count = 0;
  std::string text;
};

/// Copies of a keyless row that one side has more of than the other.
struct multiset_difference {
  std::string text;
  std::int64_t only_on_old = 0;  ///< surplus copies on OLD (missing on NEW)
  std::int64_t only_on_new = 0;  ///< surplus copies on NEW (extra on NEW)

  friend bool operator==(const multiset_difference&, const multiset_difference&) = default;
};

[[nodiscard]] std::vector<multiset_difference> diff_row_multisets(
    const std::vector<counted_row>& old_rows, const std::vector<counted_row>& new_rows);

}  // namespace dw::compare
