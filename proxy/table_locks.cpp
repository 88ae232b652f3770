#include "proxy/table_locks.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

namespace dw::proxy {

awaitable<bool> table_locks::lock(std::span<const std::string> keys, std::int32_t my_pid,
                                  deadlock_check check) {
  for (std::size_t k = 0; k < keys.size(); ++k) {
    const bool taken = co_await lock_one(keys[k], my_pid, check);
    if (!taken) {
      unlock(keys.first(k));
      co_return false;
    }
  }
  co_return true;
}

awaitable<bool> table_locks::lock_one(const std::string& key, std::int32_t my_pid,
                                      const deadlock_check& check) {
  std::shared_ptr<waiter> me;
  {
    std::lock_guard guard{mutex_};
    auto [it, fresh] = entries_.try_emplace(key);
    if (fresh) {
      it->second.holder_pid = my_pid;
      co_return true;
    }
    me = std::make_shared<waiter>(co_await asio::this_coro::executor, my_pid);
    it->second.waiters.push_back(me);
  }
  for (;;) {
    {
      // A hand-over whose wake-up came while the check below was running was lost.
      std::lock_guard guard{mutex_};
      if (me->granted) co_return true;
    }
    me->wake.expires_after(check_interval);
    (void)co_await me->wake.async_wait(use_nothrow);
    std::int32_t holder = 0;
    {
      std::lock_guard guard{mutex_};
      if (me->granted) co_return true;
      holder = entries_.at(key).holder_pid;
    }
    const bool cycle = co_await check(holder);
    if (!cycle) continue;
    std::lock_guard guard{mutex_};
    if (me->granted) co_return true;  // handed over while the check ran: no cycle after all
    auto& waiters = entries_.at(key).waiters;
    waiters.erase(std::find(waiters.begin(), waiters.end(), me));
    co_return false;
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
      e.holder_pid = next->pid;
      next->granted = true;  // ownership passes straight on; the entry stays
    }
    asio::post(next->wake.get_executor(), [next] { next->wake.cancel(); });
  }
}

}  // namespace dw::proxy
