// What control/ needs from the running proxy, as an abstract interface that proxy/ implements
// (STYLE.md 1: control never links proxy). Calls are asynchronous with a completion callback,
// so the header needs no Asio and a fake in tests can answer from any thread.
//
// Contract for every method:
// - control_server calls it on its own executor and never runs two mutating calls at once
//   (move_phase, pause, resume, acknowledge_divergences are serialized); status() may be
//   called at any time, also while a move is running.
// - `done` is called exactly once, from any thread, possibly before the method returns.
// - Methods added after the first release have a default that fails with "not supported", so
//   an older implementation keeps compiling; read_diffs and reset_read_diffs are such.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "compare/read_stats.hpp"
#include "control/failure.hpp"
#include "control/phase_machine.hpp"

namespace dw::control {

struct backend_status {
  std::string name;  ///< "old" or "new"
  std::string role;  ///< "primary", "shadow" or "idle" (configured, carries no traffic)
  bool reachable = false;
  std::optional<double> latency_ms;  ///< last measured round trip; nullopt: never measured

  friend bool operator==(const backend_status&, const backend_status&) = default;
};

/// One consistent look at the proxy, taken on request.
struct status_snapshot {
  phase current = phase::passthrough;
  bool paused = false;               ///< new transactions wait at their boundary
  std::uint64_t sessions = 0;        ///< client sessions open
  std::uint64_t in_transaction = 0;  ///< of those, inside a transaction right now
  std::vector<backend_status> backends;
  gate_inputs gates;              ///< diverged sessions, shadow lag, diffs, verification
  std::uint64_t divergences = 0;  ///< divergence events recorded since start
  compare::sample_totals read_totals;  ///< sampled reads since start or the last reset
  /// Sampled reads over the last rollback.window_s, what the automatic rollback judges;
  /// nullopt: not measured (no read statistics).
  std::optional<compare::sample_totals> rollback_window;

  friend bool operator==(const status_snapshot&, const status_snapshot&) = default;
};

/// How a completed move went.
struct move_report {
  std::chrono::milliseconds took{0};        ///< request to resume
  std::chrono::milliseconds paused_for{0};  ///< longest time new transactions were held (flips)

  friend bool operator==(const move_report&, const move_report&) = default;
};

struct pause_report {
  bool changed = false;         ///< false: already paused (idempotent)
  std::uint64_t in_flight = 0;  ///< transactions still running; they finish, new ones wait

  friend bool operator==(const pause_report&, const pause_report&) = default;
};

/// `diffs`: the sampled-read statistics, worst query shapes first.
struct diffs_report {
  compare::sample_totals totals;  ///< since start or the last reset
  compare::sample_totals window;  ///< over the last window_span (the 2->3 gate's window)
  std::chrono::seconds window_span{0};
  std::vector<compare::fingerprint_stats> worst;

  friend bool operator==(const diffs_report&, const diffs_report&) = default;
};

class proxy_control {
 public:
  virtual ~proxy_control() = default;

  virtual void status(std::function<void(status_snapshot)> done) = 0;

  /// Carries out an allowed plan (never a no-op one). A flip stops admitting new transactions
  /// at their boundaries, drains in-flight ones, waits for shadow lag 0, swaps primary and
  /// shadow in every session, and resumes; attach_shadows opens shadows at each session's next
  /// boundary with its tracked state replayed. The proxy must finish by `deadline`: past it, it
  /// abandons the move, resumes traffic untouched and fails with the reason. An operator pause
  /// that was in force before the move is still in force after it.
  virtual void move_phase(const move_plan& plan, std::chrono::steady_clock::time_point deadline,
                          std::function<void(outcome<move_report>)> done) = 0;

  /// Stops admitting new transactions (they wait at their boundary, nobody is refused). Answers
  /// at once without waiting for the drain, so a resume is never stuck behind it.
  virtual void pause(std::function<void(outcome<pause_report>)> done) = 0;

  /// Admits transactions again. The bool is false when nothing was paused (idempotent).
  virtual void resume(std::function<void(outcome<bool>)> done) = 0;

  /// Clears every session's diverged mark once the operator has read the divergence log, so
  /// the gates open again. It repairs nothing on NEW: table verification finds what differs.
  /// Yields how many marks were cleared (0: nothing to do, idempotent).
  virtual void acknowledge_divergences(std::function<void(outcome<std::uint64_t>)> done) = 0;

  /// The read-diff statistics with at most `limit` query shapes, worst first.
  virtual void read_diffs(std::size_t /*limit*/, std::function<void(outcome<diffs_report>)> done) {
    done(fail("read diffs are not supported by this proxy"));
  }

  /// Forgets the read-diff statistics (counters, windows, examples, learnt noise).
  virtual void reset_read_diffs(std::function<void(outcome<void>)> done) {
    done(fail("read diffs are not supported by this proxy"));
  }
};

}  // namespace dw::control
