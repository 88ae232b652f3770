// The read-diff side of control/ (issue 4): the `diffs` command on the wire and in dwctl, the
// read totals and automatic actions in status, the rollback triggers, and the checker that
// moves phase 3 back to phase 2 through the command queue.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "control/cli.hpp"
#include "control/control_protocol.hpp"
#include "control/rollback_trigger.hpp"
#include "control/state_file.hpp"
#include "tests/control/server_harness.hpp"

namespace dw::control::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

compare::sample_totals totals(std::uint64_t samples, std::uint64_t mismatches, double old_p99,
                              double new_p99) {
  compare::sample_totals t;
  t.samples = samples;
  t.mismatches = mismatches;
  t.matches = samples - mismatches;
  t.old_latency = {samples, old_p99 / 2, old_p99};
  t.new_latency = {samples, new_p99 / 2, new_p99};
  return t;
}

std::optional<persisted_state> saved_state(const std::filesystem::path& file) {
  auto r = load_state(file);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : std::nullopt;
}

diffs_report sample_report() {
  diffs_report r;
  r.totals = totals(1000, 7, 1.5, 2.0);
  r.totals.noise = 3;
  r.totals.skipped = 11;
  r.window = totals(200, 2, 1.0, 1.2);
  r.window_span = 600s;
  compare::fingerprint_stats f;
  f.fingerprint = 0xabcdef0123456789ULL;
  f.statement = "SELECT name FROM items WHERE id = $1";
  f.samples = 40;
  f.matches = 33;
  f.mismatches = 7;
  f.old_latency = {40, 0.3, 0.9};
  f.new_latency = {40, 0.4, 1.9};
  compare::sample_example e;
  e.statement = f.statement;
  e.parameters = "$1 = <redacted>";
  e.detail = "row set differs: 1 row only on the primary, 1 only on the shadow";
  e.primary = "SELECT 1";
  e.shadow = "SELECT 1";
  e.primary_rows = {"(apple)"};
  e.shadow_rows = {"(Apple)"};
  e.at = std::chrono::sys_days{} + 2500ms;
  f.last_mismatch = e;
  e.noisy_columns = {"now"};
  f.last_noise = e;
  r.worst = {f, compare::fingerprint_stats{}};
  return r;
}

TEST(read_diffs_request, parses_limit_and_reset) {
  EXPECT_EQ(parse_request("diffs").value(), (request{.cmd = command::diffs}));
  EXPECT_EQ(parse_request("diffs --limit 3 --reset").value(),
            (request{.cmd = command::diffs, .limit = 3, .reset = true}));
  for (const auto& r : {request{.cmd = command::diffs}, request{.cmd = command::diffs, .limit = 100},
                        request{.cmd = command::diffs, .limit = 1, .reset = true}}) {
    const auto line = write_request(r);
    EXPECT_EQ(parse_request(std::string_view{line}.substr(0, line.size() - 1)).value(), r) << line;
  }
  for (const auto& bad : {"diffs --limit", "diffs --limit 0", "diffs --limit 101",
                          "diffs --limit x", "diffs --reset --reset", "diffs now"})
    EXPECT_FALSE(parse_request(bad)) << bad;
  EXPECT_FALSE(is_mutating(command::diffs)) << "a report must not wait behind a flip";
}

TEST(read_diffs_response, report_status_and_auto_actions_round_trip) {
  const response diffs{true, {}, diffs_data{sample_report(), true}};
  const auto line = write_response(diffs);
  auto back = parse_response(command::diffs, line);
  ASSERT_TRUE(back) << back.error().message << "\n" << line;
  EXPECT_TRUE(*back == diffs) << line;
  const auto o = json::parse(line).as_object();
  EXPECT_EQ(o.at("worst").as_array()[0].as_object().at("fingerprint"), "abcdef0123456789");
  EXPECT_EQ(o.at("totals").as_object().at("mismatch_rate"), 0.007);
  EXPECT_EQ(o.at("window_s"), 600);

  status_data s;
  s.last_move.updated_at = std::chrono::sys_days{} + 1ms;
  s.proxy.read_totals = sample_report().totals;
  s.proxy.rollback_window = totals(60, 1, 1.0, 3.0);
  s.auto_actions = {{std::chrono::sys_days{} + 3s, phase::cutover, phase::shadow_read,
                     "NEW's p99 ...", true, "done in 12 ms"}};
  const response status{true, {}, s};
  auto status_back = parse_response(command::status, write_response(status));
  ASSERT_TRUE(status_back) << status_back.error().message;
  EXPECT_TRUE(*status_back == status) << write_response(status);
}

TEST(rollback_trigger, fires_on_mismatch_rate_or_latency_with_the_numbers) {
  const rollback_bounds b{.max_mismatch_rate = 0.01, .latency_ratio = 2.0, .min_samples = 50,
                          .window = 60s};
  EXPECT_FALSE(rollback_reason(totals(49, 49, 1, 100), b)) << "too few samples: no verdict";
  EXPECT_FALSE(rollback_reason(totals(100, 1, 1.0, 1.9), b));
  const auto rate = rollback_reason(totals(100, 2, 1.0, 1.0), b);
  ASSERT_TRUE(rate);
  EXPECT_NE(rate->find("2.00% (2 of 100 sampled reads in the last 60 s)"), std::string::npos)
      << *rate;
  const auto slow = rollback_reason(totals(100, 0, 1.0, 2.5), b);
  ASSERT_TRUE(slow);
  EXPECT_NE(slow->find("2.50 ms is 2.5x OLD's 1.00 ms"), std::string::npos) << *slow;
  auto off = b;
  off.latency_ratio = 0;
  EXPECT_FALSE(rollback_reason(totals(100, 0, 1.0, 50), off)) << "ratio 0 turns it off";
  compare::sample_totals no_old = totals(100, 0, 0, 50);
  no_old.old_latency = {};
  EXPECT_FALSE(rollback_reason(no_old, b)) << "nothing to compare NEW with";
}

TEST_F(server_test, diffs_reports_limits_and_resets) {
  proxy.diffs = sample_report();  // before start(): nothing else touches the fake yet
  start(phase::shadow_read);
  auto r = send(request{.cmd = command::diffs, .limit = 1});
  ASSERT_TRUE(r.ok) << r.error;
  const auto& d = std::get<diffs_data>(r.data);
  EXPECT_EQ(d.report.worst.size(), 1u);
  EXPECT_FALSE(d.reset);
  auto reset = send(request{.cmd = command::diffs, .reset = true});
  ASSERT_TRUE(reset.ok) << reset.error;
  EXPECT_TRUE(std::get<diffs_data>(reset.data).reset);
  EXPECT_EQ(std::get<diffs_data>(reset.data).report.totals.samples, 1000u) << "reported, then reset";
  EXPECT_TRUE(proxy.wait_for_event("reset diffs"));
  auto after = send(request{.cmd = command::diffs});
  EXPECT_EQ(std::get<diffs_data>(after.data).report.totals.samples, 0u);
}

TEST_F(server_test, automatic_rollback_moves_cutover_back_and_says_why) {
  service_opts.rollback.automatic = true;
  service_opts.rollback.check_interval = 20ms;
  proxy.update([](status_snapshot& s) { s.rollback_window = totals(100, 0, 1.0, 5.0); });
  start(phase::cutover);
  ASSERT_TRUE(proxy.wait_for_event("move 3->2 done"));
  const auto st = send(request{.cmd = command::status});
  ASSERT_TRUE(st.ok) << st.error;
  const auto& s = std::get<status_data>(st.data);
  EXPECT_EQ(s.proxy.current, phase::shadow_read);
  ASSERT_EQ(s.auto_actions.size(), 1u);
  EXPECT_TRUE(s.auto_actions[0].ok) << s.auto_actions[0].outcome;
  EXPECT_NE(s.auto_actions[0].reason.find("5.0x OLD's"), std::string::npos)
      << s.auto_actions[0].reason;
  EXPECT_NE(s.last_move.reason.find("automatic rollback"), std::string::npos)
      << s.last_move.reason;
  const auto saved = saved_state(service_opts.state_file);
  ASSERT_TRUE(saved);
  EXPECT_EQ(saved->current, phase::shadow_read);
  // Once in phase 2 the checker stays quiet: exactly one move happened.
  EXPECT_EQ(proxy.plans().size(), 1u);
}

TEST_F(server_test, no_rollback_without_the_option_or_below_the_bounds) {
  service_opts.rollback.automatic = true;
  service_opts.rollback.check_interval = 10ms;
  proxy.update([](status_snapshot& s) { s.rollback_window = totals(100, 0, 1.0, 1.5); });
  start(phase::cutover);
  // Several checks run while the window is healthy; status is answered between them.
  for (int i = 0; i < 5; ++i) (void)send(request{.cmd = command::status});
  EXPECT_FALSE(proxy.wait_for_event("move 3->2", 200ms));
  EXPECT_TRUE(std::get<status_data>(send(request{.cmd = command::status}).data).auto_actions.empty());
}

TEST(dwctl_cli, diffs_takes_limit_and_reset_and_nothing_else) {
  const auto parse = [](std::vector<std::string_view> args) { return parse_cli(args, nullptr); };
  auto ok = parse({"diffs", "--limit", "5", "--reset"});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->req, (request{.cmd = command::diffs, .limit = 5, .reset = true}));
  EXPECT_FALSE(parse({"status", "--reset"}));
  EXPECT_FALSE(parse({"diffs", "--limit", "0"}));
  EXPECT_FALSE(parse({"diffs", "extra"}));
}

TEST(dwctl_cli, human_diffs_show_the_worst_shape_side_by_side) {
  std::ostringstream out;
  render_human(command::diffs, {true, {}, diffs_data{sample_report(), false}}, out);
  const auto text = out.str();
  EXPECT_NE(text.find("1000 compared: 993 match, 7 mismatch (0.70%), 3 noise; 11 skipped"),
            std::string::npos) << text;
  EXPECT_NE(text.find("abcdef0123456789"), std::string::npos) << text;
  EXPECT_NE(text.find("(apple)"), std::string::npos) << text;
  EXPECT_NE(text.find("| (Apple)"), std::string::npos) << text;
  EXPECT_NE(text.find("$1 = <redacted>"), std::string::npos) << text;
  EXPECT_NE(text.find("columns that change between primary runs: now"), std::string::npos) << text;
}

}  // namespace
}  // namespace dw::control::testing
