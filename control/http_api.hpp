// The HTTP API: status, phase moves, pause/resume/ack and Prometheus /metrics over HTTP/1.1,
// for dashboards and automation that cannot reach the Unix control socket. Every command goes
// through command_service, the one queue, so HTTP and dwctl can never interleave a move, and
// the JSON bodies are the control socket's (control_protocol.hpp): both interfaces say the same.
//
// Access control: it listens on loopback by default. A bearer token, when set, guards every
// endpoint but /healthz; listening beyond loopback without one is refused at start(), because
// anyone who can reach the port could otherwise flip the migration.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "control/command_service.hpp"
#include "control/failure.hpp"
#include "control/metrics.hpp"

namespace boost::asio {
class io_context;
}

namespace dw::control {

struct http_options {
  std::string listen = "127.0.0.1:9187";  ///< "host:port" or "[v6]:port"; host an IP or localhost
  std::optional<std::string> bearer_token;  ///< secret: compared in constant time, never logged
  metrics_source metrics;                   ///< empty: only the status-derived metrics
  std::chrono::milliseconds read_timeout{10'000};  ///< per request, idle keep-alive included
  std::chrono::milliseconds write_timeout{10'000};
  std::size_t body_limit = 64 * 1024;  ///< larger bodies get 413 and a close
  std::size_t max_connections = 32;
};

/// control.http_listen from the configuration; the rest at their defaults.
[[nodiscard]] http_options http_options_from(const config::config& cfg);

class http_api {
 public:
  /// `ctx` and `service` must outlive the API.
  http_api(boost::asio::io_context& ctx, command_service& service, http_options options);
  ~http_api();
  http_api(const http_api&) = delete;
  http_api& operator=(const http_api&) = delete;

  /// Binds and starts accepting; call once. Fails on a bad or unbindable address, and on a
  /// non-loopback address without a bearer token.
  [[nodiscard]] outcome<void> start();

  /// The bound port (useful after listening on port 0); 0 before start(). Thread-safe.
  [[nodiscard]] std::uint16_t port() const noexcept;

  /// Stops accepting and closes every connection; a command already handed to the service
  /// still completes there. Thread-safe.
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace dw::control
