// The automatic rollback's decision (rollback.automatic, phase 3): from the sampled reads of a
// recent window, whether NEW has shown itself unfit to keep answering clients. Pure: the
// command service takes the window from the proxy's status and carries the rollback out.
//
// Two triggers, from the rollback decision tree operators follow: the read mismatch rate above
// its bound, or NEW's p99 read latency above latency_ratio times OLD's (both measured on the
// same sampled reads, whichever backend was primary). Fewer than min_samples reads in the
// window give no verdict: a handful of slow reads must not flip the migration back.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "compare/read_stats.hpp"

namespace dw::control {

struct rollback_bounds {
  double max_mismatch_rate = 0.01;   ///< mismatches / samples above this fires
  double latency_ratio = 2.0;        ///< NEW p99 above this times OLD p99 fires; 0: off
  std::uint64_t min_samples = 50;    ///< fewer samples in the window: no verdict
  std::chrono::seconds window{60};   ///< what the totals cover (for the message)
};

/// Why a rollback is due, with the numbers; nullopt when none is.
[[nodiscard]] std::optional<std::string> rollback_reason(const compare::sample_totals& window,
                                                         const rollback_bounds& bounds);

}  // namespace dw::control
