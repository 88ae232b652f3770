#include "proxy/table_locks.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

namespace dw::proxy {

awaitable<void> table_locks::lock(std::span<const std::string> keys) {
  for (const auto& key : keys) co_await lock_one(key);
}

awaitable<void> table_locks::lock_one(const std::string& key) {
  std::shared_ptr<waiter> me;
  {
    std::lock_guard guard{mutex_};
    entry& e = entries_[key];
    if (!e.held) {
      e.held = true;
      co_return;
    }
    me = std::make_shared<waiter>(co_await asio::this_coro::executor);
    e.waiters.push_back(me);
  }
  for (;;) {
    (void)co_await me->wake.async_wait(use_nothrow);
    std::lock_guard guard{mutex_};
    if (me->granted) co_return;
  }
}

void table_locks::unlock(std::span<const std::string> keys) {
  for (const auto& key : keys) {
    std::shared_ptr<waiter> next;
    {
      std::lock_guard guard{mutex_};
      auto it = entries_.find(key);
      if (it == entries_.end()) continue;
      entry& e = it->second;
      if (e.waiters.empty()) {
        entries_.erase(it);
        continue;
      }
      next = std::move(e.waiters.front());
      e.waiters.pop_front();
      next->granted = true;  // ownership passes straight on; `held` stays true
    }
    asio::post(next->wake.get_executor(), [next] { next->wake.cancel(); });
  }
}

}  // namespace dw::proxy
