// The control socket: a Unix-domain listener speaking control_protocol, one coroutine per
// connection, each request handed to command_service (which orders and runs it). Runs on an
// io_context the proxy hands over (its control thread).
//
// Access control is the filesystem: the socket is created with mode 0600 by default, so only
// the proxy's user (and root) can connect. To let an operators' group in, put the socket in a
// directory that group can search and set socket_mode to 0660.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "config/config.hpp"
#include "control/command_service.hpp"
#include "control/failure.hpp"

namespace boost::asio {
class io_context;
}

namespace dw::control {

struct socket_options {
  std::filesystem::path socket_path;
  unsigned socket_mode = 0600;                     ///< who may connect
  std::chrono::milliseconds idle_timeout{60'000};  ///< a connection sending nothing is closed
  std::size_t max_connections = 32;  ///< bounds the queue too: one command per connection
};

/// control.socket from the configuration; the rest at their defaults.
[[nodiscard]] socket_options socket_options_from(const config::config& cfg);

class control_server {
 public:
  /// `ctx` and `service` must outlive the server.
  control_server(boost::asio::io_context& ctx, command_service& service, socket_options options);
  ~control_server();
  control_server(const control_server&) = delete;
  control_server& operator=(const control_server&) = delete;

  /// Binds and starts accepting; call once, before or while the io_context runs. Fails when
  /// the parent directory is missing, the path is not a socket, or another live process is
  /// serving it; a stale socket file (nobody listening) is removed.
  [[nodiscard]] outcome<void> start();

  /// Stops accepting, closes every connection and removes the socket file. Thread-safe.
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace dw::control
