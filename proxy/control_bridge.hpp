// proxy/'s side of the control interface (control::proxy_control): status gathered from
// every worker, and the operator pause that holds new transactions at their boundaries.
// Phase moves set the phase that sessions adopt at their next transaction boundary; a flip
// first pauses new transactions, drains in-flight ones and every shadow queue, and only then
// moves (DESIGN.md, "The phases").
#pragma once

#include <memory>
#include <vector>

#include "control/metrics.hpp"
#include "control/proxy_control.hpp"
#include "proxy/runtime.hpp"

namespace dw::proxy {

class worker;

class control_bridge final : public control::proxy_control {
 public:
  control_bridge(shared_state& shared, std::vector<std::unique_ptr<worker>>& workers)
      : shared_{shared}, workers_{workers} {}

  void status(std::function<void(control::status_snapshot)> done) override;
  void move_phase(const control::move_plan& plan, std::chrono::steady_clock::time_point deadline,
                  std::function<void(control::outcome<control::move_report>)> done) override;
  void pause(std::function<void(control::outcome<control::pause_report>)> done) override;
  void resume(std::function<void(control::outcome<bool>)> done) override;
  void acknowledge_divergences(std::function<void(control::outcome<std::uint64_t>)> done) override;
  void read_diffs(std::size_t limit,
                  std::function<void(control::outcome<control::diffs_report>)> done) override;
  void reset_read_diffs(std::function<void(control::outcome<void>)> done) override;

  /// The proxy's own counters for /metrics, summed over workers (any thread).
  [[nodiscard]] std::vector<control::metric_sample> metrics() const;

 private:
  struct census_total {
    std::uint64_t sessions = 0;
    std::uint64_t in_transaction = 0;
    std::uint64_t shadow_backlog = 0;
    std::int64_t max_shadow_lag_ms = -1;
  };
  /// The flip's pause-drain-move-resume, on its own thread (it waits; the control thread
  /// must stay free for status and resume).
  void run_flip(control::move_plan plan, std::chrono::steady_clock::time_point deadline,
                std::function<void(control::outcome<control::move_report>)> done);
  [[nodiscard]] census_total count_sessions_now();
  /// The sampled-read totals, the 2->3 gate's window and the rollback window.
  void put_read_totals(control::status_snapshot& s) const;
  /// Asks every worker for its counts; `done` runs on the last worker to answer.
  void count_sessions(std::function<void(census_total)> done);

  shared_state& shared_;
  std::vector<std::unique_ptr<worker>>& workers_;
};

}  // namespace dw::proxy
