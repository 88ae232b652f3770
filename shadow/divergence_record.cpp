// JSON line for a divergence record. Redaction happens before truncation, so a literal cut in
// half cannot slip past the statement redaction, and before the UTF-8 clean-up, so the redaction
// sees the bytes the backend saw.
#include "shadow/divergence_record.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <ctime>
#include <span>

#include "compare/read_stats.hpp"
#include "compare/utf8.hpp"

namespace dw::shadow {

using compare::to_valid_utf8;
using compare::utf8_prefix_length;
namespace {

// Cuts valid UTF-8 `text` to `max_bytes` at a character boundary; true if it cut.
bool truncate_utf8(std::string& text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return false;
  text.resize(utf8_prefix_length(text, max_bytes));
  return true;
}

boost::json::value string_or_null(const std::string& text) {
  if (text.empty()) return nullptr;
  return boost::json::value(boost::json::string_view{text});  // not {}: that builds an array
}

// A cleaned, capped string field; sets `truncated` if it had to cut.
std::string bounded(std::string_view raw, std::size_t max_bytes, bool& truncated) {
  std::string text = to_valid_utf8(raw);
  if (truncate_utf8(text, max_bytes)) truncated = true;
  return text;
}

// Parameters within one budget for all of them together; the rest are counted, not listed.
boost::json::array format_parameters(const divergence_record& record, const record_format_options& options,
                                     bool& truncated, std::size_t& omitted) {
  boost::json::array out;
  std::size_t budget = options.max_field_bytes;
  const auto redacted =
      redact_parameters(record.parameters, record.parameter_formats, options.redaction, options.max_field_bytes);
  for (std::size_t i = 0; i < redacted.size(); ++i) {
    auto p = redacted[i];
    if (p.kind == redacted_parameter::encoding::null) {
      out.emplace_back(nullptr);
      continue;
    }
    if (budget == 0) {
      omitted = redacted.size() - i;
      truncated = true;
      break;
    }
    if (p.value.size() > budget) {
      if (p.kind == redacted_parameter::encoding::base64) {
        p.value.resize(budget / 4 * 4);  // whole quads stay decodable
      } else {
        truncate_utf8(p.value, budget);
      }
      p.truncated = true;
    }
    budget -= p.value.size();
    boost::json::object entry;
    entry["format"] = p.format;
    switch (p.kind) {
      case redacted_parameter::encoding::text:
        entry["text"] = p.value;
        break;
      case redacted_parameter::encoding::base64:
        entry["base64"] = p.value;
        break;
      case redacted_parameter::encoding::redacted:
      case redacted_parameter::encoding::null:
        entry["redacted"] = p.value;
        break;
    }
    if (p.truncated) {
      entry["len"] = p.length;
      entry["truncated"] = true;
      truncated = true;
    }
    out.emplace_back(std::move(entry));
  }
  return out;
}

}  // namespace

std::string_view to_string(divergence_kind kind) noexcept {
  switch (kind) {
    case divergence_kind::shadow_error:
      return "shadow_error";
    case divergence_kind::tag_mismatch:
      return "tag_mismatch";
    case divergence_kind::rows_mismatch:
      return "rows_mismatch";
    case divergence_kind::shadow_unreachable:
      return "shadow_unreachable";
    case divergence_kind::lag_exceeded:
      return "lag_exceeded";
    case divergence_kind::queue_overflow:
      return "queue_overflow";
    case divergence_kind::reconnect:
      return "reconnect";
    case divergence_kind::read_mismatch:
      return "read_mismatch";
  }
  return "unknown";
}

const std::array<divergence_kind, divergence_kind_count>& all_divergence_kinds() noexcept {
  static constexpr std::array<divergence_kind, divergence_kind_count> kinds{
      divergence_kind::shadow_error,       divergence_kind::tag_mismatch, divergence_kind::rows_mismatch,
      divergence_kind::shadow_unreachable, divergence_kind::lag_exceeded, divergence_kind::queue_overflow,
      divergence_kind::reconnect,          divergence_kind::read_mismatch};
  return kinds;
}

std::string format_utc_millis(std::chrono::system_clock::time_point time) {
  const auto millis = std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const auto seconds = static_cast<std::time_t>(millis >= 0 ? millis / 1000 : (millis - 999) / 1000);
  const auto fraction = static_cast<int>(millis - static_cast<long long>(seconds) * 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[64];  // room for any int year, which -Wformat-truncation cannot rule out
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, fraction);
  return text;
}

std::string format_divergence_record(const divergence_record& record, const record_format_options& options) {
  const std::size_t cap = options.max_field_bytes;
  const redaction_mode mode = options.redaction;
  bool truncated = false;
  std::size_t omitted = 0;

  const std::string fingerprint = compare::fingerprint_hex(record.fingerprint);

  boost::json::object line;
  line["time"] = format_utc_millis(record.time);
  line["session"] = record.session_id;
  line["client"] = bounded(record.client_address, cap, truncated);
  line["user"] = bounded(record.user, cap, truncated);
  line["database"] = bounded(record.database, cap, truncated);
  line["phase"] = record.phase;
  line["kind"] = to_string(record.kind);
  line["fingerprint"] = fingerprint;
  line["statement"] = bounded(redact_statement(record.statement, mode), cap, truncated);
  line["parameters"] = format_parameters(record, options, truncated, omitted);
  if (omitted > 0) line["parameters_omitted"] = omitted;
  line["primary"] = boost::json::object{{"tag", string_or_null(bounded(record.primary.tag, cap, truncated))},
                                        {"sqlstate", string_or_null(bounded(record.primary.sqlstate, cap, truncated))}};
  line["shadow"] = boost::json::object{
      {"tag", string_or_null(bounded(record.shadow.tag, cap, truncated))},
      {"sqlstate", string_or_null(bounded(record.shadow.sqlstate, cap, truncated))},
      {"message", string_or_null(bounded(redact_message(record.shadow.message, record.parameters, mode), cap,
                                         truncated))}};
  if (record.shadow_rolled_back) line["shadow"].as_object()["rolled_back"] = true;
  line["detail"] = string_or_null(bounded(redact_message(record.detail, record.parameters, mode), cap, truncated));
  line["redaction"] = to_string(mode);
  line["truncated"] = truncated;
  std::string out = boost::json::serialize(line);
  out += '\n';
  return out;
}

}  // namespace dw::shadow
