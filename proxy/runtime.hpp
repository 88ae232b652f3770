// Everything a session needs from the process, as one immutable snapshot. The control
// thread builds a new snapshot on reload and swaps it in; sessions keep the one they
// started with (STYLE.md 26), so a reload never changes a live session under its feet.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/ssl/context.hpp>

#include "config/config.hpp"
#include "protocol/frame_decoder.hpp"
#include "proxy/auth_table.hpp"
#include "compare/read_stats.hpp"
#include "shadow/divergence_log.hpp"
#include "shadow/read_sample.hpp"

namespace dw::proxy {

class cancel_registry;
class table_locks;

struct runtime {
  config::config cfg;
  auth_table auth;
  std::shared_ptr<boost::asio::ssl::context> client_tls;  ///< null: SSLRequest answered 'N'
  std::shared_ptr<boost::asio::ssl::context> old_tls;     ///< null: backend TLS disabled
  std::shared_ptr<boost::asio::ssl::context> new_tls;
  protocol::limits client_limits;
  std::vector<std::string> serialize_tables;  ///< shadow.serialize_tables, split
  shadow::read_sampling read_sampling;        ///< shadow_reads.*, parsed
  /// divergence_log.redaction, parsed once: what sampled-read statistics may show.
  shadow::redaction_mode redaction = shadow::redaction_mode::values_and_literals;
  /// Throws std::runtime_error (naming the file) when a certificate or key cannot be loaded.
  [[nodiscard]] static std::shared_ptr<const runtime> build(config::config cfg);
};

/// Which tables take serial or identity values, as the primary's catalog said. Only their
/// inserts need the per-table order (shadow.serialize_sequences). Emptied by any DDL.
class sequence_table_cache {
 public:
  [[nodiscard]] std::optional<bool> find(const std::string& table) const {
    std::lock_guard guard{mutex_};
    auto it = tables_.find(table);
    if (it == tables_.end()) return std::nullopt;
    return it->second;
  }
  void store(const std::string& table, bool has_sequence) {
    std::lock_guard guard{mutex_};
    tables_[table] = has_sequence;
  }
  void clear() {
    std::lock_guard guard{mutex_};
    tables_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, bool> tables_;
};

/// Process-wide state shared by all workers; each field is thread-safe on its own.
struct shared_state {
  std::atomic<std::shared_ptr<const runtime>> current;
  /// steady_clock ticks until which waits for a shadow are cut to shadow.stalled_bound_ms
  /// (set when one ran past shadow.lag_bound_ms).
  std::atomic<std::int64_t> shadow_stalled_until{0};
  cancel_registry* cancels = nullptr;
  table_locks* locks = nullptr;  ///< serialised writes (shadow.serialize_*)
  sequence_table_cache sequence_tables;
  std::atomic<std::size_t> active_clients{0};
  std::atomic<int> phase{0};
  std::atomic<bool> shutting_down{false};
  std::atomic<bool> paused{false};  ///< operator pause: new transactions wait at their boundary
  /// Last backend login per backend (0 = OLD, 1 = NEW), for status: -1 never tried, else
  /// the login's duration in microseconds, negated minus one when it failed.
  std::array<std::atomic<std::int64_t>, 2> last_login_us{-1, -1};

  // Dual-write (phases 1-3).
  std::shared_ptr<shadow::divergence_log> divergence_log;  ///< set before workers start
  /// Sessions whose shadow diverged since the last `dwctl ack`, closed ones included: a
  /// divergence stays visible (and blocks forward moves) until an operator acknowledges it.
  std::atomic<std::uint64_t> diverged_sessions{0};
  std::atomic<std::uint64_t> divergences{0};        ///< divergence events since start
  std::array<std::atomic<std::uint64_t>, shadow::divergence_kind_count> divergences_by_kind{};
  std::atomic<std::size_t> shadow_connections{0};
  std::atomic<std::size_t> finishing_shadows{0};  ///< of ended sessions, still running their queue
  std::atomic<std::uint64_t> shadow_jobs{0};  ///< units the shadows have run
  std::atomic<std::uint64_t> wrapped_writes{0};  ///< autocommit writes wrapped (ordered mode)
  /// Wrapped writes that changed rows only on the shadow, rolled back there.
  std::atomic<std::uint64_t> shadow_rollbacks{0};
  /// Sampled reads cancelled on the shadow because a write waited behind them.
  std::atomic<std::uint64_t> shadow_read_yields{0};
  std::atomic<std::uint64_t> held_commits{0};    ///< COMMITs held for the shadow (ordered mode)
  std::atomic<std::uint64_t> serialization_deadlocks{0};  ///< units failed with 40P01 (table_locks)
  std::atomic<std::uint64_t> flips{0};
  std::atomic<std::int64_t> last_flip_stall_ms{-1};

  // Shadow reads (phases 2-3).
  std::unique_ptr<compare::read_stats> read_stats;  ///< set before workers start
  /// Noise checks (re-runs on the primary) hold one of shadow_reads.max_noise_checks slots;
  /// checks past them wait in line (bounded) instead of being reported unchecked. A check
  /// that ends hands its slot to the first in line.
  std::mutex noise_mutex;
  std::size_t noise_checks = 0;                       ///< slots held; guarded by noise_mutex
  std::deque<std::function<void()>> noise_waiting;   ///< starters; guarded by noise_mutex
};

}  // namespace dw::proxy
