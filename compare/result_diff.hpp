#pragma once
// Comparing two backends' answers to the same read statement (issue 4, "The diff"). Pure code:
// the session feeds each side's RowDescription, DataRow bodies, CommandComplete tag or error as
// they arrive, in any interleaving, and asks finish() for the verdict. No I/O, clock or globals.
//
// Memory is bounded whatever the result's size:
//  - Rows are compared as multisets: each row hashes to 64 bits, and each side keeps its row
//    count, the sum of the hashes and the xor of a second mix of them. Equal (count, sum, xor)
//    means equal multisets, up to 64-bit hash collisions.
//  - With `ordered` (a top-level ORDER BY), each side also keeps a running hash of the sequence
//    of the rows' ORDER BY key values, and those hashes for its first max_tracked_rows
//    positions, which locate the first differing position when it lies in that window. Rows
//    whose keys tie may come back in either order without a difference. The keys are resolved
//    against the first RowDescription (by name, or by position for ORDER BY n); ignored
//    columns among them are dropped, and when all are ignored the order is not checked. When
//    no keys are given, or one does not name exactly one column, or rows arrive before any
//    RowDescription, the order of whole rows is checked instead (then ties may be reported).
//  - For the noise detector, each side keeps per column an order-insensitive multiset hash of
//    that column's values (column_digests()): comparing the primary's with the shadow's names
//    the columns that differ, and comparing two runs on the primary names the noisy ones.
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

#include "compare/read_shape.hpp"
#include "protocol/backend_messages.hpp"

namespace dw::compare {

enum class result_side : std::uint8_t { primary, shadow };

struct result_diff_options {
  bool ordered = false;                     ///< the statement has a top-level ORDER BY
  std::vector<order_key> order_keys;        ///< its keys (read_shape); empty: whole rows
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

/// One column's values on one side, as an order-insensitive multiset hash.
struct column_digest {
  std::string name;
  std::uint64_t sum = 0;
  std::uint64_t mix = 0;

  friend bool operator==(const column_digest&, const column_digest&) = default;
};

/// Names of the columns whose digests differ (each name once, in `a`'s order, then `b`'s); a
/// column present on one side only counts as differing. Same-named columns pair up in order.
[[nodiscard]] std::vector<std::string> differing_columns(const std::vector<column_digest>& a,
                                                         const std::vector<column_digest>& b);

class result_diff {
 public:
  explicit result_diff(result_diff_options options);

  void on_row_description(result_side s, const protocol::row_description& m);
  /// A DataRow body: Int16 count, then per column Int32 length (-1 = NULL) and the bytes.
  void on_data_row(result_side s, std::span<const std::byte> body);
  void on_command_complete(result_side s, std::string_view tag);
  void on_error(result_side s, std::string_view sqlstate);

  [[nodiscard]] result_diff_summary finish() const;

  /// The side's columns (ignored ones left out) with the digests of the values fed so far;
  /// empty before its RowDescription.
  [[nodiscard]] std::vector<column_digest> column_digests(result_side s) const;

  /// Bytes held by the differ's containers (an estimate for the hash map's nodes).
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

 private:
  struct column {
    std::string name;
    std::uint32_t type_oid = 0;
    std::int16_t format = 0;
    bool ignored = false;
  };
  struct digest_value {
    std::uint64_t sum = 0;
    std::uint64_t mix = 0;
  };
  struct side_state {
    std::optional<std::vector<column>> columns;
    std::vector<digest_value> digests;  ///< per column of `columns`
    std::uint64_t rows = 0;
    std::uint64_t hash_sum = 0;
    std::uint64_t hash_xor = 0;
    std::uint64_t sequence_hash = 0;
    std::vector<std::uint64_t> window;  ///< ordered: order hashes of the first positions
    std::optional<std::string> tag;
    std::optional<std::string> sqlstate;
    bool malformed = false;
  };
  struct tracked_row {
    std::int64_t delta = 0;  ///< primary count − shadow count
    std::string text;
  };

  /// How the order of an ordered result is checked.
  enum class order_check : std::uint8_t {
    none,       ///< not ordered, or every key is an ignored column
    pending,    ///< keys given, not yet resolved (no RowDescription seen)
    keys,       ///< by the values of key_columns_
    whole_row,  ///< by whole rows
  };

  side_state& state(result_side s) noexcept {
    return s == result_side::primary ? primary_ : shadow_;
  }
  const side_state& state(result_side s) const noexcept {
    return s == result_side::primary ? primary_ : shadow_;
  }
  void resolve_order_keys(const std::vector<column>& cols);
  void track(std::uint64_t hash, std::int64_t delta, std::span<const std::byte> body,
             const std::vector<column>* columns);

  result_diff_options options_;
  side_state primary_;
  side_state shadow_;
  order_check order_ = order_check::none;
  std::vector<std::size_t> key_columns_;  ///< order_check::keys: column indexes
  std::vector<std::uint64_t> value_hashes_;  ///< scratch: the current row's value hashes
  std::unordered_map<std::uint64_t, tracked_row> tracked_;
  std::size_t tracked_text_bytes_ = 0;
  bool tracked_overflowed_ = false;
};

}  // namespace dw::compare
