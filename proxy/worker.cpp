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

void worker::begin_shutdown() {
  asio::post(context_, [this] {
    // Copy: begin_shutdown may close a session, which removes it from the set.
    std::vector<session*> all(sessions_.begin(), sessions_.end());
    for (session* s : all)
      if (sessions_.contains(s)) s->begin_shutdown();
  });
}

void worker::close_all() {
  asio::post(context_, [this] {
    std::vector<session*> all(sessions_.begin(), sessions_.end());
    for (session* s : all)
      if (sessions_.contains(s)) s->close_all();
  });
}

}  // namespace dw::proxy
