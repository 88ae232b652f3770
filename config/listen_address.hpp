// Text forms of listen addresses: "host:port", "[v6]:port", "*:port" and "unix:DIR:PORT".
// Used for the listen option, --listen, and control.http_listen (TCP forms only).
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "config/config.hpp"

namespace dw::config {

/// The address, or a message saying what is wrong (the text itself is not quoted).
[[nodiscard]] std::variant<listen_address, std::string> parse_listen_address(std::string_view text);

/// Canonical text form, parseable by parse_listen_address.
[[nodiscard]] std::string to_string(const listen_address& a);

/// For Unix listeners: "<dir>/.s.PGSQL.<port>", the file PostgreSQL clients look for.
[[nodiscard]] std::string socket_file(const listen_address& a);

/// sockaddr_un::sun_path holds 108 bytes including the terminating NUL.
inline constexpr std::size_t max_socket_path = 107;

}  // namespace dw::config
