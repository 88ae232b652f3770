// Proxy-wide locks by table name, taken by sessions of any worker (docs/dual-write.md, "What
// row locks cannot order"): a write to a serialised table holds its table's lock from the
// primary's execution until the shadow has executed it too, so both sides run such writes,
// and take their sequence values, in one order. Waiters queue in arrival order; a lock is
// handed to the next waiter directly, on that waiter's own thread.
//
// PostgreSQL cannot see these locks, so it cannot see a deadlock that runs through one: the
// holder's statement waits on the primary for a row lock of the waiter's transaction, while
// the waiter waits here for the holder. A waiter therefore asks, every check_interval, whether
// the holder's backend waits for its own (deadlock_check); if so it gives up, and the session
// fails its statement as PostgreSQL fails one side of a deadlock.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>

#include "proxy/asio.hpp"

namespace dw::proxy {

class table_locks {
 public:
  /// Whether the primary backend `holder_pid` waits, directly or through others, for the
  /// asking session's own backend. Unknown counts as no.
  using deadlock_check = std::function<awaitable<bool>(std::int32_t holder_pid)>;
  static constexpr std::chrono::milliseconds check_interval{1000};  // PostgreSQL's deadlock_timeout

  /// Takes every lock in `keys` (sorted, so that all sessions take them in one order) for the
  /// session whose primary backend is `my_pid`. False: a deadlock was found, and no lock is
  /// held.
  [[nodiscard]] awaitable<bool> lock(std::span<const std::string> keys, std::int32_t my_pid,
                                     deadlock_check check);
  void unlock(std::span<const std::string> keys);

 private:
  struct waiter {
    waiter(const asio::any_io_executor& ex, std::int32_t backend_pid) : wake{ex}, pid{backend_pid} {}
    asio::steady_timer wake;
    std::int32_t pid;
    bool granted = false;  // written under mutex_, read on the waiter's thread after the wake
  };
  struct entry {
    std::int32_t holder_pid = 0;
    std::deque<std::shared_ptr<waiter>> waiters;
  };
  awaitable<bool> lock_one(const std::string& key, std::int32_t my_pid, const deadlock_check& check);

  std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;  // present: held
};

}  // namespace dw::proxy
