#pragma once
// Comparing two backends' answers to the same read statement (issue 4, "The diff"). Pure code:
// the session feeds each side's RowDescription, DataRow bodies, CommandComplete tag or error as
// they arrive, in any interleaving, and asks finish() for the verdict. No I/O, clock or globals.
//
// Memory is bounded whatever the result's size:
//  - Rows are compared as multisets: each row hashes to 64 bits, and each side keeps its row
//    count, the sum of the hashes and the xor of a second mix of them. Equal (count, sum, xor)
//    means equal multisets, up to 64-bit hash collisions.
//  - With `ordered` (a top-level ORDER BY), each side also keeps a running hash of the row
//    sequence, and the row hashes of its first max_tracked_rows positions, which locate the
//    first differing position when it lies in that window. Rows whose ORDER BY keys tie may
//    legitimately come back in another order; that is reported as a difference.
//  - To show which rows differ, a map of row hash → (primary count − shadow count), holding
//    each row's text truncated to max_sample_text bytes, is kept while it has at most
//    max_tracked_rows entries; rows that both sides returned cancel out. Past the cap the map
//    is dropped and the result says "differ, sample unavailable". The session feeds the shadow
//    after the primary, so results longer than the cap usually come without a sample.
//
// Tolerances apply to text-format values only (binary values are compared byte for byte):
//  - float4, float8, numeric (OIDs 700, 701, 1700): the value is rounded to a bucket of width
//    max(float_abs_tolerance, float_rel_tolerance × 2^floor(log2 |v|)) before hashing, since a
//    hash cannot express "within ε". Two values closer than the tolerance but on either side of
//    a bucket edge (or of a power of two, where the relative width changes) are still reported
//    as different; values further apart than one bucket width never match.
//  - timestamp, timestamptz (OIDs 1114, 1184) in ISO DateStyle: rounded down to a bucket of
//    timestamp_tolerance_us microseconds, with the same edge caveat. Other spellings
//    (infinity, BC dates, other DateStyles) are compared as text.
// Ignored columns (by name) are left out of the column check, the row hashes and the samples.
// NULL and the empty string always differ.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/backend_messages.hpp"

namespace dw::compare {

enum class result_side : std::uint8_t { primary, shadow };

struct result_diff_options {
  bool ordered = false;                     ///< the statement has a top-level ORDER BY
  double float_abs_tolerance = 0;           ///< 0: no absolute tolerance
  double float_rel_tolerance = 0;           ///< 0: no relative tolerance
  std::int64_t timestamp_tolerance_us = 0;  ///< 0: timestamps compared exactly
  std::vector<std::string> ignored_columns;
  std::size_t sample_rows = 5;          ///< differing rows shown per side
  std::size_t max_tracked_rows = 4096;  ///< cap of the differing-row map and ordered window
  std::size_t max_sample_text = 200;    ///< bytes kept of each row's rendering
};

enum class result_verdict : std::uint8_t { match, mismatch };

enum class diff_reason : std::uint8_t {
  columns_differ,      ///< column names, type OIDs or formats (e.g. int4 vs int8)
  row_count,           ///< the sides returned different numbers of rows
  rows,                ///< row contents differ, or (ordered) their order does
  tag,                 ///< CommandComplete tags differ (SELECT 3 vs SELECT 2)
  error_vs_success,    ///< one side failed, the other did not
  both_errors_differ,  ///< both failed, with different SQLSTATEs
  malformed_row,       ///< a DataRow body did not parse or had the wrong column count
};

[[nodiscard]] std::string_view to_string(diff_reason r) noexcept;

struct result_diff_summary {
  result_verdict verdict = result_verdict::match;
  std::vector<diff_reason> reasons;
  std::string detail;  ///< one human-readable line per reason
  std::uint64_t primary_rows = 0;
  std::uint64_t shadow_rows = 0;
  /// Ordered results: the 0-based position of the first row that differs, when known.
  std::optional<std::uint64_t> first_differing_row;
  /// False when rows differ but the differing-row map overflowed.
  bool sample_available = true;
  std::vector<std::string> primary_only_rows;  ///< up to sample_rows, rendered as text
  std::vector<std::string> shadow_only_rows;

  [[nodiscard]] bool has(diff_reason r) const noexcept;
};

class result_diff {
 public:
  explicit result_diff(result_diff_options options);

  void on_row_description(result_side s, const protocol::row_description& m);
  /// A DataRow body: Int16 count, then per column Int32 length (-1 = NULL) and the bytes.
  void on_data_row(result_side s, std::span<const std::byte> body);
  void on_command_complete(result_side s, std::string_view tag);
  void on_error(result_side s, std::string_view sqlstate);

  [[nodiscard]] result_diff_summary finish() const;

  /// Bytes held by the differ's containers (an estimate for the hash map's nodes).
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

 private:
  struct column {
    std::string name;
    std::uint32_t type_oid = 0;
    std::int16_t format = 0;
    bool ignored = false;
  };
  struct side_state {
    std::optional<std::vector<column>> columns;
    std::uint64_t rows = 0;
    std::uint64_t hash_sum = 0;
    std::uint64_t hash_xor = 0;
    std::uint64_t sequence_hash = 0;
    std::vector<std::uint64_t> window;  ///< ordered: row hashes of the first positions
    std::optional<std::string> tag;
    std::optional<std::string> sqlstate;
    bool malformed = false;
  };
  struct tracked_row {
    std::int64_t delta = 0;  ///< primary count − shadow count
    std::string text;
  };

  side_state& state(result_side s) noexcept {
    return s == result_side::primary ? primary_ : shadow_;
  }
  void track(std::uint64_t hash, std::int64_t delta, std::span<const std::byte> body,
             const std::vector<column>* columns);

  result_diff_options options_;
  side_state primary_;
  side_state shadow_;
  std::unordered_map<std::uint64_t, tracked_row> tracked_;
  std::size_t tracked_text_bytes_ = 0;
  bool tracked_overflowed_ = false;
};

}  // namespace dw::compare
