#include "proxy/shadow_link.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "protocol/relay_scanner.hpp"
#include "proxy/runtime.hpp"

namespace dw::proxy {
namespace {

using clock = std::chrono::steady_clock;
using shadow::divergence_kind;

// Shadow answers are read whole (the proxy consumes them); PostgreSQL's own message cap.
constexpr std::size_t shadow_message_limit = (1u << 30) - 1;

}  // namespace

shadow_link::shadow_link(asio::io_context& context, shared_state& shared, identity who)
    : context_{context},
      shared_{shared},
      who_{std::move(who)},
      work_{context, clock::time_point::max()},
      progress_{context, clock::time_point::max()},
      finish_deadline_{context, clock::time_point::max()},
      replies_{context, clock::time_point::max()},
      yield_{context, clock::time_point::max()} {}

shadow_link::~shadow_link() { drop_connection(); }

std::chrono::milliseconds shadow_link::lag() const noexcept {
  if (queue_.empty()) return std::chrono::milliseconds{0};
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - queue_.front().at);
}

shadow::divergence_record shadow_link::record(divergence_kind kind, int phase) const {
  shadow::divergence_record r;
  r.session_id = who_.session_id;
  r.client_address = who_.client_address;
  r.user = who_.user;
  r.database = who_.database;
  r.phase = phase;
  r.kind = kind;
  return r;
}

bool shadow_link::may_retry() const noexcept { return clock::now() >= retry_at_; }

void shadow_link::back_off() {
  const auto& settings = shared_.current.load()->cfg.shadow;
  ++failures_;
  lost_ = true;
  auto wait = settings.reconnect_min * (1u << std::min(failures_ - 1, 16u));
  if (wait > settings.reconnect_max) wait = settings.reconnect_max;
  retry_at_ = clock::now() + wait;
}

void shadow_link::drop_connection() noexcept {
  if (connection_) {
    connection_->io->close();
    connection_.reset();
  }
  if (counted_connection_) {
    shared_.shadow_connections.fetch_sub(1);
    counted_connection_ = false;
  }
  ++generation_;
  carry_.clear();
  if (finishing_counted_) {
    finishing_counted_ = false;
    shared_.finishing_shadows.fetch_sub(1);
  }
  // Whatever was queued can no longer run in order: it is part of the divergence.
  queue_.clear();
  queued_bytes_ = 0;
  sent_ = 0;
  front_readies_ = 0;
  executed_ = enqueued_;
  replies_.cancel();
  yield_.cancel();
  yield_due_ = false;
  in_failed_transaction_ = false;
  work_.cancel();
  notify_progress();
}

void shadow_link::finish(std::chrono::milliseconds bound) {
  finishing_ = true;
  if (!connection_ || caught_up()) {
    if (connection_) {
      send_terminate(*connection_->io);
    }
    drop_connection();
    return;
  }
  // The drainer holds the link alive until the queue is done; the deadline gives up on it.
  // Counted, so that a flip also waits for the shadows of sessions that just ended.
  if (!finishing_counted_) {
    finishing_counted_ = true;
    shared_.finishing_shadows.fetch_add(1);
  }
  maybe_yield();  // a sample nobody will read the answer of in time gives way
  finish_deadline_.expires_after(bound);
  finish_deadline_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || !self->connection_ || self->caught_up()) return;
    self->diverge(divergence_kind::lag_exceeded,
                  self->queue_.empty() ? nullptr : &self->queue_.front().job,
                  "the session ended before its shadow caught up within shadow.lag_bound_ms",
                  self->last_phase_, true);
  });
}

bool shadow_link::acknowledge() noexcept {
  if (!diverged_) return false;
  diverged_ = false;  // the process-wide count is reset by the caller
  return true;
}

awaitable<bool> shadow_link::attach(backend_login login, bool to_new, std::vector<std::byte> replay,
                                    bool replay_complete, int phase) {
  if (connection_) co_return true;
  if (!may_retry()) co_return false;
  const auto& settings = shared_.current.load()->cfg.shadow;
  if (shared_.shadow_connections.fetch_add(1) >= settings.max_connections) {
    shared_.shadow_connections.fetch_sub(1);
    back_off();
    diverge(divergence_kind::shadow_unreachable, nullptr,
            "shadow.max_connections reached: this session runs without a shadow", phase, true);
    co_return false;
  }
  counted_connection_ = true;
  const auto started = clock::now();
  backend_outcome outcome = co_await connect_backend(login);
  const auto took =
      std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started).count();
  shared_.last_login_us[to_new ? 1 : 0].store(outcome.connection ? took : -took - 1);
  if (!outcome.connection) {
    shared_.shadow_connections.fetch_sub(1);
    counted_connection_ = false;
    back_off();
    diverge(divergence_kind::shadow_unreachable, nullptr,
            "cannot connect to the shadow: " + outcome.failure.message, phase, true);
    co_return false;
  }
  connection_ = std::make_shared<backend_connection>(std::move(*outcome.connection));
  carry_ = std::move(connection_->leftover);
  // failures_ is reset once the shadow completes a transaction (drain_loop): a shadow that
  // connects but then fails again before that keeps backing off.
  const bool was_lost = std::exchange(lost_, false);
  ++generation_;
  if (!replay.empty()) enqueue(shadow::make_replay_job(std::move(replay)), phase);
  if (!replay_complete)
    diverge(divergence_kind::shadow_unreachable, nullptr,
            "session state too large to replay on the new shadow connection", phase, false);
  if (was_lost) {
    // Counted by kind like the records beside it (not as a divergence: it ends one).
    shared_.divergences_by_kind[static_cast<std::size_t>(divergence_kind::reconnect)].fetch_add(1);
    spdlog::info("[s{} {}] shadow connection re-established", who_.session_id,
                 who_.client_address);
    shadow::divergence_record r = record(divergence_kind::reconnect, phase);
    r.detail = "shadow connection re-established";
    if (shared_.divergence_log) shared_.divergence_log->write(r);
  }
  start_loops();
  co_return true;
}

void shadow_link::adopt(backend_connection connection) {
  drop_connection();
  carry_ = std::move(connection.leftover);
  connection_ = std::make_shared<backend_connection>(std::move(connection));
  shared_.shadow_connections.fetch_add(1);
  counted_connection_ = true;
  ++generation_;
  start_loops();
}

std::optional<backend_connection> shadow_link::release() {
  std::optional<backend_connection> out;
  if (connection_) out = std::move(*connection_);
  connection_.reset();
  if (counted_connection_) {
    shared_.shadow_connections.fetch_sub(1);
    counted_connection_ = false;
  }
  ++generation_;
  work_.cancel();  // the loops of this connection stop without touching it
  replies_.cancel();
  if (out && !carry_.empty()) {
    out->leftover = std::move(carry_);
    carry_.clear();
  }
  return out;
}

void shadow_link::enqueue(shadow::shadow_job job, int phase) {
  if (job.overflow) {
    diverge(divergence_kind::queue_overflow, &job,
            "statement data larger than shadow.max_queue_bytes was not sent to the shadow", phase,
            false);
    return;
  }
  if (job.bytes.empty()) return;
  if (!connection_) return;  // no shadow now: the session is already marked diverged
  last_phase_ = phase;
  queued_bytes_ += job.bytes.size();
  ++enqueued_;
  queue_.push_back({std::move(job), phase, clock::now()});
  work_.cancel();
  maybe_yield();
}

clock::time_point shadow_link::stall_capped(clock::time_point deadline) const {
  const auto now = clock::now();
  if (now.time_since_epoch().count() >= shared_.shadow_stalled_until.load()) return deadline;
  return std::min(deadline, now + shared_.current.load()->cfg.shadow.stalled_bound);
}

void shadow_link::note_stall() {
  const auto until = clock::now() + shared_.current.load()->cfg.shadow.lag_bound;
  shared_.shadow_stalled_until.store(until.time_since_epoch().count());
}

awaitable<bool> shadow_link::wait_caught_up(clock::time_point deadline, int phase) {
  deadline = stall_capped(deadline);
  ++waiters_;
  maybe_yield();
  while (!caught_up()) {
    progress_.expires_at(deadline);
    auto [ec] = co_await progress_.async_wait(use_nothrow);
    if (!ec && !caught_up()) {
      --waiters_;
      note_stall();
      diverge(divergence_kind::lag_exceeded,
              queue_.empty() ? nullptr : &queue_.front().job,
              "the shadow did not catch up within shadow.lag_bound_ms", phase, true);
      co_return false;
    }
  }
  --waiters_;
  co_return true;
}

awaitable<void> shadow_link::wait_for_room(std::size_t bytes, std::size_t max_bytes,
                                           clock::time_point deadline, int phase) {
  deadline = stall_capped(deadline);
  ++waiters_;
  maybe_yield();
  while (connection_ && queued_bytes_ > 0 && queued_bytes_ + bytes > max_bytes) {
    progress_.expires_at(deadline);
    auto [ec] = co_await progress_.async_wait(use_nothrow);
    if (!ec && queued_bytes_ > 0 && queued_bytes_ + bytes > max_bytes) {
      --waiters_;
      note_stall();
      diverge(divergence_kind::queue_overflow, queue_.empty() ? nullptr : &queue_.front().job,
              "the shadow queue stayed full past shadow.lag_bound_ms", phase, true);
      co_return;
    }
  }
  --waiters_;
}

void shadow_link::start_loops() {
  asio::co_spawn(context_, feed(shared_from_this(), generation_), asio::detached);
  asio::co_spawn(context_, drain(shared_from_this(), generation_), asio::detached);
}

awaitable<void> shadow_link::feed(std::shared_ptr<shadow_link> self, std::uint64_t generation) {
  co_await self->feed_loop(generation);
}

awaitable<void> shadow_link::drain(std::shared_ptr<shadow_link> self, std::uint64_t generation) {
  co_await self->drain_loop(generation);
}

awaitable<void> shadow_link::feed_loop(std::uint64_t generation) {
  // Every job queued is written at once, without waiting for the answers to earlier ones:
  // the shadow runs them in order anyway, and a job stuck behind a row lock there must not
  // hold back the next one's round trip (drain_loop reads the answers).
  // A fence (a sample that may be cancelled) ends the batch, and nothing follows it until
  // it has answered.
  std::vector<std::byte> batch;
  for (;;) {
    while (sent_ == queue_.size() || fenced()) {
      if (generation != generation_) co_return;
      work_.expires_at(clock::time_point::max());
      (void)co_await work_.async_wait(use_nothrow);
    }
    if (generation != generation_ || !connection_) co_return;
    batch.clear();
    std::size_t end = sent_;
    const auto now = clock::now();
    while (end < queue_.size()) {
      auto& q = queue_[end++];
      batch.insert(batch.end(), q.job.bytes.begin(), q.job.bytes.end());
      q.sent_at = now;
      if (is_fence(q.job)) break;
    }
    const int phase = queue_[end - 1].phase;
    sent_ = end;
    replies_.cancel();
    const auto keep_alive = connection_;
    if (auto ec = co_await keep_alive->io->write(batch)) {
      if (generation == generation_)
        diverge(divergence_kind::shadow_unreachable, queue_.empty() ? nullptr : &queue_.front().job,
                "shadow connection lost: " + ec.message(), phase, true);
      co_return;
    }
  }
}

awaitable<void> shadow_link::drain_loop(std::uint64_t generation) {
  for (;;) {
    while (sent_ == 0) {
      if (generation != generation_) co_return;
      replies_.expires_at(clock::time_point::max());
      (void)co_await replies_.async_wait(use_nothrow);
    }
    if (generation != generation_ || !connection_) co_return;
    const queued& front = queue_.front();
    const bool fence = is_fence(front.job);
    if (fence) arm_yield();
    // A job's own time starts when the shadow can turn to it: written, and the one before done.
    const bool ok = co_await run_job(front.job, front.phase, std::max(front.sent_at, clock::now()));
    if (generation != generation_) co_return;  // dropped or released meanwhile
    if (!ok) co_return;
    // A shadow that gets a transaction through again is healthy: its backoff starts over.
    // (Not any job: after a reconnect, statements that touch nothing locked succeed and the
    // one stuck behind the same lock fails again, and again at once, without this.)
    if (queue_.front().job.ends_at_boundary) failures_ = 0;
    if (fence) {
      yield_.cancel();
      yield_due_ = false;
      work_.cancel();  // what waited behind the fence may be written now
    }
    queued_bytes_ -= queue_.front().job.bytes.size();
    queue_.pop_front();
    front_readies_ = 0;
    --sent_;
    ++executed_;
    shared_.shadow_jobs.fetch_add(1, std::memory_order_relaxed);
    notify_progress();
    if (finishing_ && caught_up()) {
      finish_deadline_.cancel();
      finish(std::chrono::milliseconds{0});
      co_return;
    }
  }
}

awaitable<bool> shadow_link::run_job(const shadow::shadow_job& job, int phase,
                                     clock::time_point started) {
  // Reads the answers to a job feed_loop has written.
  const auto keep_alive = connection_;
  stream& io = *keep_alive->io;
  const std::uint64_t generation = generation_;
  shadow::reply_tracker reply;
  for (char t : job.types) reply.expect(t);
  protocol::limits lim;
  lim.max_message = lim.max_small = shadow_message_limit;
  const protocol::frame_decoder decoder{protocol::direction::backend, lim};
  bool done = reply.ready_expected() == 0;
  std::uint32_t readies = 0;  // of a sample: its answer lies after sample_ready_skip of them
  front_readies_ = 0;
  while (!done) {
    std::size_t used = 0;
    while (!done) {
      auto f = decoder.next(std::span<const std::byte>{carry_}.subspan(used));
      if (!f) {
        diverge(divergence_kind::shadow_unreachable, &job, "shadow sent an invalid message",
                phase, true);
        co_return false;
      }
      if (!*f) break;
      done = reply.on_message((*f)->type, (*f)->body);
      if (job.sample && readies == job.sample_ready_skip)
        job.sample->on_message(compare::result_side::shadow, (*f)->type, (*f)->body);
      if ((*f)->type == 'Z') {
        front_readies_ = ++readies;
        // The savepoint before a sample answered: a cancel that waited for it may go now.
        if (job.sample && readies == job.sample_ready_skip && readies > 0) maybe_yield();
      }
      used += (*f)->wire_size;
    }
    carry_.erase(carry_.begin(), carry_.begin() + static_cast<std::ptrdiff_t>(used));
    if (done) break;
    auto bytes = co_await io.read_some();
    if (generation != generation_) co_return false;
    if (!bytes) {
      diverge(divergence_kind::shadow_unreachable, &job,
              "shadow connection lost: " + bytes.error().message(), phase, true);
      co_return false;
    }
    carry_.insert(carry_.end(), bytes->begin(), bytes->end());
  }
  if (job.sample)
    conclude_sample(job.sample,
                    std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started),
                    phase);
  compare(job, reply, phase);
  co_return true;
}

bool shadow_link::is_fence(const shadow::shadow_job& job) noexcept { return job.sample != nullptr; }

bool shadow_link::fenced() const noexcept {
  return (sent_ > 0 && is_fence(queue_[sent_ - 1].job)) || cancel_in_flight();
}

void shadow_link::arm_yield() {
  yield_due_ = false;
  yield_.expires_after(shared_.current.load()->cfg.shadow_reads.yield_after);
  yield_.async_wait([self = shared_from_this(), sample = queue_.front().job.sample.get(),
                     generation = generation_](error_code ec) {
    if (ec || generation != self->generation_ || self->queue_.empty() ||
        self->queue_.front().job.sample.get() != sample)
      return;
    self->yield_due_ = true;
    self->maybe_yield();
  });
}

void shadow_link::maybe_yield() {
  if (!yield_due_ || cancelling_ || !connection_ || sent_ == 0 || !is_fence(queue_.front().job))
    return;
  // Inside a transaction the cancel waits until the savepoint has answered: it must end the
  // read, never the SAVEPOINT (the shadow's transaction would then be lost with it).
  if (front_readies_ < queue_.front().job.sample_ready_skip) return;
  // Nobody waits for a sample that is alone in the queue (but for its own savepoint's
  // release): it may take its time.
  std::size_t behind = queue_.size() - 1;
  if (behind > 0 && queue_[1].job.ends_sample_savepoint) --behind;
  if (behind == 0 && waiters_ == 0 && !finishing_) return;
  yield_due_ = false;
  queue_.front().job.sample->cancel_requested = true;
  cancelling_ = true;
  cancel_generation_ = generation_;
  shared_.shadow_read_yields.fetch_add(1, std::memory_order_relaxed);
  asio::co_spawn(context_, cancel_sample(shared_from_this(), connection_->cancel, generation_),
                 asio::detached);
}

awaitable<void> shadow_link::cancel_sample(std::shared_ptr<shadow_link> self,
                                           cancel_target target, std::uint64_t generation) {
  // Returns once the server closed the request's connection: PostgreSQL signals the backend
  // before that, so the cancel can no longer reach anything written after this point.
  co_await send_cancel(std::move(target));
  self->cancelling_ = false;
  if (generation != self->generation_) co_return;
  self->work_.cancel();
  self->notify_progress();
  if (self->finishing_ && self->caught_up()) {
    self->finish_deadline_.cancel();
    self->finish(std::chrono::milliseconds{0});
  }
}

void shadow_link::conclude_sample(const std::shared_ptr<shadow::read_sample>& sample,
                                  std::chrono::microseconds shadow_latency, int phase) {
  compare::read_stats& stats = *shared_.read_stats;
  if (sample->unusable) {
    stats.record_skipped(sample->fingerprint, *sample->shown_sql, clock::now());
    return;
  }
  compare::result_diff_summary summary = sample->diff.finish();
  if (summary.verdict == compare::result_verdict::match) {
    record_sample(*sample, summary, compare::sample_outcome::match, shadow_latency, phase);
    return;
  }
  if (sample->cancel_requested) {  // answered "canceled" or cut short: no verdict
    stats.record_skipped(sample->fingerprint, *sample->shown_sql, clock::now());
    return;
  }
  auto columns = shadow::mismatching_columns(*sample, summary);
  if (!columns.empty() && stats.known_noise(sample->fingerprint, columns)) {
    record_sample(*sample, summary, compare::sample_outcome::noise, shadow_latency, phase,
                  std::move(columns));
    return;
  }
  // A read inside a transaction may see the transaction's own writes: a re-run outside it
  // would differ for that reason alone, so such a read is not checked for noise. Before the
  // transaction changed anything it sees committed data only, as a re-run does. A change of
  // column types is never noise.
  const auto& rules = shared_.current.load()->read_sampling;
  const std::size_t slots = shared_.current.load()->cfg.shadow_reads.max_noise_checks;
  const bool checkable = rules.noise_check && slots > 0 && !sample->after_transaction_changes &&
                         rerun_target_ &&
                         !summary.has(compare::diff_reason::columns_differ) &&
                         !summary.has(compare::diff_reason::malformed_row);
  if (!checkable) {
    record_sample(*sample, summary, compare::sample_outcome::mismatch, shadow_latency, phase);
    return;
  }
  // At most max_noise_checks re-runs at once; the rest wait their turn (bounded) rather than
  // be reported unchecked: while the first check of a query shape runs, its next samples
  // would otherwise all count as mismatches. Those in line are often decided without a
  // re-run of their own, by what the check before them learnt.
  constexpr std::size_t max_waiting = 256;
  auto make_start = [&] {
    return [self = shared_from_this(), sample, target = rerun_target_,
            summary = std::move(summary), shadow_latency, phase]() mutable {
      asio::co_spawn(self->context_,
                     noise_check(self, std::move(sample), std::move(target), std::move(summary),
                                 shadow_latency, phase),
                     asio::detached);
    };
  };
  {
    std::unique_lock lock{shared_.noise_mutex};
    if (shared_.noise_checks < slots) {
      ++shared_.noise_checks;
      lock.unlock();
      make_start()();
      return;
    }
    if (shared_.noise_waiting.size() < max_waiting) {
      // Posted, not run, when its turn comes: the slot's releaser may be on another thread.
      shared_.noise_waiting.push_back([context = &context_, start = make_start()]() mutable {
        asio::post(*context, std::move(start));
      });
      return;
    }
  }
  summary.detail += "; no noise check: too many waiting (shadow_reads.max_noise_checks)";
  record_sample(*sample, summary, compare::sample_outcome::mismatch, shadow_latency, phase);
}

void shadow_link::release_noise_slot(shared_state& shared) {
  std::function<void()> next;
  {
    std::lock_guard lock{shared.noise_mutex};
    if (shared.noise_waiting.empty()) {
      --shared.noise_checks;
      return;
    }
    next = std::move(shared.noise_waiting.front());  // the slot passes to it
    shared.noise_waiting.pop_front();
  }
  next();
}

awaitable<bool> shadow_link::rerun_read(asio::io_context& context, const rerun_target& target,
                                        const backend_login& login,
                                        const shadow::read_sample& sample,
                                        shadow::read_sample& into, compare::result_side side) {
  backend_outcome outcome = co_await connect_backend(login);
  if (!outcome.connection) co_return false;
  stream& io = *outcome.connection->io;
  // Bounded like every shadow wait: a backend that does not answer leaves the mismatch.
  asio::steady_timer deadline{context};
  deadline.expires_after(target.rt->cfg.shadow.lag_bound);
  deadline.async_wait([&io](error_code ec) {
    if (!ec) io.close();
  });
  std::vector<std::byte> carry = std::move(outcome.connection->leftover);
  std::vector<std::byte> request = target.replay;
  request.insert(request.end(), sample.frames.begin(), sample.frames.end());
  const auto readies_in = [](std::span<const std::byte> frames) {
    std::size_t n = 0;
    for (char t : shadow::frontend_frame_types(frames))
      if (t == 'Q' || t == 'S') ++n;
    return n;
  };
  const std::size_t replay_readies = readies_in(target.replay);
  std::size_t seen = 0;
  bool answered = false;
  if (!co_await io.write(request))
    answered = co_await read_until_ready(io, readies_in(request), carry,
                                         [&](const protocol::frame& f) {
                                           if (seen == replay_readies)
                                             into.on_message(side, f.type, f.body);
                                           if (f.type == 'Z') ++seen;
                                         });
  deadline.cancel();
  send_terminate(io);
  io.close();
  co_return answered && !into.unusable;
}

awaitable<void> shadow_link::noise_check(std::shared_ptr<shadow_link> self,
                                         std::shared_ptr<shadow::read_sample> sample,
                                         std::shared_ptr<const rerun_target> target,
                                         compare::result_diff_summary summary,
                                         std::chrono::microseconds shadow_latency, int phase) {
  struct slot_release {
    shared_state& shared;
    ~slot_release() { release_noise_slot(shared); }
  } release{self->shared_};
  using compare::result_side;
  // Learnt while this check waited for its slot: no re-run needed.
  if (auto columns = shadow::mismatching_columns(*sample, summary);
      !columns.empty() && self->shared_.read_stats->known_noise(sample->fingerprint, columns)) {
    self->record_sample(*sample, summary, compare::sample_outcome::noise, shadow_latency, phase,
                        std::move(columns));
    co_return;
  }
  shadow::read_sample recheck{sample->options};
  if (co_await rerun_read(self->context_, *target, target->primary, *sample, recheck,
                          result_side::primary)) {
    const bool shadow_ok = co_await rerun_read(self->context_, *target, target->shadow, *sample,
                                               recheck, result_side::shadow);
    const auto verdict = shadow::judge_noise(*sample, summary, recheck.diff, shadow_ok);
    if (verdict.outcome == compare::sample_outcome::noise && !verdict.transient)
      self->shared_.read_stats->learn_noisy_columns(sample->fingerprint, verdict.noisy_columns);
    if (verdict.transient) summary.detail += "; re-run on both sides, they agree: writes were in flight";
    summary.detail += verdict.detail;
    self->record_sample(*sample, summary, verdict.outcome, shadow_latency, phase,
                        verdict.noisy_columns);
    co_return;
  }
  summary.detail += "; the noise check could not re-run the read on the primary";
  self->record_sample(*sample, summary, compare::sample_outcome::mismatch, shadow_latency, phase);
}

void shadow_link::record_sample(const shadow::read_sample& sample,
                                const compare::result_diff_summary& summary,
                                compare::sample_outcome outcome,
                                std::chrono::microseconds shadow_latency, int phase,
                                std::vector<std::string> noisy_columns) {
  compare::sample_record r;
  r.fingerprint = sample.fingerprint;
  r.statement = *sample.shown_sql;
  r.outcome = outcome;
  r.primary_is_new = sample.primary_is_new;
  r.primary_latency = sample.primary_latency;
  r.shadow_latency = shadow_latency;
  if (outcome != compare::sample_outcome::match) {
    r.example = shadow::make_example(sample, summary, shared_.current.load()->redaction);
    r.example->noisy_columns = std::move(noisy_columns);
  }
  shared_.read_stats->record(r, clock::now());
  if (outcome != compare::sample_outcome::mismatch) return;
  shared_.divergences_by_kind[static_cast<std::size_t>(divergence_kind::read_mismatch)].fetch_add(1);
  spdlog::info("[s{} {}] sampled read differs (fingerprint {}): {}", who_.session_id,
               who_.client_address, compare::fingerprint_hex(sample.fingerprint), summary.detail);
  if (!shared_.divergence_log) return;
  shadow::divergence_record d = record(divergence_kind::read_mismatch, phase);
  d.fingerprint = sample.fingerprint;
  d.statement = *sample.sql;
  d.parameters = sample.parameters;
  d.parameter_formats = sample.parameter_formats;
  d.primary.tag = sample.primary_answer;
  d.shadow.tag = sample.shadow_answer;
  d.detail = summary.detail;
  shared_.divergence_log->write(d);
}

void shadow_link::compare(const shadow::shadow_job& job, const shadow::reply_tracker& reply,
                          int phase) {
  const bool boundary = reply.status() == 'I';
  const auto settle = [&] {
    if (boundary) in_failed_transaction_ = false;
  };
  if (!job.compare_answers) {
    settle();
    return;
  }
  if (in_failed_transaction_) {
    settle();
    return;
  }
  if (reply.error()) {
    in_failed_transaction_ = !boundary;
    // The statement that failed is the one after those the shadow completed.
    diverge(divergence_kind::shadow_error, &job, "the shadow failed where the primary succeeded",
            phase, false, &reply, reply.results().size());
    settle();
    return;
  }
  const auto& got = reply.results();
  std::string detail;
  shadow::divergence_kind kind = divergence_kind::tag_mismatch;
  std::size_t at = std::min(got.size(), job.expected.size());
  if (got.size() != job.expected.size()) {
    detail = fmt::format("the primary completed {} statements, the shadow {}", job.expected.size(),
                         got.size());
  } else {
    for (std::size_t i = 0; i < got.size() && detail.empty(); ++i) {
      const auto& want = job.expected[i];
      at = i;
      if (got[i].tag != want.tag) {
        detail = fmt::format("command tags differ: primary \"{}\", shadow \"{}\"", want.tag,
                             got[i].tag);
        // A lone autocommit write (the proxy's BEGIN, then it) that changed rows only on the
        // shadow: most likely the row's INSERT by another session was still in flight on the
        // primary but had committed on the shadow. The session rolls the shadow's write back,
        // so that both sides end having changed nothing; the record stays, since NEW holding
        // rows OLD lacks looks the same. Not for several statements: rolling back would also
        // undo those that matched.
        if (job.wrapped && got.size() == 2 && i == 1 &&
            shadow::only_shadow_changed_rows(want.tag, got[i].tag)) {
          wrapped_rollback_ = true;
          shared_.shadow_rollbacks.fetch_add(1, std::memory_order_relaxed);
          detail += "; the shadow's write was rolled back";
        }
      } else if (want.compare_rows && got[i].rows_hashed && got[i].row_hash != want.row_hash) {
        kind = divergence_kind::rows_mismatch;
        detail = fmt::format("RETURNING rows of \"{}\" differ", want.tag);
      }
    }
  }
  if (!detail.empty()) {
    in_failed_transaction_ = !boundary;
    diverge(kind, &job, std::move(detail), phase, false, &reply, at);
  }
  settle();
}

void shadow_link::diverge(divergence_kind kind, const shadow::shadow_job* job, std::string detail,
                          int phase, bool lost, const shadow::reply_tracker* reply,
                          std::size_t statement) {
  shared_.divergences.fetch_add(1);
  shared_.divergences_by_kind[static_cast<std::size_t>(kind)].fetch_add(1);
  if (!diverged_) {
    diverged_ = true;
    shared_.diverged_sessions.fetch_add(1);
  }
  spdlog::warn("[s{} {}] shadow diverged ({}): {}", who_.session_id, who_.client_address,
               shadow::to_string(kind), detail);
  if (shared_.divergence_log) {
    shadow::divergence_record r = record(kind, phase);
    r.detail = std::move(detail);
    r.shadow_rolled_back = wrapped_rollback_;
    if (job) {
      if (job->statement.sql) {
        r.statement = *job->statement.sql;
        r.fingerprint = shadow::statement_fingerprint(r.statement);
      }
      r.parameters = job->parameters;
      r.parameter_formats = job->parameter_formats;
      // The differing statement's tags, not the first statement's: a wrapped write's job
      // starts with the proxy's own BEGIN, which both sides answer alike.
      if (!job->expected.empty())
        r.primary.tag = job->expected[std::min(statement, job->expected.size() - 1)].tag;
    }
    if (reply) {
      if (statement < reply->results().size()) r.shadow.tag = reply->results()[statement].tag;
      if (reply->error()) {
        r.shadow.sqlstate = reply->error()->sqlstate;
        r.shadow.message = reply->error()->text;
      }
    }
    shared_.divergence_log->write(r);
  }
  if (lost) {
    if (connection_) back_off();  // reconnecting at once would likely meet the same fate
    // A statement still running there (stuck behind a lock, or slow) would keep its locks
    // on the shadow until it ended: a closed socket is only noticed when the backend next
    // reads or writes. Cancel it, so the locks go with it.
    if (connection_ && sent_ > 0)
      asio::co_spawn(context_, send_cancel(connection_->cancel), asio::detached);
    drop_connection();
  }
}

}  // namespace dw::proxy
