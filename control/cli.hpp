// dwctl, the operator CLI over the control socket, as a library function so tests can run it
// in-process; dwctl_main.cpp only forwards argv. It speaks control_protocol with plain blocking
// POSIX sockets (one request, one answer) and renders the answer for humans or as raw JSON.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "control/control_protocol.hpp"

namespace dw::control {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;  ///< refused, failed, timed out, bad answer
inline constexpr int exit_usage = 2;
inline constexpr int exit_no_connection = 3;

inline constexpr std::string_view default_socket_path = "/run/dwproxy/control.sock";

struct cli_options {
  std::string socket_path;
  bool json = false;
  std::chrono::milliseconds timeout{120'000};  ///< 0: wait forever
  bool show_help = false;
  request req;
};

/// The usage text `dwctl help` prints.
[[nodiscard]] std::string_view dwctl_usage() noexcept;

/// Parses argv (without the program name). `env_socket` is $DWCTL_SOCKET or nullptr.
[[nodiscard]] outcome<cli_options> parse_cli(std::span<const std::string_view> args,
                                             const char* env_socket);

/// Sends one request line and returns the answer line (without '\n'). Errors say whether the
/// socket could be reached (`connected` false) or the exchange failed afterwards.
struct exchange_error {
  bool connected = false;
  std::string message;
};
[[nodiscard]] boost::system::result<std::string, exchange_error> exchange(
    const std::string& socket_path, std::string_view request_line,
    std::chrono::milliseconds timeout);

/// A response for people: a small table for status, one or two lines otherwise.
void render_human(command sent, const response& r, std::ostream& out);

/// The whole CLI; returns the exit status.
[[nodiscard]] int run_dwctl(std::span<const std::string_view> args, const char* env_socket,
                            std::ostream& out, std::ostream& err);

}  // namespace dw::control
