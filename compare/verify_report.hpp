// The outcome of `dwctl verify`: what was compared and what differed, rendered as a table for
// people or as JSON for scripts, the report file and the control plane's verification gate
// (which reads back only `passed` and `finished_at_unix`, through read_verify_summary).
// Endpoints appear as their description (host, port, database, user), never with a password.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compare/schema_diff.hpp"
#include "compare/table_checksum.hpp"

namespace dw::compare {

/// A constraint NEW holds but its rows break, or one that is not in force (NOT VALID, an
/// invalid index).
struct constraint_finding {
  table_name table;
  std::string constraint;
  severity level = severity::error;
  std::string message;
};

/// NEW must not lag: its next value must be at least OLD's (at most, for descending ones).
struct sequence_comparison {
  table_name sequence;
  std::int64_t old_next = 0;
  std::optional<std::int64_t> new_next;  ///< std::nullopt: NEW has no such sequence
  bool lags = false;
};

/// A business rule from the configuration: its SQL's result on each side.
struct rule_outcome {
  std::string name;
  bool matches = false;
  std::string old_result;  ///< rows as text, one per line, columns separated by " | "
  std::string new_result;
  std::string error;       ///< the SQL failed on a side
};

struct verify_report {
  std::chrono::system_clock::time_point started{};
  std::chrono::system_clock::time_point finished{};
  std::string old_endpoint;
  std::string new_endpoint;
  std::vector<table_comparison> tables;
  std::vector<schema_difference> schema;
  std::vector<constraint_finding> constraints;
  std::vector<sequence_comparison> sequences;
  std::vector<rule_outcome> rules;
  std::vector<std::string> notes;  ///< what was compared differently and why (no key, ...)
  bool interrupted = false;

  /// Every table matched, no schema or constraint error, no lagging sequence, every rule
  /// matched, and the run was not interrupted.
  [[nodiscard]] bool passed() const noexcept;
};

/// The report as JSON; each table lists at most `max_rows` differing rows (counts are exact).
[[nodiscard]] std::string report_json(const verify_report& r, std::size_t max_rows);

/// The report for people: one line per table, then each finding, then the verdict.
void render_report(const verify_report& r, std::ostream& out, std::size_t max_rows);

/// What the verification gate needs from a report file.
struct verify_summary {
  bool passed = false;
  std::chrono::system_clock::time_point finished{};
};
struct summary_or_error {
  std::optional<verify_summary> summary;
  std::string error;  ///< why there is none: missing, unreadable, not a verify report
};
[[nodiscard]] summary_or_error read_verify_summary(const std::filesystem::path& file);
/// The same from the file's text (`file` names it in the error).
[[nodiscard]] summary_or_error parse_verify_summary(std::string_view text, const std::string& file);
/// Larger report files are not read: the proxy reads this one on a phase move.
inline constexpr std::uintmax_t max_verify_report_bytes = std::uintmax_t{256} << 20;

/// Writes `content` to `file` through a temporary file, fsync and rename, so a reader sees the
/// old file or the new one, never a torn one. Throws std::runtime_error.
void write_file_atomically(const std::filesystem::path& file, std::string_view content);

/// "2024-05-01T12:00:00.123Z".
[[nodiscard]] std::string utc_timestamp(std::chrono::system_clock::time_point t);

}  // namespace dw::compare
