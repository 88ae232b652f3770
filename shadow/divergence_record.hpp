// One divergence: the event that marked a session's shadow diverged, with the statement
// concerned. The record holds raw values; only format_divergence_record() turns it into a JSON
// line, and it redacts on the way (redaction.hpp), so nothing else serialises a record.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shadow/redaction.hpp"

namespace dw::shadow {

enum class divergence_kind : std::uint8_t {
  shadow_error,        ///< the shadow failed a statement the primary completed
  tag_mismatch,        ///< CommandComplete tags differ (UPDATE 3 vs UPDATE 2)
  rows_mismatch,       ///< RETURNING rows differ
  shadow_unreachable,  ///< connect failed or the connection was lost
  lag_exceeded,        ///< the shadow fell behind the lag bound
  queue_overflow,      ///< the session's shadow queue stayed full past the lag bound
  reconnect,           ///< the shadow came back (logged so a reader sees where a gap ends)
  read_mismatch,       ///< a sampled read answered differently (never marks the session)
};
inline constexpr std::size_t divergence_kind_count = 8;

[[nodiscard]] std::string_view to_string(divergence_kind kind) noexcept;
/// Every kind, in declaration order (for metrics that list all of them, zero or not).
[[nodiscard]] const std::array<divergence_kind, divergence_kind_count>& all_divergence_kinds() noexcept;

/// What one backend answered. Empty strings mean "not known" and are written as null.
struct backend_summary {
  std::string tag;       ///< CommandComplete tag
  std::string sqlstate;  ///< ErrorResponse code
  std::string message;   ///< ErrorResponse message (only the shadow's is logged)
};

struct divergence_record {
  std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
  std::uint64_t session_id = 0;
  std::string client_address;
  std::string user;
  std::string database;
  int phase = 0;
  divergence_kind kind = divergence_kind::shadow_error;
  std::uint64_t fingerprint = 0;  ///< the statement's libpg_query fingerprint, 0 if none
  std::string statement;
  /// Bind values (nullopt is NULL) and formats, with Bind's rule: 0, 1 or one code per value.
  std::vector<std::optional<bytes>> parameters;
  std::vector<std::int16_t> parameter_formats;
  backend_summary primary;
  backend_summary shadow;
  std::string detail;
  /// The proxy rolled the shadow's write back instead of committing it (a lone autocommit
  /// write that changed rows only there). Written as "rolled_back": true in "shadow".
  bool shadow_rolled_back = false;
};

struct record_format_options {
  // Literals too by default: a simple-query statement carries its values inline
  // (ALTER ROLE ... PASSWORD '...'), and secrets must never reach the file (STYLE.md 31).
  redaction_mode redaction = redaction_mode::values_and_literals;
  /// Cap on the statement text, on all parameters together, and on each message, in bytes.
  std::size_t max_field_bytes = 64 * 1024;
};

/// The record as one line of JSON, '\n' included. Never larger than about
/// 4 * max_field_bytes plus the fixed fields; "truncated": true says something was cut.
[[nodiscard]] std::string format_divergence_record(const divergence_record& record,
                                                   const record_format_options& options);

/// "2026-11-21T12:56:40.123Z".
[[nodiscard]] std::string format_utc_millis(std::chrono::system_clock::time_point time);

}  // namespace dw::shadow
