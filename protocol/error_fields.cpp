// Decoding and encoding of the ErrorResponse/NoticeResponse field list (see error_fields.hpp).
#include "protocol/error_fields.hpp"

#include "protocol/message_reader.hpp"

namespace dw::protocol {

std::string_view error_fields::get(char code) const noexcept {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->first == code) return it->second;
  }
  return {};
}

std::string_view error_fields::severity() const noexcept {
  const std::string_view raw = get(error_field::severity_raw);
  return raw.empty() ? get(error_field::severity) : raw;
}

result<error_fields> parse_error_fields(std::span<const std::byte> body) {
  message_reader r{body};
  error_fields out;
  // Each entry takes at least two bytes (code and NUL); the loop ends at the terminator or at
  // the first failed read, so it allocates no more than the body can describe.
  for (;;) {
    const auto code = static_cast<char>(r.u8());
    if (!r.ok() || code == '\0') break;
    const std::string_view value = r.cstr();
    if (!r.ok()) break;
    out.entries.emplace_back(code, value);
  }
  return r.finish(std::move(out));
}

void write_error_fields(message_writer& w, const error_fields& fields) {
  for (const auto& [code, value] : fields.entries) {
    w.u8(static_cast<std::uint8_t>(code)).cstr(value);
  }
  w.u8(0);
}

}  // namespace dw::protocol
