// Proxy-wide locks by table name, taken by sessions of any worker (docs/dual-write.md, "What
// row locks cannot order"): a write to a serialised table holds its table's lock from the
// primary's execution until the shadow has executed it too, so both sides run such writes,
// and take their sequence values, in one order. Waiters queue in arrival order; a lock is
// handed to the next waiter directly, on that waiter's own thread.
//
// PostgreSQL cannot see these locks, so it cannot see a deadlock that runs through one: the
// holder's statement waits on the primary for a row lock of the waiter's transaction, while
// the waiter waits here for the holder. So once per check_interval per contended key, one
// of its waiters asks the primary which backends the holder waits for (deadlock_check); each
// waiter looks for its own backend in that answer, and a waiter that finds it gives up, and
// its session fails the statement as PostgreSQL fails one side of a deadlock. One question
// per key, not per waiter: a long queue must not become a stream of connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/asio.hpp"

namespace dw::proxy {

class table_locks {
 public:
  /// The primary backends that backend `holder_pid` waits for, directly or through others;
  /// nullopt: no answer (counts as no cycle).
  using deadlock_check =
      std::function<awaitable<std::optional<std::vector<std::int32_t>>>(std::int32_t holder_pid)>;
  /// PostgreSQL's own deadlock_timeout by default.
  explicit table_locks(std::chrono::milliseconds check_interval = std::chrono::milliseconds{1000})
      : check_interval_{check_interval} {}

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
    // The last answer to deadlock_check for this key, shared by its waiters.
    bool asking = false;
    std::int32_t answered_holder = 0;
    std::chrono::steady_clock::time_point answered_at{};
    std::vector<std::int32_t> holder_waits_for;
  };
  /// What a waiter does after a wait: nothing new to learn, ask the primary, or give up.
  enum class verdict : std::uint8_t { wait, ask, cycle };
  verdict judge(entry& e, std::int32_t my_pid);
  awaitable<bool> lock_one(const std::string& key, std::int32_t my_pid, const deadlock_check& check);
  bool give_up(const std::string& key, const std::shared_ptr<waiter>& me);

  std::chrono::milliseconds check_interval_;
  std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;  // present: held
};

}  // namespace dw::proxy
