// The verification gate (issue 5): the report file `dwctl verify --report` writes decides
// whether 2 -> 3 may go ahead. Reading the file (missing, not a report, failed, passed, its
// age), the configuration that turns the gate on, and moves refused or allowed through the
// control server with a fake proxy.
#include <gtest/gtest.h>

#include "compare/verify_report.hpp"
#include "config/config_loader.hpp"
#include "control/command_service.hpp"
#include "tests/control/server_harness.hpp"

namespace dw::control {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;
using testing::server_test;

/// A real report as dwctl verify writes it, finished at `finished`.
void write_report(const std::filesystem::path& file, bool passed, system_clock::time_point finished) {
  compare::verify_report r;
  r.started = finished - 5s;
  r.finished = finished;
  r.old_endpoint = "old:5432/app as u";
  r.new_endpoint = "new:5432/app as u";
  compare::table_comparison t;
  t.table = {"public", "accounts"};
  t.key = {"id"};
  t.rows_old = t.rows_new = 10;
  t.chunks = 1;
  if (!passed) {
    t.differing_chunks = 1;
    t.rows.push_back({compare::row_difference_kind::different, {"7"}});
  }
  r.tables.push_back(t);
  ASSERT_EQ(r.passed(), passed);
  compare::write_file_atomically(file, compare::report_json(r, 100));
}

TEST(verification_gate, a_missing_or_foreign_file_counts_as_no_verification) {
  testing::temp_dir dir;
  const auto now = system_clock::now();
  EXPECT_FALSE(read_verification(dir.file("none.json"), now));
  testing::write_file(dir.file("garbage.json"), "{not json");
  EXPECT_FALSE(read_verification(dir.file("garbage.json"), now));
  testing::write_file(dir.file("other.json"), R"({"passed":true,"finished_at_unix":1})");
  EXPECT_FALSE(read_verification(dir.file("other.json"), now));
  // A time system_clock cannot hold, and a file over the size bound (sparse, never read).
  testing::write_file(dir.file("far.json"),
                      R"({"format":"dwctl-verify/1","passed":true,"finished_at_unix":9223372036854775807})");
  EXPECT_FALSE(read_verification(dir.file("far.json"), now));
  write_report(dir.file("big.json"), true, now);
  ASSERT_TRUE(read_verification(dir.file("big.json"), now));
  std::filesystem::resize_file(dir.file("big.json"), compare::max_verify_report_bytes + 1);
  EXPECT_FALSE(read_verification(dir.file("big.json"), now));
}

TEST(verification_gate, a_report_gives_its_verdict_and_age) {
  testing::temp_dir dir;
  const auto now = system_clock::now();
  write_report(dir.file("v.json"), true, now - 90s);
  auto v = read_verification(dir.file("v.json"), now);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->passed);
  EXPECT_GE(v->age, 89s);
  EXPECT_LE(v->age, 91s);

  write_report(dir.file("v.json"), false, now - 10s);
  v = read_verification(dir.file("v.json"), now);
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->passed);

  // Another host's clock ahead of ours: brand new, not negative.
  write_report(dir.file("v.json"), true, now + 3600s);
  v = read_verification(dir.file("v.json"), now);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->age, 0s);
}

TEST(verification_gate, configuration_turns_it_on) {
  const auto off = service_options_from(
      config::load_yaml_string("backends:\n  old: { host: a, user: u }\n", "t.yaml"));
  EXPECT_FALSE(off.gates.max_verification_age);
  EXPECT_TRUE(off.verify_report.empty());
  const auto on = service_options_from(config::load_yaml_string(
      "gates: { verify_report: /tmp/v.json, verify_max_age_minutes: 30 }\n"
      "backends:\n  old: { host: a, user: u }\n",
      "t.yaml"));
  ASSERT_TRUE(on.gates.max_verification_age);
  EXPECT_EQ(*on.gates.max_verification_age, std::chrono::minutes{30});
  EXPECT_EQ(on.verify_report, "/tmp/v.json");
}

class gate_test : public server_test {
 protected:
  void SetUp() override {
    server_test::SetUp();
    service_opts.verify_report = dir.file("verify.json");
    service_opts.gates.max_verification_age = std::chrono::minutes{10};
  }
  response cutover(bool force = false) { return send({command::phase, phase::cutover, force}); }
};

TEST_F(gate_test, cutover_needs_a_recent_passed_verification) {
  start(phase::shadow_read);
  auto r = cutover();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("no table verification report was found"), std::string::npos) << r.error;

  write_report(service_opts.verify_report, false, system_clock::now());
  r = cutover();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("the last table verification failed"), std::string::npos) << r.error;

  write_report(service_opts.verify_report, true, system_clock::now() - 11min);
  r = cutover();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("s old (limit 600 s)"), std::string::npos) << r.error;
  ASSERT_EQ(std::get<move_data>(r.data).refused_by.size(), 1u);
  EXPECT_EQ(std::get<move_data>(r.data).refused_by[0].which, gate::verification);
  EXPECT_TRUE(proxy.plans().empty());

  write_report(service_opts.verify_report, true, system_clock::now() - 1min);
  const auto status = send({command::status});
  const auto& s = std::get<status_data>(status.data);
  ASSERT_TRUE(s.proxy.gates.last_verification);
  EXPECT_TRUE(s.proxy.gates.last_verification->passed);
  EXPECT_TRUE(s.next_blocked_by.empty());
  r = cutover();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(std::get<move_data>(r.data).current, phase::cutover);
}

TEST_F(gate_test, force_overrides_a_failed_verification_and_entering_2_is_not_gated) {
  write_report(service_opts.verify_report, false, system_clock::now());
  start(phase::dual_write);
  ASSERT_TRUE(send({command::phase, phase::shadow_read, false}).ok);
  auto r = cutover(true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(std::get<move_data>(r.data).forced);
}

}  // namespace
}  // namespace dw::control
