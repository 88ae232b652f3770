// One client connection and the backend connection(s) serving it. Lives on one worker;
// the only object that touches both sides (STYLE.md 6). Two coroutines relay the two
// directions; whichever ends first closes both sides, which ends the other.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/asio.hpp"
#include "proxy/backend_connector.hpp"
#include "proxy/boundary_tracker.hpp"
#include "proxy/cancel_registry.hpp"
#include "proxy/runtime.hpp"
#include "proxy/stream.hpp"

namespace dw::proxy {

class worker;

enum class session_state : std::uint8_t {
  startup,         ///< reading SSLRequest / StartupMessage
  authenticating,  ///< SCRAM exchange with the client
  connecting,      ///< logging in to the primary backend
  relaying,        ///< normal operation
  closing,
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(worker& owner, socket_type client, std::uint64_t id);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Spawns the session's coroutines on its worker.
  static void start(const std::shared_ptr<session>& self);
  /// Graceful shutdown: close now if idle, else at the next transaction boundary.
  void begin_shutdown();
  /// Closes both sides now.
  void close_all() noexcept;
  /// Relaying and not at a transaction boundary (a transaction or a query is in flight).
  [[nodiscard]] bool in_transaction() const noexcept {
    return state_ == session_state::relaying && !boundary_.idle();
  }

 private:
  awaitable<void> run();
  // Client handshake (session_startup.cpp). False: the session is over.
  awaitable<bool> handshake();
  awaitable<bool> authenticate_client(const struct user_entry* user, const std::string& name);
  awaitable<bool> open_primary(const struct user_entry& user, const std::string& database,
                               parameter_list client_parameters);
  // The relay (session.cpp).
  awaitable<void> relay_client_to_backend();
  awaitable<void> relay_backend_to_client();
  struct outgoing {
    std::span<const std::byte> rest;  ///< not yet written: hand to write_pending()
    std::size_t trim_carry = 0;       ///< carry bytes to drop once `rest` is written
  };
  /// Writes view[0, end) to `to` as far as it goes without waiting and keeps view[end, ...)
  /// in `carry` for the next read. Call finish_forward() once `rest` is written.
  outgoing forward_now(stream& to, std::vector<std::byte>& carry,
                       std::span<const std::byte> view, std::size_t end, error_code& ec);
  static void finish_forward(std::vector<std::byte>& carry, const outgoing& out);
  void on_backend_message(char type, std::span<const std::byte> body);
  void on_client_gone(const error_code& ec);
  awaitable<void> on_backend_lost(const error_code& ec, bool at_boundary);
  /// Sends FATAL `code`/`message` to the client if the stream allows, logs, counts, closes.
  awaitable<void> fail_client(std::string_view code, std::string_view message);
  void send_last_words(std::string_view code, std::string_view message) noexcept;
  void arm_startup_timeout();
  void arm_idle_timeout();
  [[nodiscard]] std::string_view log_prefix() const noexcept { return prefix_; }

  worker& owner_;
  std::shared_ptr<const runtime> runtime_;
  std::uint64_t id_;
  std::string prefix_;
  session_state state_ = session_state::startup;
  std::unique_ptr<stream> client_;
  std::optional<backend_connection> primary_;
  std::optional<cancel_key> cancel_key_;
  boundary_tracker boundary_;
  std::vector<std::byte> client_carry_;   // incomplete client frame
  std::vector<std::byte> backend_carry_;  // incomplete inspected backend message
  asio::steady_timer deadline_;          // startup timeout, then the idle timeout
  bool idle_armed_ = false;
  std::uint32_t idle_generation_ = 0;    // a completion queued before re-arming is stale
  bool draining_ = false;                 // graceful shutdown requested
  bool backend_sent_fatal_ = false;
  bool counted_ = false;                  // holds a slot in shared_state::active_clients
};

}  // namespace dw::proxy
