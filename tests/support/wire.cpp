#include "tests/support/wire.hpp"

namespace dw::test {

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::uint32_t load_be32(std::string_view b) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(b[i]);
  return v;
}

std::string startup_packet(int major, int minor, const startup_params& params) {
  std::string body = be32(static_cast<std::uint32_t>((major << 16) | minor));
  for (const auto& [k, v] : params) {
    body += k;
    body += '\0';
    body += v;
    body += '\0';
  }
  body += '\0';
  return be32(static_cast<std::uint32_t>(body.size() + 4)) + body;
}

std::string ssl_request() { return be32(8) + be32(80877103); }

std::string typed_message(char type, std::string_view body) {
  return std::string(1, type) + be32(static_cast<std::uint32_t>(body.size() + 4)) + std::string(body);
}

std::string sasl_initial_response(std::string_view mechanism, std::string_view data) {
  std::string body{mechanism};
  body += '\0';
  body += be32(static_cast<std::uint32_t>(data.size()));
  body += data;
  return typed_message('p', body);
}

split_result split_backend_messages(std::string_view bytes) {
  // Backend messages are at most a few MB in these tests; a larger declared length means we
  // are not looking at a v3 stream (e.g. a v2-style error) and splitting stops there.
  constexpr std::uint32_t plausible_max = 64u << 20;
  split_result out;
  while (bytes.size() - out.consumed >= 5) {
    const std::string_view rest = bytes.substr(out.consumed);
    const std::uint32_t len = load_be32(rest.substr(1, 4));
    if (len < 4 || len > plausible_max || rest.size() < 1 + std::size_t{len}) break;
    out.messages.push_back({rest[0], std::string(rest.substr(5, len - 4))});
    out.consumed += 1 + std::size_t{len};
  }
  return out;
}

std::map<char, std::string> parse_error_fields(std::string_view body) {
  std::map<char, std::string> fields;
  std::size_t i = 0;
  while (i < body.size() && body[i] != '\0') {
    const char code = body[i++];
    const std::size_t end = body.find('\0', i);
    if (end == std::string_view::npos) break;
    fields[code] = std::string(body.substr(i, end - i));
    i = end + 1;
  }
  return fields;
}

std::optional<std::string> error_sqlstate(const backend_message& m) {
  if (m.type != 'E') return std::nullopt;
  return parse_error_fields(m.body)['C'];
}

std::string describe(const backend_message& m) {
  if (m.type == 'E' || m.type == 'N') {
    auto f = parse_error_fields(m.body);
    return std::string(1, m.type) + " " + f['S'] + " " + f['C'] + " " + f['M'];
  }
  return std::string(1, m.type) + " (" + std::to_string(m.body.size()) + " bytes)";
}

}  // namespace dw::test
