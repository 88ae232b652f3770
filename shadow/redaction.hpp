// The one redaction path for what the divergence log keeps of a statement (STYLE.md bullet 31):
// Bind parameter values, the statement text's literals, and backend messages that may echo a
// value back ("invalid input syntax for type integer: \"hunter2\""). The divergence log calls
// these itself with its configured mode, so a caller cannot write an unredacted record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dw::shadow {

using bytes = std::vector<std::byte>;

/// How much of a statement's data the divergence log may keep. Each level includes the one
/// before it.
enum class redaction_mode : std::uint8_t {
  none,                 ///< values kept (text, or base64 when binary or not UTF-8)
  values,               ///< every non-NULL value becomes "<redacted len=N>"
  values_and_literals,  ///< also the statement's literals become $redacted
};

[[nodiscard]] std::string_view to_string(redaction_mode mode) noexcept;
/// "none", "values" or "values_and_literals"; nullopt otherwise (config validation reports it).
[[nodiscard]] std::optional<redaction_mode> parse_redaction_mode(std::string_view text) noexcept;

/// One parameter as the log shows it. For `redacted`, `value` is "<redacted len=N>".
struct redacted_parameter {
  enum class encoding : std::uint8_t { null, text, base64, redacted };
  encoding kind = encoding::null;
  std::int16_t format = 0;  ///< the Bind format code: 0 text, 1 binary
  std::string value;        ///< valid UTF-8 in every encoding
  std::size_t length = 0;   ///< the original value's size in bytes
  bool truncated = false;   ///< `value` shows only the first max_value_bytes of the original
};

/// THE parameter redaction function. `formats` follows Bind's rule: empty means all text, one
/// code applies to all, otherwise one per value (a missing code counts as text). At most
/// `max_value_bytes` of each original value are encoded; longer ones are marked truncated.
[[nodiscard]] std::vector<redacted_parameter> redact_parameters(
    std::span<const std::optional<bytes>> values, std::span<const std::int16_t> formats,
    redaction_mode mode, std::size_t max_value_bytes = 64 * 1024);

/// Statement text for the log. Under values_and_literals, string and numeric constants become
/// $redacted (libpg_query's normalize); text it cannot parse is replaced as a whole, because a
/// partial redaction of unparseable text cannot be trusted. Other modes return `sql` as is.
[[nodiscard]] std::string redact_statement(std::string_view sql, redaction_mode mode);

/// A backend message (or the proxy's own detail) for the log. Under `values`, every parameter
/// value of 4 bytes or more that occurs in it is replaced by "<redacted>" (shorter ones would
/// mangle ordinary words and are too short to be secrets worth hiding); under
/// values_and_literals the whole message is replaced, since it may echo a literal too.
[[nodiscard]] std::string redact_message(std::string_view message,
                                         std::span<const std::optional<bytes>> values,
                                         redaction_mode mode);

}  // namespace dw::shadow
