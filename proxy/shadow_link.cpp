#include "proxy/shadow_link.hpp"

#include <spdlog/spdlog.h>

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
      replies_{context, clock::time_point::max()} {}

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
  executed_ = enqueued_;
  replies_.cancel();
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
  const auto backoff = [&] {
    ++failures_;
    auto wait = settings.reconnect_min * (1u << std::min(failures_ - 1, 16u));
    if (wait > settings.reconnect_max) wait = settings.reconnect_max;
    retry_at_ = clock::now() + wait;
  };
  if (shared_.shadow_connections.fetch_add(1) >= settings.max_connections) {
    shared_.shadow_connections.fetch_sub(1);
    backoff();
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
    backoff();
    diverge(divergence_kind::shadow_unreachable, nullptr,
            "cannot connect to the shadow: " + outcome.failure.message, phase, true);
    co_return false;
  }
  connection_ = std::make_shared<backend_connection>(std::move(*outcome.connection));
  carry_ = std::move(connection_->leftover);
  const bool was_lost = failures_ > 0;
  failures_ = 0;
  ++generation_;
  if (!replay.empty()) enqueue(shadow::make_replay_job(std::move(replay)), phase);
  if (!replay_complete)
    diverge(divergence_kind::shadow_unreachable, nullptr,
            "session state too large to replay on the new shadow connection", phase, false);
  if (was_lost) {
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
}

awaitable<bool> shadow_link::wait_caught_up(clock::time_point deadline, int phase) {
  while (!caught_up()) {
    progress_.expires_at(deadline);
    auto [ec] = co_await progress_.async_wait(use_nothrow);
    if (!ec && !caught_up()) {
      diverge(divergence_kind::lag_exceeded,
              queue_.empty() ? nullptr : &queue_.front().job,
              "the shadow did not catch up within shadow.lag_bound_ms", phase, true);
      co_return false;
    }
  }
  co_return true;
}

awaitable<void> shadow_link::wait_for_room(std::size_t bytes, std::size_t max_bytes,
                                           clock::time_point deadline, int phase) {
  while (connection_ && queued_bytes_ > 0 && queued_bytes_ + bytes > max_bytes) {
    progress_.expires_at(deadline);
    auto [ec] = co_await progress_.async_wait(use_nothrow);
    if (!ec && queued_bytes_ > 0 && queued_bytes_ + bytes > max_bytes) {
      diverge(divergence_kind::queue_overflow, queue_.empty() ? nullptr : &queue_.front().job,
              "the shadow queue stayed full past shadow.lag_bound_ms", phase, true);
      co_return;
    }
  }
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
  std::vector<std::byte> batch;
  for (;;) {
    while (sent_ == queue_.size()) {
      if (generation != generation_) co_return;
      work_.expires_at(clock::time_point::max());
      (void)co_await work_.async_wait(use_nothrow);
    }
    if (generation != generation_ || !connection_) co_return;
    batch.clear();
    for (std::size_t i = sent_; i < queue_.size(); ++i)
      batch.insert(batch.end(), queue_[i].job.bytes.begin(), queue_[i].job.bytes.end());
    const int phase = queue_.back().phase;
    sent_ = queue_.size();
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
    const bool ok = co_await run_job(front.job, front.phase);
    if (generation != generation_) co_return;  // dropped or released meanwhile
    if (!ok) co_return;
    queued_bytes_ -= queue_.front().job.bytes.size();
    queue_.pop_front();
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

awaitable<bool> shadow_link::run_job(const shadow::shadow_job& job, int phase) {
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
  compare(job, reply, phase);
  co_return true;
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
    diverge(divergence_kind::shadow_error, &job, "the shadow failed where the primary succeeded",
            phase, false, &reply);
    settle();
    return;
  }
  const auto& got = reply.results();
  std::string detail;
  shadow::divergence_kind kind = divergence_kind::tag_mismatch;
  if (got.size() != job.expected.size()) {
    detail = fmt::format("the primary completed {} statements, the shadow {}", job.expected.size(),
                         got.size());
  } else {
    for (std::size_t i = 0; i < got.size() && detail.empty(); ++i) {
      const auto& want = job.expected[i];
      if (got[i].tag != want.tag) {
        detail = fmt::format("command tags differ: primary \"{}\", shadow \"{}\"", want.tag,
                             got[i].tag);
      } else if (want.compare_rows && got[i].rows_hashed && got[i].row_hash != want.row_hash) {
        kind = divergence_kind::rows_mismatch;
        detail = fmt::format("RETURNING rows of \"{}\" differ", want.tag);
      }
    }
  }
  if (!detail.empty()) {
    in_failed_transaction_ = !boundary;
    diverge(kind, &job, std::move(detail), phase, false, &reply);
  }
  settle();
}

void shadow_link::diverge(divergence_kind kind, const shadow::shadow_job* job, std::string detail,
                          int phase, bool lost, const shadow::reply_tracker* reply) {
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
    if (job) {
      if (job->statement.sql) {
        r.statement = *job->statement.sql;
        r.fingerprint = shadow::statement_fingerprint(r.statement);
      }
      r.parameters = job->parameters;
      r.parameter_formats = job->parameter_formats;
      if (!job->expected.empty()) r.primary.tag = job->expected.front().tag;
    }
    if (reply) {
      if (!reply->results().empty()) r.shadow.tag = reply->results().front().tag;
      if (reply->error()) {
        r.shadow.sqlstate = reply->error()->sqlstate;
        r.shadow.message = reply->error()->text;
      }
    }
    shared_.divergence_log->write(r);
  }
  if (lost) drop_connection();
}

}  // namespace dw::proxy
