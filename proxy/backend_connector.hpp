// Opens an authenticated connection to one backend: TCP or Unix socket, the libpq TLS modes,
// StartupMessage, then SCRAM-SHA-256, MD5 or cleartext with the backend's own credentials
// (never the client's), up to the first ReadyForQuery.
#pragma once

#include <memory>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "protocol/frame_decoder.hpp"
#include "proxy/cancel_registry.hpp"
#include "proxy/stream.hpp"

namespace dw::proxy {

using parameter_list = std::vector<std::pair<std::string, std::string>>;

struct backend_connection {
  std::unique_ptr<stream> io;
  cancel_target cancel;             ///< the backend's own key, never shown to clients
  parameter_list parameters;        ///< ParameterStatus values reported at startup
  std::vector<std::byte> leftover;  ///< bytes after ReadyForQuery (none from a sane server)
};

/// Why a backend could not be opened, in the words the client will see.
struct backend_failure {
  std::string sqlstate;
  std::string message;
  std::vector<std::byte> error_response;  ///< the backend's own ErrorResponse, relayed as is
};

struct backend_login {
  const config::backend* target = nullptr;
  config::backend_credentials credentials;
  std::string database;
  parameter_list client_parameters;        ///< forwarded from the client's StartupMessage
  asio::ssl::context* tls = nullptr;       ///< null: no SSLRequest
};

struct backend_outcome {
  std::optional<backend_connection> connection;
  backend_failure failure;  ///< meaningful when connection is empty
};

[[nodiscard]] awaitable<backend_outcome> connect_backend(const backend_login& login);

/// Tells a backend the connection is ending (Terminate), if the socket takes it at once, so
/// the server does not log an unexpected EOF. Never suspends.
void send_terminate(stream& backend) noexcept;

/// Reads a backend's answers from `io` (bytes already read wait in `carry`) until `ready_owed`
/// ReadyForQuery messages have come, handing each message to `on_message` when given. False
/// when the connection failed or sent something that is not a message. For the proxy's own
/// side connections (catalog probes, replays, noise checks), never the client's relay.
[[nodiscard]] awaitable<bool> read_until_ready(
    stream& io, std::size_t ready_owed, std::vector<std::byte>& carry,
    const std::function<void(const protocol::frame&)>& on_message);

/// Sends a CancelRequest to a backend, as libpq's PQcancel does, and returns once the server
/// closed the request's connection (PostgreSQL has signalled the backend by then), after at
/// most 5 s, or at once when the server cannot be reached. Errors are not reported.
[[nodiscard]] awaitable<void> send_cancel(cancel_target target);

}  // namespace dw::proxy
