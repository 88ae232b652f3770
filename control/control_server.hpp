// The control socket: a Unix-domain listener speaking control_protocol, run on an io_context
// the proxy hands over (its control thread). Access control is the filesystem: the socket is
// created with mode 0600 by default, so only the proxy's user (and root) can connect; put it
// in a directory the operators' group owns and widen the mode if they need access.
//
// Mutating commands (phase, pause, resume, ack-divergence) go through one queue and run one
// at a time, each with a deadline, so a pause can never interleave with a flip. status and
// help bypass the queue: an operator must be able to look while a flip is running.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "config/config.hpp"
#include "control/failure.hpp"
#include "control/phase_machine.hpp"
#include "control/proxy_control.hpp"
#include "control/state_file.hpp"

namespace boost::asio {
class io_context;
}

namespace dw::control {

struct server_options {
  std::filesystem::path socket_path;
  unsigned socket_mode = 0600;       ///< who may connect: the access control of the socket
  std::filesystem::path state_file;  ///< empty: moves are not persisted
  gate_bounds gates;
  /// Budget of one mutating command, queueing included; the proxy gets what is left as its
  /// move deadline. Longer than the proxy's drain timeout, so a flip can abandon cleanly.
  std::chrono::milliseconds command_deadline{60'000};
  std::chrono::milliseconds status_deadline{5'000};  ///< for the proxy's status snapshot
  std::chrono::milliseconds idle_timeout{60'000};    ///< a connection sending nothing
  std::size_t max_connections = 32;
};

/// Socket path and state file from the configuration; gates and deadlines at their defaults.
[[nodiscard]] server_options options_from(const config::config& cfg);

class control_server {
 public:
  /// `proxy` and `ctx` must outlive the server; `initial` is the phase the proxy was started
  /// in (load_startup_phase). The io_context may be run by any number of threads.
  control_server(boost::asio::io_context& ctx, proxy_control& proxy, server_options options,
                 persisted_state initial);
  ~control_server();
  control_server(const control_server&) = delete;
  control_server& operator=(const control_server&) = delete;

  /// Binds and starts accepting; call once, before or while the io_context runs. Fails when
  /// the parent directory is missing, the path is not a socket, or another live process is
  /// serving it; a stale socket file (nobody listening) is removed.
  [[nodiscard]] outcome<void> start();

  /// Stops accepting, closes every connection, removes the socket file. A move already
  /// handed to the proxy still completes and is still persisted. Thread-safe.
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace dw::control
