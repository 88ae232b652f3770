// plan_move() against DESIGN.md: every (from, to) pair with and without --force, then each
// gate with the numbers its refusal must name.
#include "control/phase_machine.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace dw::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

enum class expect { none, forward, rollback, skips, no_rollback, needs_force };

struct move_row {
  int from;
  int to;
  expect without_force;
  expect with_force;
  bool flip = false;
  bool attach = false;
  bool detach = false;
};

// The whole table: 25 pairs. Gates all pass here; they are tested below.
const move_row table[] = {
    {0, 0, expect::none, expect::none},
    {0, 1, expect::forward, expect::forward, false, true, false},
    {0, 2, expect::skips, expect::skips},
    {0, 3, expect::skips, expect::skips},
    {0, 4, expect::skips, expect::skips},
    {1, 0, expect::rollback, expect::rollback, false, false, true},
    {1, 1, expect::none, expect::none},
    {1, 2, expect::forward, expect::forward},
    {1, 3, expect::skips, expect::skips},
    {1, 4, expect::skips, expect::skips},
    {2, 0, expect::no_rollback, expect::no_rollback},
    {2, 1, expect::rollback, expect::rollback},
    {2, 2, expect::none, expect::none},
    {2, 3, expect::forward, expect::forward, true, false, false},
    {2, 4, expect::skips, expect::skips},
    {3, 0, expect::no_rollback, expect::no_rollback},
    {3, 1, expect::rollback, expect::rollback, true, false, false},
    {3, 2, expect::rollback, expect::rollback, true, false, false},
    {3, 3, expect::none, expect::none},
    {3, 4, expect::forward, expect::forward, false, false, true},
    {4, 0, expect::no_rollback, expect::no_rollback},
    {4, 1, expect::no_rollback, expect::no_rollback},
    {4, 2, expect::no_rollback, expect::no_rollback},
    {4, 3, expect::needs_force, expect::rollback, false, true, false},
    {4, 4, expect::none, expect::none},
};

phase p(int n) { return *phase_from_number(n); }

void check_row(const move_row& row, bool force) {
  SCOPED_TRACE(testing::Message() << row.from << " -> " << row.to << (force ? " --force" : ""));
  const expect want = force ? row.with_force : row.without_force;
  auto r = plan_move(p(row.from), p(row.to), force, gate_inputs{}, gate_bounds{});
  switch (want) {
    case expect::skips:
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().reason, refusal_reason::skips_phases);
      EXPECT_NE(r.error().message.find("one phase at a time"), std::string::npos);
      return;
    case expect::no_rollback:
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().reason, refusal_reason::no_such_rollback);
      return;
    case expect::needs_force:
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().reason, refusal_reason::leaves_cleanup);
      EXPECT_NE(r.error().message.find("--force"), std::string::npos);
      return;
    default:
      break;
  }
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->from, p(row.from));
  EXPECT_EQ(r->to, p(row.to));
  const move_kind kind = want == expect::none      ? move_kind::none
                         : want == expect::forward ? move_kind::forward
                                                   : move_kind::rollback;
  EXPECT_EQ(r->kind, kind);
  EXPECT_EQ(r->flip, row.flip);
  EXPECT_EQ(r->attach_shadows, row.attach);
  EXPECT_EQ(r->detach_shadows, row.detach);
  // Only leaving cleanup needs force when the gates pass; force alone marks nothing.
  EXPECT_EQ(r->forced, row.from == 4 && row.to == 3);
  EXPECT_TRUE(r->overridden.empty());
}

TEST(phase_machine, every_move_of_the_table) {
  ASSERT_EQ(std::size(table), 25u);
  for (const auto& row : table) {
    check_row(row, false);
    check_row(row, true);
  }
}

TEST(phase_machine, refusal_messages_point_the_way) {
  auto skip = plan_move(phase::passthrough, phase::cutover, true, {}, {});
  ASSERT_FALSE(skip);
  EXPECT_EQ(skip.error().message,
            "cannot move 0 (passthrough) -> 3 (cutover): forward moves go one phase at a time "
            "(next is 1 (dual-write))");
  auto back = plan_move(phase::shadow_read, phase::passthrough, false, {}, {});
  ASSERT_FALSE(back);
  EXPECT_NE(back.error().message.find("step through the phases in between"), std::string::npos);
  auto from_cleanup = plan_move(phase::cleanup, phase::dual_write, true, {}, {});
  ASSERT_FALSE(from_cleanup);
  EXPECT_NE(from_cleanup.error().message.find("the only way back from cleanup is 4 -> 3"),
            std::string::npos);
  EXPECT_THROW((void)skip.value(), std::runtime_error);
}

TEST(phase_machine, names_and_parsing) {
  EXPECT_EQ(phase_name(phase::passthrough), "passthrough");
  EXPECT_EQ(phase_name(phase::dual_write), "dual-write");
  EXPECT_EQ(phase_name(phase::shadow_read), "shadow-read");
  EXPECT_EQ(phase_name(phase::cutover), "cutover");
  EXPECT_EQ(phase_name(phase::cleanup), "cleanup");
  EXPECT_EQ(describe(phase::cutover), "3 (cutover)");
  EXPECT_EQ(parse_phase("3"), phase::cutover);
  EXPECT_EQ(parse_phase("shadow-read"), phase::shadow_read);
  EXPECT_EQ(parse_phase("5"), std::nullopt);
  EXPECT_EQ(parse_phase("-1"), std::nullopt);
  EXPECT_EQ(parse_phase("3x"), std::nullopt);
  EXPECT_EQ(parse_phase(""), std::nullopt);
  EXPECT_EQ(parse_phase("Cutover"), std::nullopt);
  EXPECT_EQ(phase_from_number(4), phase::cleanup);
  EXPECT_EQ(phase_from_number(5), std::nullopt);
}

// --- gates ---------------------------------------------------------------------------------

gate_inputs diverged(std::uint64_t n) {
  gate_inputs in;
  in.diverged_sessions = n;
  return in;
}

TEST(phase_gates, diverged_sessions_refuse_forward_moves_with_the_count) {
  auto r = plan_move(phase::dual_write, phase::shadow_read, false, diverged(2), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, refusal_reason::gates_failed);
  ASSERT_EQ(r.error().gates.size(), 1u);
  const gate_failure g = r.error().gates[0];  // error() returns a copy: do not bind a reference
  EXPECT_EQ(g.which, gate::diverged_sessions);
  EXPECT_EQ(g.value, 2);
  EXPECT_EQ(g.bound, 0);
  EXPECT_EQ(r.error().message,
            "cannot move 1 (dual-write) -> 2 (shadow-read): 2 session(s) have a diverged shadow "
            "(allowed: 0); read the divergence log, then acknowledge with `dwctl ack`; use "
            "--force to override");
}

TEST(phase_gates, force_overrides_and_records_what_it_overrode) {
  auto r = plan_move(phase::dual_write, phase::shadow_read, true, diverged(2), {});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->forced);
  ASSERT_EQ(r->overridden.size(), 1u);
  EXPECT_EQ(r->overridden[0].which, gate::diverged_sessions);
  EXPECT_EQ(r->summary(),
            "1 (dual-write) -> 2 (shadow-read), forced past: 2 session(s) have a diverged shadow "
            "(allowed: 0); read the divergence log, then acknowledge with `dwctl ack`");
}

TEST(phase_gates, shadow_lag_beyond_the_bound_refuses_and_at_the_bound_passes) {
  gate_inputs in;
  in.shadow_lag = milliseconds{2500};
  auto r = plan_move(phase::shadow_read, phase::cutover, false, in, {});
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().gates.size(), 1u);
  EXPECT_EQ(r.error().gates[0].which, gate::shadow_lag);
  EXPECT_EQ(r.error().gates[0].value, 2500);
  EXPECT_EQ(r.error().gates[0].bound, 1000);
  EXPECT_NE(r.error().message.find("shadow lag 2500 ms exceeds the bound of 1000 ms"),
            std::string::npos);
  in.shadow_lag = milliseconds{1000};
  EXPECT_TRUE(plan_move(phase::shadow_read, phase::cutover, false, in, {}));
}

TEST(phase_gates, every_failing_gate_is_named) {
  gate_inputs in = diverged(1);
  in.shadow_lag = milliseconds{5000};
  auto r = plan_move(phase::dual_write, phase::shadow_read, false, in, {});
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().gates.size(), 2u);
  EXPECT_EQ(r.error().gates[0].which, gate::diverged_sessions);
  EXPECT_EQ(r.error().gates[1].which, gate::shadow_lag);
  EXPECT_NE(r.error().message.find("1 session(s)"), std::string::npos);
  EXPECT_NE(r.error().message.find("5000 ms"), std::string::npos);
}

TEST(phase_gates, rollbacks_are_never_gated) {
  gate_inputs bad = diverged(7);
  bad.shadow_lag = milliseconds{60'000};
  bad.read_diffs = gate_inputs::diffs{10, 10};
  for (auto [from, to] : {std::pair{3, 2}, {3, 1}, {2, 1}, {1, 0}}) {
    auto r = plan_move(p(from), p(to), false, bad, {});
    ASSERT_TRUE(r) << from << " -> " << to;
    EXPECT_EQ(r->kind, move_kind::rollback);
    EXPECT_FALSE(r->forced);
  }
}

TEST(phase_gates, entering_dual_write_has_nothing_to_measure) {
  EXPECT_TRUE(plan_move(phase::passthrough, phase::dual_write, false, diverged(3), {}));
}

TEST(phase_gates, diff_rate_gates_cutover_and_cleanup) {
  gate_inputs in;
  in.read_diffs = gate_inputs::diffs{600, 3};
  for (auto [from, to] : {std::pair{2, 3}, {3, 4}}) {
    auto r = plan_move(p(from), p(to), false, in, {});
    ASSERT_FALSE(r);
    ASSERT_EQ(r.error().gates.size(), 1u);
    EXPECT_EQ(r.error().gates[0].which, gate::diff_rate);
    EXPECT_DOUBLE_EQ(r.error().gates[0].value, 0.005);
    EXPECT_NE(r.error().message.find("read diff rate 0.50% (3 of 600 sampled reads differed) "
                                     "exceeds 0.00%"),
              std::string::npos);
  }
  gate_bounds lenient;
  lenient.max_diff_rate = 0.01;
  EXPECT_TRUE(plan_move(phase::shadow_read, phase::cutover, false, in, lenient));
  // Shadow-read itself is where diffs are collected; entering it is not diff-gated.
  EXPECT_TRUE(plan_move(phase::dual_write, phase::shadow_read, false, in, {}));
}

TEST(phase_gates, min_samples_gate_only_leaving_shadow_read) {
  gate_bounds b;
  b.min_diff_samples = 100;
  gate_inputs in;
  in.read_diffs = gate_inputs::diffs{12, 0};
  auto r = plan_move(phase::shadow_read, phase::cutover, false, in, b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().gates.at(0).which, gate::diff_samples);
  EXPECT_NE(r.error().message.find("only 12 sampled read(s) compared; cutover needs at least 100"),
            std::string::npos);
  // No diff statistics at all (issue 4 not wired) count as zero samples when samples are required.
  auto none = plan_move(phase::shadow_read, phase::cutover, false, gate_inputs{}, b);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().gates.at(0).value, 0);
  EXPECT_TRUE(plan_move(phase::cutover, phase::cleanup, false, in, b));
}

TEST(phase_gates, verification_freshness_when_required) {
  gate_bounds b;
  b.max_verification_age = seconds{3600};
  auto missing = plan_move(phase::shadow_read, phase::cutover, false, gate_inputs{}, b);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().gates.at(0).which, gate::verification);
  EXPECT_NE(missing.error().message.find("no table verification report was found"), std::string::npos);

  gate_inputs in;
  in.last_verification = gate_inputs::verification{seconds{7200}, true};
  auto stale = plan_move(phase::cutover, phase::cleanup, false, in, b);
  ASSERT_FALSE(stale);
  EXPECT_NE(stale.error().message.find("the last table verification is 7200 s old (limit 3600 s)"),
            std::string::npos);

  in.last_verification = gate_inputs::verification{seconds{60}, false};
  auto failed = plan_move(phase::shadow_read, phase::cutover, false, in, b);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("the last table verification failed"), std::string::npos);

  in.last_verification = gate_inputs::verification{seconds{60}, true};
  EXPECT_TRUE(plan_move(phase::shadow_read, phase::cutover, false, in, b));
  // Not required by default, and never for entering shadow-read.
  EXPECT_TRUE(plan_move(phase::shadow_read, phase::cutover, false, gate_inputs{}, {}));
  EXPECT_TRUE(plan_move(phase::dual_write, phase::shadow_read, false, gate_inputs{}, b));
}

TEST(phase_gates, check_gates_lists_what_blocks_the_next_move) {
  gate_inputs in = diverged(1);
  EXPECT_TRUE(check_gates(phase::dual_write, in, {}).empty());
  EXPECT_EQ(check_gates(phase::shadow_read, in, {}).size(), 1u);
  EXPECT_EQ(gate_name(gate::shadow_lag), "shadow_lag");
}

}  // namespace
}  // namespace dw::control
