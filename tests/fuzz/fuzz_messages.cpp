// libFuzzer target for the message decoders. Input: a byte whose bit 0 picks the backend
// direction, the type byte ('\0' is a client startup packet), then the frame body. The oracle is
// exactness: whatever decodes must re-encode to the very same bytes, and so must what the 'p'
// sub-parsers, the SASL mechanism list and the error-field list accept. A decoder that accepts
// bytes it cannot reproduce has skipped or invented a field.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "protocol/backend_messages.hpp"
#include "protocol/frontend_messages.hpp"
#include "protocol/message_writer.hpp"

namespace {

namespace p = dw::protocol;

void check(bool ok) {
  if (!ok) std::abort();
}

// The frame as it was on the wire: type byte (unless startup), length, body.
std::vector<std::byte> framed(char type, std::span<const std::byte> body) {
  std::vector<std::byte> out;
  p::message_writer{out}.begin(type).bytes(body).finish();
  return out;
}

void fuzz_password_body(std::span<const std::byte> body) {
  if (auto pw = p::parse_password(body)) {
    std::vector<std::byte> out;
    p::write_password(out, *pw);
    check(out == framed('p', body));
  }
  if (auto sasl = p::parse_sasl_initial_response(body)) {
    std::vector<std::byte> out;
    p::write_sasl_initial_response(out, *sasl);
    check(out == framed('p', body));
  }
}

void fuzz_frontend(char type, std::span<const std::byte> body) {
  auto m = p::decode_frontend(p::frame{type, body, body.size() + (type == '\0' ? 4 : 5)});
  if (!m) return;
  std::vector<std::byte> out;
  p::write_frontend(out, *m);
  check(out == framed(type, body));
  if (std::holds_alternative<p::password_message>(*m)) fuzz_password_body(body);
  if (const auto* s = std::get_if<p::startup_message>(&*m)) (void)s->get("user");
}

void fuzz_backend(char type, std::span<const std::byte> body) {
  auto m = p::decode_backend(p::frame{type, body, body.size() + 5});
  if (!m) return;
  std::vector<std::byte> out;
  p::write_backend(out, *m);
  check(out == framed(type, body));
  if (const auto* a = std::get_if<p::authentication>(&*m); a && a->code == p::auth_code::sasl) {
    auto names = p::parse_sasl_mechanisms(a->data);
    check(names.has_value());
    std::vector<std::byte> again;
    p::write_authentication_sasl(again, *names);
    check(again == out);
  }
  if (const auto* e = std::get_if<p::error_response>(&*m)) {
    (void)e->fields.severity();
    (void)e->fields.sqlstate();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const bool backend = (data[0] & 1) != 0;
  const auto type = static_cast<char>(data[1]);
  const auto body = std::as_bytes(std::span{data + 2, size - 2});
  if (backend) {
    fuzz_backend(type, body);
  } else {
    fuzz_frontend(type, body);
  }
  return 0;
}
