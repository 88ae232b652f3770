// The move table and the gates of DESIGN.md, as data plus two small functions. Every message
// here reaches an operator through dwctl, so each one names the numbers and the way out.
#include "control/phase_machine.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <stdexcept>

namespace dw::control {
namespace {

constexpr std::array<std::string_view, phase_count> names = {"passthrough", "dual-write",
                                                             "shadow-read", "cutover", "cleanup"};

/// Who answers the client in each phase; a move that changes it is a flip.
constexpr std::array<bool, phase_count> new_is_primary = {false, false, false, true, true};
/// Whether a shadow receives state-changing traffic in each phase.
constexpr std::array<bool, phase_count> has_shadow = {false, true, true, true, false};

constexpr std::size_t index(phase p) noexcept { return static_cast<std::size_t>(p); }

/// Backward moves DESIGN.md allows, as (from, to). 4 -> 3 is special-cased: it needs force.
constexpr std::array<std::pair<phase, phase>, 4> rollbacks = {{
    {phase::cutover, phase::shadow_read},
    {phase::cutover, phase::dual_write},
    {phase::shadow_read, phase::dual_write},
    {phase::dual_write, phase::passthrough},
}};

bool is_listed_rollback(phase from, phase to) noexcept {
  for (const auto& [f, t] : rollbacks)
    if (f == from && t == to) return true;
  return false;
}

void check_divergence_and_lag(const gate_inputs& in, const gate_bounds& b,
                              std::vector<gate_failure>& out) {
  if (in.diverged_sessions > 0) {
    out.push_back({gate::diverged_sessions, static_cast<double>(in.diverged_sessions), 0,
                   fmt::format("{} session(s) have a diverged shadow (allowed: 0); read the "
                               "divergence log, then acknowledge with `dwctl ack`",
                               in.diverged_sessions)});
  }
  if (in.shadow_lag && *in.shadow_lag > b.max_shadow_lag) {
    out.push_back({gate::shadow_lag, static_cast<double>(in.shadow_lag->count()),
                   static_cast<double>(b.max_shadow_lag.count()),
                   fmt::format("shadow lag {} ms exceeds the bound of {} ms",
                               in.shadow_lag->count(), b.max_shadow_lag.count())});
  }
}

void check_diffs(phase to, const gate_inputs& in, const gate_bounds& b,
                 std::vector<gate_failure>& out) {
  // Reads are sampled in shadow-read; leaving it for cutover is when the sample count matters.
  const std::uint64_t samples = in.read_diffs ? in.read_diffs->samples : 0;
  if (to == phase::cutover && samples < b.min_diff_samples) {
    out.push_back({gate::diff_samples, static_cast<double>(samples),
                   static_cast<double>(b.min_diff_samples),
                   fmt::format("only {} sampled read(s) compared; cutover needs at least {}",
                               samples, b.min_diff_samples)});
  }
  if (!in.read_diffs || in.read_diffs->samples == 0) return;
  const double rate =
      static_cast<double>(in.read_diffs->mismatches) / static_cast<double>(in.read_diffs->samples);
  if (rate > b.max_diff_rate) {
    out.push_back({gate::diff_rate, rate, b.max_diff_rate,
                   fmt::format("read diff rate {:.2f}% ({} of {} sampled reads differed) "
                               "exceeds {:.2f}%",
                               rate * 100, in.read_diffs->mismatches, in.read_diffs->samples,
                               b.max_diff_rate * 100)});
  }
}

void check_verification(const gate_inputs& in, const gate_bounds& b,
                        std::vector<gate_failure>& out) {
  if (!b.max_verification_age) return;
  const auto limit = static_cast<double>(b.max_verification_age->count());
  if (!in.last_verification) {
    out.push_back({gate::verification, -1, limit,
                   "no table verification report was found; run `dwctl verify --report "
                   "<gates.verify_report>` before this move"});
  } else if (!in.last_verification->passed) {
    out.push_back({gate::verification, static_cast<double>(in.last_verification->age.count()),
                   limit,
                   "the last table verification failed (OLD and NEW differ); repair, then verify "
                   "again"});
  } else if (in.last_verification->age > *b.max_verification_age) {
    out.push_back(
        {gate::verification, static_cast<double>(in.last_verification->age.count()), limit,
         fmt::format("the last table verification is {} s old (limit {} s)",
                     in.last_verification->age.count(), b.max_verification_age->count())});
  }
}

std::string join_messages(const std::vector<gate_failure>& gates) {
  std::string out;
  for (const auto& g : gates) {
    if (!out.empty()) out += "; ";
    out += g.message;
  }
  return out;
}

refusal refuse(refusal_reason reason, std::string message, std::vector<gate_failure> gates = {}) {
  return refusal{reason, std::move(gates), std::move(message)};
}

}  // namespace

std::string_view phase_name(phase p) noexcept { return names.at(index(p)); }

std::optional<phase> phase_from_number(long n) noexcept {
  if (n < 0 || n >= phase_count) return std::nullopt;
  return static_cast<phase>(n);
}

std::optional<phase> parse_phase(std::string_view text) noexcept {
  long n = 0;
  const auto* end = text.data() + text.size();
  if (auto [p, ec] = std::from_chars(text.data(), end, n); ec == std::errc{} && p == end)
    return phase_from_number(n);
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) return static_cast<phase>(i);
  return std::nullopt;
}

std::string describe(phase p) { return fmt::format("{} ({})", phase_number(p), phase_name(p)); }

std::string_view gate_name(gate g) noexcept {
  switch (g) {
    case gate::diverged_sessions:
      return "diverged_sessions";
    case gate::shadow_lag:
      return "shadow_lag";
    case gate::diff_rate:
      return "diff_rate";
    case gate::diff_samples:
      return "diff_samples";
    case gate::verification:
      return "verification";
  }
  return "unknown";
}

std::vector<gate_failure> check_gates(phase to, const gate_inputs& in, const gate_bounds& bounds) {
  std::vector<gate_failure> out;
  // Entering dual-write attaches the first shadow: there is nothing to measure yet.
  if (to == phase::passthrough || to == phase::dual_write) return out;
  check_divergence_and_lag(in, bounds, out);
  if (to == phase::cutover || to == phase::cleanup) {
    check_diffs(to, in, bounds, out);
    check_verification(in, bounds, out);
  }
  return out;
}

std::string move_plan::summary() const {
  std::string s = describe(from) + " -> " + describe(to);
  if (kind == move_kind::none) s += ", already there";
  if (kind == move_kind::rollback) s += ", rollback";
  if (flip) s += ", flip";
  if (attach_shadows) s += ", attach shadows";
  if (detach_shadows) s += ", detach shadows";
  if (forced) s += ", forced";
  if (!overridden.empty()) s += " past: " + join_messages(overridden);
  return s;
}

void throw_exception_from_error(const refusal& r, const boost::source_location& /*loc*/) {
  throw std::runtime_error(r.message);
}

boost::system::result<move_plan, refusal> plan_move(phase current, phase target, bool force,
                                                    const gate_inputs& inputs,
                                                    const gate_bounds& bounds) {
  move_plan plan;
  plan.from = current;
  plan.to = target;
  if (current == target) return plan;

  const std::string move = describe(current) + " -> " + describe(target);
  if (target > current) {
    if (phase_number(target) != phase_number(current) + 1) {
      return refuse(refusal_reason::skips_phases,
                    fmt::format("cannot move {}: forward moves go one phase at a time (next is {})",
                                move, describe(static_cast<phase>(phase_number(current) + 1))));
    }
    auto failing = check_gates(target, inputs, bounds);
    if (!failing.empty() && !force) {
      // Built first: argument evaluation order would let the move below empty `failing`.
      auto message =
          fmt::format("cannot move {}: {}; use --force to override", move, join_messages(failing));
      return refuse(refusal_reason::gates_failed, std::move(message), std::move(failing));
    }
    plan.kind = move_kind::forward;
    plan.forced = !failing.empty();
    plan.overridden = std::move(failing);
  } else if (current == phase::cleanup && target == phase::cutover) {
    if (!force) {
      return refuse(refusal_reason::leaves_cleanup,
                    fmt::format("cannot move {} without --force: OLD stopped receiving writes in "
                                "cleanup, so it is behind NEW and must be brought up to date first",
                                move));
    }
    plan.kind = move_kind::rollback;
    plan.forced = true;
  } else if (is_listed_rollback(current, target)) {
    plan.kind = move_kind::rollback;
  } else if (current == phase::cleanup) {
    return refuse(refusal_reason::no_such_rollback,
                  fmt::format("cannot move {}: the only way back from cleanup is 4 -> 3, "
                              "with --force",
                              move));
  } else {
    return refuse(refusal_reason::no_such_rollback,
                  fmt::format("cannot move {}: rollback goes 3 -> 2 or 1, 2 -> 1, 1 -> 0; "
                              "step through the phases in between",
                              move));
  }
  plan.flip = new_is_primary[index(current)] != new_is_primary[index(target)];
  plan.attach_shadows = !has_shadow[index(current)] && has_shadow[index(target)];
  plan.detach_shadows = has_shadow[index(current)] && !has_shadow[index(target)];
  return plan;
}

}  // namespace dw::control
