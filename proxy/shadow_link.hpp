// The shadow side of one session: its connection to the shadow backend, the queue of jobs
// the primary has completed (shadow/unit.hpp), and the drainer coroutine that runs them in
// order, reads the shadow's answers and compares them (docs/dual-write.md). It never writes
// to the client: every shadow problem ends as a divergence (logged, counted, the session
// marked), never as a client error (DESIGN.md, "Failure policy").
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "proxy/asio.hpp"
#include "proxy/backend_connector.hpp"
#include "shadow/divergence_record.hpp"
#include "shadow/read_sample.hpp"
#include "shadow/unit.hpp"

namespace dw::proxy {

struct shared_state;
struct runtime;

/// Where a mismatching sampled read is run again (the noise check): on the session's primary
/// and shadow backends, on connections of their own with the session's state replayed first.
struct rerun_target {
  std::shared_ptr<const runtime> rt;  ///< keeps the logins' target and tls alive
  backend_login primary;
  backend_login shadow;
  std::vector<std::byte> replay;
  std::uint64_t replay_version = 0;  ///< unit_builder::replay_version() it was built from
  bool primary_is_new = false;
};

class shadow_link : public std::enable_shared_from_this<shadow_link> {
 public:
  /// Who the session is, for divergence records.
  struct identity {
    std::uint64_t session_id = 0;
    std::string client_address;
    std::string user;
    std::string database;
  };
  shadow_link(asio::io_context& context, shared_state& shared, identity who);
  ~shadow_link();
  shadow_link(const shadow_link&) = delete;
  shadow_link& operator=(const shadow_link&) = delete;

  /// Opens the connection (if none, and the backoff allows) and replays `replay` on it.
  /// Call only at a transaction boundary. False: no shadow for now (already recorded).
  [[nodiscard]] awaitable<bool> attach(backend_login login, bool to_new, std::vector<std::byte> replay,
                                       bool replay_complete, int phase);
  /// Takes over an already open connection (the old primary, after a flip).
  void adopt(backend_connection connection);
  /// Gives the connection away (to become the primary); only when caught_up().
  [[nodiscard]] std::optional<backend_connection> release();
  [[nodiscard]] bool connected() const noexcept { return connection_ != nullptr; }

  /// Queues a job. Jobs run in order; a job marked overflow diverges the session instead.
  void enqueue(shadow::shadow_job job, int phase);
  /// Every job queued so far has run, and no cancel of a sample is still on its way (it
  /// could otherwise reach the connection after release() made it a primary).
  [[nodiscard]] bool caught_up() const noexcept {
    return executed_ == enqueued_ && !cancel_in_flight();
  }
  [[nodiscard]] std::size_t queued_bytes() const noexcept { return queued_bytes_; }
  [[nodiscard]] std::uint64_t backlog() const noexcept { return enqueued_ - executed_; }
  /// Age of the oldest job not yet run (zero when caught up).
  [[nodiscard]] std::chrono::milliseconds lag() const noexcept;

  /// Waits until every job queued so far has run, or `deadline`; on timeout the shadow is
  /// given up (diverged: lag_exceeded) so the caller can carry on. True: caught up.
  [[nodiscard]] awaitable<bool> wait_caught_up(std::chrono::steady_clock::time_point deadline,
                                               int phase);
  /// Waits until the queue has room for `bytes` more, or `deadline` (then diverged).
  [[nodiscard]] awaitable<void> wait_for_room(std::size_t bytes, std::size_t max_bytes,
                                              std::chrono::steady_clock::time_point deadline,
                                              int phase);

  [[nodiscard]] bool diverged() const noexcept { return diverged_; }
  /// The last wrapped write changed rows only on the shadow (only_shadow_changed_rows; still
  /// a divergence): the session rolls the shadow's transaction back instead of committing
  /// it, so both sides end as the primary did. Reading clears it.
  [[nodiscard]] bool take_wrapped_rollback() noexcept { return std::exchange(wrapped_rollback_, false); }
  /// The operator's `dwctl ack`: clears the mark. True when there was one.
  bool acknowledge() noexcept;
  /// The session is done with its shadow (client gone, or the phase dropped the shadow): the
  /// queued jobs still run, within shadow.lag_bound_ms (past it: diverged), then the
  /// connection closes. A write the client saw committed must not be lost on its way.
  void finish(std::chrono::milliseconds bound);
  /// True once attach() may try again (the backoff after a failure has run out).
  [[nodiscard]] bool may_retry() const noexcept;
  /// Where noise checks of this session's samples re-run their read (see rerun_target).
  void set_rerun_target(std::shared_ptr<const rerun_target> target) noexcept {
    rerun_target_ = std::move(target);
  }
  [[nodiscard]] const rerun_target* current_rerun_target() const noexcept {
    return rerun_target_.get();
  }

 private:
  // Two loops per connection: feed writes queued jobs, drain reads their answers in order.
  // Each holds `self`: it may outlive the session's reference by one wake-up.
  void start_loops();
  static awaitable<void> feed(std::shared_ptr<shadow_link> self, std::uint64_t generation);
  static awaitable<void> drain(std::shared_ptr<shadow_link> self, std::uint64_t generation);
  awaitable<void> feed_loop(std::uint64_t generation);
  awaitable<void> drain_loop(std::uint64_t generation);
  awaitable<bool> run_job(const shadow::shadow_job& job, int phase,
                          std::chrono::steady_clock::time_point started);
  /// A sampled read both backends answered: decide, run the noise check if it may be noise,
  /// and record the outcome.
  void conclude_sample(const std::shared_ptr<shadow::read_sample>& sample,
                       std::chrono::microseconds shadow_latency, int phase);
  /// Runs the sample's read on a fresh connection to `login` (session state replayed first)
  /// and feeds its answer into `into` as `side`. False: no usable answer.
  static awaitable<bool> rerun_read(asio::io_context& context, const rerun_target& target,
                                    const backend_login& login, const shadow::read_sample& sample,
                                    shadow::read_sample& into, compare::result_side side);
  static awaitable<void> noise_check(std::shared_ptr<shadow_link> self,
                                     std::shared_ptr<shadow::read_sample> sample,
                                     std::shared_ptr<const rerun_target> target,
                                     compare::result_diff_summary summary,
                                     std::chrono::microseconds shadow_latency, int phase);
  /// A noise check ended: its slot goes to the first check in line, or back to the pool.
  static void release_noise_slot(shared_state& shared);
  void record_sample(const shadow::read_sample& sample, const compare::result_diff_summary& summary,
                     compare::sample_outcome outcome, std::chrono::microseconds shadow_latency,
                     int phase, std::vector<std::string> noisy_columns = {});
  void compare(const shadow::shadow_job& job, const shadow::reply_tracker& reply, int phase);
  /// Records a divergence and marks the session; `lost` also drops the connection and queue.
  /// `statement`: which of the job's statements differed, whose tags the record carries.
  void diverge(shadow::divergence_kind kind, const shadow::shadow_job* job, std::string detail,
               int phase, bool lost, const shadow::reply_tracker* reply = nullptr,
               std::size_t statement = 0);
  void drop_connection() noexcept;
  /// The shadow failed (could not connect, or lost its connection): attach() waits
  /// reconnect_min_ms, doubling per failure in a row up to reconnect_max_ms, and records
  /// the reconnect when it succeeds.
  void back_off();
  /// A record naming this session, for `kind` in `phase`.
  [[nodiscard]] shadow::divergence_record record(shadow::divergence_kind kind, int phase) const;
  void notify_progress() noexcept { progress_.cancel(); }
  // A shadow that runs past its bound holds its session's row locks on the primary for that
  // long, and the clients queued behind them then wait for their own shadows in turn. So
  // once one wait ran out, all waits are cut to shadow.stalled_bound_ms for a lag bound.
  [[nodiscard]] std::chrono::steady_clock::time_point stall_capped(
      std::chrono::steady_clock::time_point deadline) const;
  void note_stall();

  // Yielding a sampled read (shadow_reads.yield_after_ms). A sample outside a transaction is
  // a fence: feed_loop writes nothing after it until it has answered, so a CancelRequest
  // can only reach the sample (or an idle backend, where PostgreSQL ignores it).
  [[nodiscard]] static bool is_fence(const shadow::shadow_job& job) noexcept;
  [[nodiscard]] bool fenced() const noexcept;
  /// The fence at the queue's front started running: its yield clock starts.
  void arm_yield();
  /// Cancels the running sample if its time is up and something waits behind it.
  void maybe_yield();
  static awaitable<void> cancel_sample(std::shared_ptr<shadow_link> self, cancel_target target,
                                       std::uint64_t generation);
  [[nodiscard]] bool cancel_in_flight() const noexcept {
    return cancelling_ && cancel_generation_ == generation_;
  }

  asio::io_context& context_;
  shared_state& shared_;
  identity who_;
  // Shared with the drainer while it runs a job: a divergence may drop the link meanwhile.
  std::shared_ptr<backend_connection> connection_;
  bool counted_connection_ = false;  // holds a slot of shadow.max_connections
  struct queued {
    shadow::shadow_job job;
    int phase;
    std::chrono::steady_clock::time_point at;
    std::chrono::steady_clock::time_point sent_at{};  ///< when feed_loop wrote it
  };
  std::deque<queued> queue_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t enqueued_ = 0;
  std::uint64_t executed_ = 0;
  std::size_t sent_ = 0;  // jobs at the queue's front already written to the shadow
  std::uint64_t generation_ = 0;  // bumped per connection: a stale drainer stops
  bool diverged_ = false;
  bool wrapped_rollback_ = false;  // see take_wrapped_rollback()
  bool in_failed_transaction_ = false;
  bool finishing_ = false;
  bool finishing_counted_ = false;
  int last_phase_ = 0;  // divergences are not repeated until the next boundary
  unsigned failures_ = 0;  // in a row, reset once the shadow completes a transaction
  bool lost_ = false;      // the next successful attach() is a reconnect
  std::chrono::steady_clock::time_point retry_at_{};
  std::vector<std::byte> carry_;
  std::shared_ptr<const rerun_target> rerun_target_;
  asio::steady_timer work_;      // the drainer waits here for jobs
  asio::steady_timer progress_;  // the session waits here for the drainer
  asio::steady_timer finish_deadline_;
  asio::steady_timer replies_;   // drain_loop waits here for feed_loop
  asio::steady_timer yield_;     // runs out when the running sample may be cancelled
  bool yield_due_ = false;       // the running sample has had its time
  bool cancelling_ = false;      // a CancelRequest is on its way to the backend
  std::uint32_t front_readies_ = 0;  // ReadyForQuery read so far of the job at the front
  std::uint64_t cancel_generation_ = 0;
  unsigned waiters_ = 0;         // wait_caught_up / wait_for_room callers
};

}  // namespace dw::proxy
