// rollback_reason(): the two triggers, each worded with the numbers that fired it.
#include "control/rollback_trigger.hpp"

#include <fmt/format.h>

namespace dw::control {

std::optional<std::string> rollback_reason(const compare::sample_totals& window,
                                           const rollback_bounds& bounds) {
  if (window.samples == 0 || window.samples < bounds.min_samples) return std::nullopt;
  std::string why;
  const double rate = window.mismatch_rate();
  if (rate > bounds.max_mismatch_rate) {
    why = fmt::format(
        "read mismatch rate {:.2f}% ({} of {} sampled reads in the last {} s) exceeds "
        "rollback.max_mismatch_rate {:.2f}%",
        rate * 100, window.mismatches, window.samples, bounds.window.count(),
        bounds.max_mismatch_rate * 100);
  }
  const double old_p99 = window.old_latency.p99_ms;
  const double new_p99 = window.new_latency.p99_ms;
  if (bounds.latency_ratio > 0 && window.old_latency.count > 0 && window.new_latency.count > 0 &&
      old_p99 > 0 && new_p99 > bounds.latency_ratio * old_p99) {
    if (!why.empty()) why += "; ";
    why += fmt::format(
        "NEW's p99 read latency {:.2f} ms is {:.1f}x OLD's {:.2f} ms over the last {} s "
        "(rollback.latency_ratio {:.1f})",
        new_p99, new_p99 / old_p99, old_p99, bounds.window.count(), bounds.latency_ratio);
  }
  if (why.empty()) return std::nullopt;
  return why;
}

}  // namespace dw::control
