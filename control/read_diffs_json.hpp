// The JSON of the sampled-read statistics (internal to control/): the `diffs` answer, and the
// read totals inside `status`. Field names are public contract, shared by the control socket,
// `dwctl --json diffs` and GET /diffs:
//
//   totals  = {"samples", "matches", "mismatches", "noise", "skipped", "mismatch_rate",
//              "old_latency": latency, "new_latency": latency}
//   latency = {"count", "p50_ms", "p99_ms"}
//   diffs   = {"totals": totals, "window": totals, "window_s", "worst": [shape], "reset"}
//   shape   = {"fingerprint": "16 hex digits", "statement", the counters of totals,
//              "old_latency", "new_latency", "last_mismatch": example|null, "last_noise": ...}
//   example = {"at", "statement", "parameters", "detail", "primary", "shadow",
//              "primary_rows": [..], "shadow_rows": [..], "noisy_columns": [..]}
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "control/failure.hpp"
#include "control/proxy_control.hpp"

namespace dw::control::read_diffs_json {

[[nodiscard]] boost::json::object totals_json(const compare::sample_totals& t);
[[nodiscard]] outcome<compare::sample_totals> totals_fields(const boost::json::object& o);

/// Adds the report's keys to `o`.
void put_report(boost::json::object& o, const diffs_report& r);
[[nodiscard]] outcome<diffs_report> report_fields(const boost::json::object& o);

}  // namespace dw::control::read_diffs_json
