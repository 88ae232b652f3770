// One client connection and the backend connection(s) serving it. Lives on one worker;
// the only object that touches both sides (STYLE.md 6). Two coroutines relay the two
// directions; whichever ends first closes both sides, which ends the other.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
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
#include "protocol/relay_scanner.hpp"
#include "shadow/unit.hpp"

namespace dw::proxy {

class worker;
class shadow_link;

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
  /// The shadow's state, for status and the flip's drain (0 / false without a shadow).
  [[nodiscard]] std::uint64_t shadow_backlog() const noexcept;
  [[nodiscard]] std::chrono::milliseconds shadow_lag() const noexcept;
  [[nodiscard]] bool shadow_diverged() const noexcept;
  [[nodiscard]] bool has_shadow() const noexcept;
  /// `dwctl ack`: clears this session's diverged mark. True when there was one.
  bool acknowledge_divergence() noexcept;

 private:
  awaitable<void> run();
  // Client handshake (session_startup.cpp). False: the session is over.
  awaitable<bool> handshake();
  awaitable<bool> authenticate_client(const struct user_entry* user, const std::string& name);
  awaitable<bool> open_primary(const struct user_entry& user, const std::string& database,
                               parameter_list client_parameters);
  // The relay (session.cpp). The client loops return true when the phase asks for the other
  // relay (or another primary) at a transaction boundary, false when the session is over.
  awaitable<bool> relay_client_to_backend();
  awaitable<void> relay_backend_to_client(std::uint64_t generation);
  /// Starts the primary reader of the current mode.
  void start_primary_reader(bool dual);
  /// What the client sent next (waiting for it); the view lasts until the caller suspends.
  /// nullopt: the session is over (closing, or the client went away, already handled).
  awaitable<std::optional<std::span<const std::byte>>> read_client();
  /// What the primary sent next, or its error (waiting for it); the view lasts until the
  /// caller suspends. nullopt: this reader was stopped, or the session is closing.
  awaitable<std::optional<boost::system::result<std::span<const std::byte>>>> read_primary(
      std::uint64_t generation);
  /// Stops it (only at a transaction boundary) and waits until it has returned.
  awaitable<void> stop_primary_reader();
  [[nodiscard]] bool phase_changed() const noexcept;

  // Dual-write (session_dual.cpp): one unit at a time, the shadow fed after the primary.
  awaitable<bool> relay_client_dual();
  awaitable<void> relay_primary_dual(std::uint64_t generation);
  /// Holds, wraps and forwards a finished unit to the primary, then completes it. `piece`:
  /// a piece of a split Query (run_split_query) but its last.
  awaitable<bool> run_unit(std::vector<std::byte> bytes, bool piece = false);
  /// Ordered mode: a multi-statement Query text run as several (shadow/query_split.hpp), so
  /// that its COMMIT is held and its serialised writes are ordered like separate statements;
  /// the client sees one answer.
  awaitable<bool> run_split_query(std::vector<shadow::query_piece> pieces);
  /// Waits for the primary reader: 'Z' unit answered, 'W' wrapped unit ready to commit,
  /// 'G' COPY FROM STDIN started; 0 when the session is closing.
  awaitable<char> wait_primary_event();
  awaitable<bool> complete_unit();
  awaitable<bool> finish_unit(bool wrapped);
  awaitable<bool> attach_shadow();
  /// A client COPY message that belongs to no COPY: one the primary already ended.
  [[nodiscard]] bool stray_copy_message(char type) const noexcept;
  // Shadow reads (session_reads.cpp).
  /// Chooses whether the unit about to go to the primary (a plain read) is also compared on
  /// the shadow; if so, sample_ follows the primary's answer.
  awaitable<void> maybe_sample(const std::vector<std::byte>& bytes, char status);
  /// The unit is answered: its sample, if any, goes to the shadow (or is counted skipped).
  void hand_sample_to_shadow(int phase);
  [[nodiscard]] compare::nondeterministic_values nondeterministic_values() const;
  [[nodiscard]] static std::string format_timestamp(std::chrono::system_clock::time_point t);
  awaitable<bool> write_primary(std::span<const std::byte> bytes);
  /// Brings the session in line with the phase at a boundary: primary role, shadow or not.
  awaitable<bool> adapt_to_phase();
  awaitable<std::optional<backend_connection>> open_backend(bool to_new, std::string& failure);
  [[nodiscard]] backend_login login_for(bool to_new) const;
  void release_table_locks() noexcept;
  /// The unit's tables whose writes must run one at a time: listed ones, and inserts into
  /// tables with serial/identity columns (asked of the primary's catalog once per table).
  awaitable<std::vector<std::string>> tables_to_serialize(const shadow::unit& u);
  awaitable<std::optional<bool>> table_has_sequence(const std::string& table);
  /// One question to the primary on a connection of its own, bounded by the lag bound: the
  /// first column of the first row ("" for NULL); nullopt: no answer.
  awaitable<std::optional<std::string>> ask_primary(std::string sql);
  /// The primary backends that backend `holder` waits for, directly or not.
  awaitable<std::optional<std::vector<std::int32_t>>> primary_blockers_of(std::int32_t holder);
  /// The unit would deadlock on the proxy's table lock (table_locks.hpp): the primary raises
  /// 40P01 in its place, and the client gets that answer.
  awaitable<bool> refuse_deadlocked_unit(const std::vector<std::string>& tables);
  /// What the primary reader does with the answers to what the client coroutine sent.
  enum class expectation : std::uint8_t { unit, unit_wrapped, piece, swallow, commit, rollback };
  void on_dual_message(char type, std::span<const std::byte> body, bool whole, bool& forward);
  /// Feeds a message of the primary's answer to the unit it belongs to; true once the unit's
  /// answer is complete.
  bool feed_unit_answer(char type, std::span<const std::byte> body, bool whole);
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

  // Login context, kept for the shadow and for a new primary after a flip.
  config::backend_credentials old_login_, new_login_;
  std::string database_;
  parameter_list client_parameters_;
  std::string user_name_;
  bool primary_is_new_ = false;
  int applied_phase_ = 0;
  // The primary reader of the current mode; stopped and restarted when the mode changes.
  std::uint64_t reader_generation_ = 0;
  bool reader_running_ = false;
  asio::steady_timer reader_stopped_;
  protocol::relay_scanner backend_scanner_;
  // Dual-write.
  std::unique_ptr<shadow::unit_builder> units_;  // null when no NEW backend is configured
  std::shared_ptr<shadow_link> shadow_;
  std::vector<expectation> expected_;  // what the primary still owes, in order
  char dual_event_ = 0;          // see wait_primary_event()
  char dual_pending_event_ = 0;  // raised once the batch that caused it reached the client
  bool copy_in_progress_ = false;
  bool copy_awaiting_sync_ = false;  // extended COPY done; its answer follows the next Sync
  bool commit_failed_ = false;   // the COMMIT of a wrapped write failed on the primary
  char piece_status_ = 0;        // run_split_query: the status the running piece should leave
  bool piece_failed_ = false;    // ... and whether it raised an error (the rest is skipped)
  // A Flush sent the open unit's frames to the primary before its Sync: the answers that come
  // before run_unit takes the unit belong to it (its reply tracker), not between units.
  bool unit_flushed_early_ = false;
  bool transaction_changed_ = false;  // the open transaction ran a write or a SET, say
  std::string transaction_timestamp_;  // what now() means in this transaction
  asio::steady_timer dual_signal_;     // the client coroutine waits here for the primary reader
  std::vector<std::string> held_locks_;
  std::shared_ptr<shadow::read_sample> sample_;  // of the unit in flight, if sampled
  std::vector<std::byte> dual_out_;
};

}  // namespace dw::proxy
