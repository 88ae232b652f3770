// One io_context on one thread; every session accepted onto it lives and dies here, so
// session code needs no locks (STYLE.md 25). The registry lets shutdown reach each session.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <unordered_set>

#include "proxy/asio.hpp"
#include "proxy/runtime.hpp"

namespace dw::proxy {

class session;

/// Counted on the worker's thread, read by the control thread at scrape time. Relaxed
/// atomics: these change per connection, never per message, so they cost nothing that
/// matters and a scrape never races (STYLE.md 32: summed on scrape).
struct worker_stats {
  using counter = std::atomic<std::uint64_t>;
  counter clients_accepted{0};
  counter client_errors{0};      ///< clients closed with an ErrorResponse
  counter auth_failures{0};
  counter backend_failures{0};   ///< primary unreachable or lost mid-session
  counter cancel_requests{0};
};

class worker {
 public:
  worker(unsigned index, shared_state& shared);
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  [[nodiscard]] asio::io_context& context() noexcept { return context_; }
  [[nodiscard]] shared_state& shared() noexcept { return shared_; }
  [[nodiscard]] unsigned index() const noexcept { return index_; }
  [[nodiscard]] worker_stats& stats() noexcept { return stats_; }
  [[nodiscard]] std::size_t session_count() const noexcept { return session_count_.load(); }

  void start_thread();
  void join();

  /// Called on this worker's thread by sessions.
  void add(session* s);
  void remove(session* s);
  /// Posts graceful shutdown to every session of this worker (any thread).
  void begin_shutdown();
  /// Posts an immediate close of every session (any thread).
  void close_all();

  /// Session counts of this worker, taken on its thread and handed to `done` there.
  struct session_census {
    std::uint64_t sessions = 0;
    std::uint64_t in_transaction = 0;  ///< not at a transaction boundary
    std::uint64_t shadow_backlog = 0;  ///< jobs queued or running on shadows
    std::int64_t max_shadow_lag_ms = -1;  ///< worst session; -1: no session has a shadow
  };
  void take_census(std::function<void(session_census)> done);

  /// Clears every session's diverged mark (dwctl ack); `done` gets how many were set.
  void acknowledge_divergences(std::function<void(std::uint64_t)> done);

  /// Suspends a session while the proxy is paused (shared_state::paused); on this thread.
  [[nodiscard]] awaitable<void> wait_until_resumed();
  /// Wakes every session waiting in wait_until_resumed() (any thread).
  void wake_paused_sessions();

 private:
  void post_to_each_session(void (session::*action)());

  unsigned index_;
  shared_state& shared_;
  // One thread, and every I/O object of this context is used only from it: the reactor's
  // per-descriptor locks are pure overhead (they stay on for registration and posting).
  asio::io_context context_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unordered_set<session*> sessions_;
  std::atomic<std::size_t> session_count_{0};
  worker_stats stats_;
  // Never expires: waiting sessions are woken by cancelling it (an Asio condition variable).
  asio::steady_timer resume_signal_{context_, asio::steady_timer::time_point::max()};
};

}  // namespace dw::proxy
