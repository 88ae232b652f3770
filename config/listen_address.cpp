// Listen address parsing. Host names are not resolved here: config loading does no network
// I/O, and the proxy reports bind failures itself.
#include "config/listen_address.hpp"

#include <charconv>

namespace dw::config {
namespace {

constexpr std::string_view unix_prefix = "unix:";

bool parse_port(std::string_view text, std::uint16_t& port) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < 1 || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool has_space(std::string_view s) { return s.find_first_of(" \t\r\n") != std::string_view::npos; }

}  // namespace

std::variant<listen_address, std::string> parse_listen_address(std::string_view text) {
  listen_address a;
  const bool is_unix = text.starts_with(unix_prefix);
  if (is_unix) text.remove_prefix(unix_prefix.size());
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return std::string{is_unix ? "expected unix:DIR:PORT" : "expected host:port"};
  if (!parse_port(text.substr(colon + 1), a.port)) return std::string{"port must be 1-65535"};
  std::string_view host = text.substr(0, colon);
  if (is_unix) {
    if (host.empty()) return std::string{"expected unix:DIR:PORT (the directory is empty)"};
    a.type = listen_address::kind::unix_socket;
    a.unix_dir = std::string{host};
    return a;
  }
  if (host.starts_with('[')) {
    if (!host.ends_with(']') || host.size() < 3) return std::string{"expected [IPv6-address]:port"};
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::string{"IPv6 addresses need brackets, as in [::1]:6432"};
  }
  if (host.empty()) return std::string{"host is empty (use *:port for every interface)"};
  if (has_space(host)) return std::string{"host contains white space"};
  a.host = std::string{host};
  return a;
}

std::string to_string(const listen_address& a) {
  const auto port = std::to_string(a.port);
  if (a.type == listen_address::kind::unix_socket) return "unix:" + a.unix_dir + ":" + port;
  if (a.host.find(':') != std::string::npos) return "[" + a.host + "]:" + port;
  return a.host + ":" + port;
}

std::string socket_file(const listen_address& a) {
  std::string dir = a.unix_dir;
  if (!dir.empty() && dir.back() != '/') dir += '/';
  return dir + ".s.PGSQL." + std::to_string(a.port);
}

}  // namespace dw::config
