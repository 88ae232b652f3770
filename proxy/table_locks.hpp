// Proxy-wide locks by table name, taken by sessions of any worker (docs/dual-write.md, "What
// row locks cannot order"): a write to a serialised table holds its table's lock from the
// primary's execution until the shadow has executed it too, so both sides run such writes,
// and take their sequence values, in one order. Waiters queue in arrival order; a lock is
// handed to the next waiter directly, on that waiter's own thread.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>

#include "proxy/asio.hpp"

namespace dw::proxy {

class table_locks {
 public:
  /// Takes every lock in `keys` (sorted, so that all sessions take them in one order).
  [[nodiscard]] awaitable<void> lock(std::span<const std::string> keys);
  void unlock(std::span<const std::string> keys);

 private:
  struct waiter {
    explicit waiter(const asio::any_io_executor& ex) : wake{ex, asio::steady_timer::time_point::max()} {}
    asio::steady_timer wake;
    bool granted = false;  // written under mutex_, read on the waiter's thread after the wake
  };
  struct entry {
    bool held = false;
    std::deque<std::shared_ptr<waiter>> waiters;
  };
  awaitable<void> lock_one(const std::string& key);

  std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
};

}  // namespace dw::proxy
