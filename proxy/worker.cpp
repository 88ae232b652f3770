#include "proxy/worker.hpp"

#include <spdlog/spdlog.h>

#include "proxy/session.hpp"

namespace dw::proxy {

worker::worker(unsigned index, shared_state& shared)
    : index_{index}, shared_{shared}, work_{asio::make_work_guard(context_)} {}

void worker::start_thread() {
  thread_ = std::thread{[this] {
    for (;;) {
      try {
        context_.run();
        return;
      } catch (const std::exception& e) {
        // A session's exceptions are caught in its own completion handler; reaching this
        // point is a bug, but one worker must not take the whole proxy down.
        spdlog::error("worker {}: unexpected exception: {}", index_, e.what());
      }
    }
  }};
}

void worker::join() {
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

void worker::add(session* s) {
  sessions_.insert(s);
  session_count_.store(sessions_.size());
}

void worker::remove(session* s) {
  sessions_.erase(s);
  session_count_.store(sessions_.size());
}

void worker::post_to_each_session(void (session::*action)()) {
  asio::post(context_, [this, action] {
    // Copy: the action may close a session, which removes it from the set.
    std::vector<session*> all(sessions_.begin(), sessions_.end());
    for (session* s : all)
      if (sessions_.contains(s)) (s->*action)();
  });
}

void worker::begin_shutdown() { post_to_each_session(&session::begin_shutdown); }

void worker::close_all() { post_to_each_session(&session::close_all); }

}  // namespace dw::proxy

namespace dw::proxy {

void worker::take_census(std::function<void(session_census)> done) {
  asio::post(context_, [this, done = std::move(done)] {
    session_census census;
    for (session* s : sessions_) {
      ++census.sessions;
      if (s->in_transaction()) ++census.in_transaction;
      census.shadow_backlog += s->shadow_backlog();
      if (s->has_shadow())
        census.max_shadow_lag_ms = std::max<std::int64_t>(census.max_shadow_lag_ms,
                                                          s->shadow_lag().count());
    }
    done(census);
  });
}

void worker::acknowledge_divergences(std::function<void(std::uint64_t)> done) {
  asio::post(context_, [this, done = std::move(done)] {
    std::uint64_t cleared = 0;
    for (session* s : sessions_)
      if (s->acknowledge_divergence()) ++cleared;
    done(cleared);
  });
}

awaitable<void> worker::wait_until_resumed() {
  // The flag is re-checked after every wake-up; resume clears it before posting the wake,
  // and both run on this thread, so a wake cannot slip between check and wait.
  while (shared_.paused.load()) {
    auto [ec] = co_await resume_signal_.async_wait(use_nothrow);
    (void)ec;  // operation_aborted is the wake-up itself
  }
}

void worker::wake_paused_sessions() {
  asio::post(context_, [this] { resume_signal_.cancel(); });
}

}  // namespace dw::proxy
