// Retrying work that lost a lock race: a lock timeout, a deadlock or a serialization failure
// (compare::is_retryable) means the transaction was rolled back and can simply run again.
// The copier and the repair bound their lock waits deliberately, so such failures are normal
// under live writes; anything else is thrown to the caller.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

#include "compare/pg_connection.hpp"

namespace dw::migrate {

/// 20 ms doubling to 1 s: a lock held by a client is usually gone within milliseconds.
[[nodiscard]] inline std::chrono::milliseconds retry_backoff(int attempt) {
  return std::chrono::milliseconds{std::min(1000, 20 << std::min(attempt, 6))};
}

/// Runs `work` until it succeeds, calling on_retry() before each new attempt (after a pause);
/// gives up with the last error after `max_retries` retries.
template <class Work, class OnRetry>
auto with_retries(int max_retries, Work&& work, OnRetry&& on_retry) {
  for (int attempt = 0;; ++attempt) {
    try {
      return work();
    } catch (const compare::pg_error& e) {
      if (e.connection_failed() || !compare::is_retryable(e) || attempt >= max_retries) throw;
      on_retry();
      std::this_thread::sleep_for(retry_backoff(attempt));
    }
  }
}

}  // namespace dw::migrate
