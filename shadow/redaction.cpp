// Parameter and message redaction (see redaction.hpp); statement text is in
// statement_redaction.cpp because it needs libpg_query.
#include "shadow/redaction.hpp"

#include <algorithm>

#include "compare/utf8.hpp"

namespace dw::shadow {

using compare::is_valid_utf8;
using compare::utf8_prefix_length;
namespace {

// Values shorter than this are not scrubbed out of messages: see redact_message.
constexpr std::size_t min_scrubbed_length = 4;

std::string base64(std::span<const std::byte> data) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const auto v = (std::to_integer<unsigned>(data[i]) << 16) |
                   (std::to_integer<unsigned>(data[i + 1]) << 8) | std::to_integer<unsigned>(data[i + 2]);
    out += alphabet[(v >> 18) & 63U];
    out += alphabet[(v >> 12) & 63U];
    out += alphabet[(v >> 6) & 63U];
    out += alphabet[v & 63U];
  }
  if (const std::size_t rest = data.size() - i; rest > 0) {
    unsigned v = std::to_integer<unsigned>(data[i]) << 16;
    if (rest == 2) v |= std::to_integer<unsigned>(data[i + 1]) << 8;
    out += alphabet[(v >> 18) & 63U];
    out += alphabet[(v >> 12) & 63U];
    out += rest == 2 ? alphabet[(v >> 6) & 63U] : '=';
    out += '=';
  }
  return out;
}

std::string_view as_chars(std::span<const std::byte> data) noexcept {
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}

std::string redaction_marker(std::size_t length) {
  return "<redacted len=" + std::to_string(length) + ">";
}

}  // namespace

std::string_view to_string(redaction_mode mode) noexcept {
  switch (mode) {
    case redaction_mode::none:
      return "none";
    case redaction_mode::values:
      return "values";
    case redaction_mode::values_and_literals:
      return "values_and_literals";
  }
  return "values";
}

std::optional<redaction_mode> parse_redaction_mode(std::string_view text) noexcept {
  for (const auto mode : {redaction_mode::none, redaction_mode::values, redaction_mode::values_and_literals})
    if (text == to_string(mode)) return mode;
  return std::nullopt;
}

std::vector<redacted_parameter> redact_parameters(std::span<const std::optional<bytes>> values,
                                                  std::span<const std::int16_t> formats,
                                                  redaction_mode mode, std::size_t max_value_bytes) {
  std::vector<redacted_parameter> out;
  out.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    redacted_parameter p;
    if (formats.size() == 1) {
      p.format = formats[0];
    } else if (i < formats.size()) {
      p.format = formats[i];
    }
    const auto& value = values[i];
    if (!value) {
      out.push_back(std::move(p));  // NULL-ness says nothing secret and matters for diagnosis
      continue;
    }
    p.length = value->size();
    if (mode != redaction_mode::none) {
      p.kind = redacted_parameter::encoding::redacted;
      p.value = redaction_marker(p.length);
      out.push_back(std::move(p));
      continue;
    }
    std::span<const std::byte> shown{*value};
    if (shown.size() > max_value_bytes) {
      shown = shown.first(max_value_bytes);
      p.truncated = true;
    }
    const std::string_view chars = as_chars(*value);
    if (p.format == 0 && is_valid_utf8(chars)) {
      p.kind = redacted_parameter::encoding::text;
      p.value = std::string{chars.substr(0, utf8_prefix_length(chars, shown.size()))};
    } else {
      p.kind = redacted_parameter::encoding::base64;
      p.value = base64(shown);
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string redact_message(std::string_view message, std::span<const std::optional<bytes>> values,
                           redaction_mode mode) {
  switch (mode) {
    case redaction_mode::none:
      return std::string{message};
    case redaction_mode::values_and_literals:
      return message.empty() ? std::string{} : redaction_marker(message.size());
    case redaction_mode::values:
      break;
  }
  // Longest values first, so a value that contains a shorter one is replaced whole.
  std::vector<std::string_view> needles;
  for (const auto& value : values)
    if (value && value->size() >= min_scrubbed_length) needles.push_back(as_chars(*value));
  std::sort(needles.begin(), needles.end(),
            [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  std::string out{message};
  for (const std::string_view needle : needles) {
    for (std::size_t at = out.find(needle); at != std::string::npos; at = out.find(needle, at)) {
      out.replace(at, needle.size(), "<redacted>");
      at += std::string_view{"<redacted>"}.size();
    }
  }
  return out;
}

}  // namespace dw::shadow
