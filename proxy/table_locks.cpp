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

table_locks::verdict table_locks::judge(entry& e, std::int32_t my_pid) {
  const bool fresh = e.answered_holder == e.holder_pid &&
                     std::chrono::steady_clock::now() - e.answered_at < check_interval_;
  if (fresh) {
    const auto& pids = e.holder_waits_for;
    return std::find(pids.begin(), pids.end(), my_pid) != pids.end() ? verdict::cycle : verdict::wait;
  }
  if (e.asking) return verdict::wait;  // another waiter's question is under way
  e.asking = true;
  return verdict::ask;
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
      // A hand-over whose wake-up came while a question was under way was lost.
      std::lock_guard guard{mutex_};
      if (me->granted) co_return true;
    }
    me->wake.expires_after(check_interval_);
    (void)co_await me->wake.async_wait(use_nothrow);
    verdict v = verdict::wait;
    std::int32_t holder = 0;
    {
      std::lock_guard guard{mutex_};
      if (me->granted) co_return true;
      entry& e = entries_.at(key);  // held while anyone waits for it
      holder = e.holder_pid;
      v = judge(e, my_pid);
    }
    if (v == verdict::ask) {
      std::optional<std::vector<std::int32_t>> answer = co_await check(holder);
      std::lock_guard guard{mutex_};
      entry& e = entries_.at(key);
      e.asking = false;
      e.answered_holder = holder;
      e.answered_at = std::chrono::steady_clock::now();
      e.holder_waits_for = answer.value_or(std::vector<std::int32_t>{});
      v = !me->granted && e.holder_pid == holder ? judge(e, my_pid) : verdict::wait;
    }
    if (v == verdict::cycle && give_up(key, me)) co_return false;
  }
}

bool table_locks::give_up(const std::string& key, const std::shared_ptr<waiter>& me) {
  std::lock_guard guard{mutex_};
  if (me->granted) return false;  // handed over meanwhile: no cycle after all
  auto& waiters = entries_.at(key).waiters;
  waiters.erase(std::find(waiters.begin(), waiters.end(), me));
  return true;
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
