// The state file: JSON round trip, the atomic replace leaving nothing behind, refusal of
// corrupt files with the reason, and the startup decision between file and configuration.
#include "control/state_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/control/control_test_support.hpp"

namespace dw::control {
namespace {

using namespace std::chrono;
using testing::temp_dir;

persisted_state sample() {
  return {phase::cutover, sys_days{2024y / May / 1} + 12h + 34min + 56s + 789ms,
          "2 (shadow-read) -> 3 (cutover), flip", false};
}

TEST(state_file, encodes_every_field_as_json) {
  EXPECT_EQ(encode_state(sample()),
            R"({"version":1,"phase":3,"phase_name":"cutover","updated_at":)"
            R"("2024-05-01T12:34:56.789Z","reason":"2 (shadow-read) -> 3 (cutover), flip",)"
            R"("forced":false})"
            "\n");
}

TEST(state_file, decode_inverts_encode) {
  auto s = sample();
  s.forced = true;
  s.reason = "quotes \" and \\ and \n survive";
  auto back = decode_state(encode_state(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
}

TEST(state_file, save_then_load_round_trip_leaves_only_the_file) {
  temp_dir dir;
  const auto file = dir.file("state.json");
  ASSERT_TRUE(save_state(file, sample()));
  auto second = sample();
  second.current = phase::shadow_read;
  ASSERT_TRUE(save_state(file, second));  // replaces, does not append
  auto loaded = load_state(file);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_TRUE(*loaded);
  EXPECT_EQ(**loaded, second);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"state.json"});
}

TEST(state_file, failed_replace_removes_its_temp_file_and_keeps_the_old_state) {
  temp_dir dir;
  // A non-empty directory where the file should be: rename(2) fails after the temp file was
  // written and fsynced, the latest point a write can fail.
  const auto target = dir.file("state.json");
  std::filesystem::create_directory(target);
  testing::write_file(target / "keep", "x");
  auto r = save_state(target, sample());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot rename"), std::string::npos) << r.error().message;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"state.json"});
  EXPECT_EQ(testing::read_file(target / "keep"), "x");
}

TEST(state_file, missing_directory_is_an_error_naming_it) {
  temp_dir dir;
  auto r = save_state(dir.file("nope") / "state.json", sample());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nope"), std::string::npos);
}

TEST(state_file, missing_file_means_no_state) {
  temp_dir dir;
  auto r = load_state(dir.file("state.json"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
}

struct corrupt_case {
  const char* text;
  const char* reason;
};

TEST(state_file, corrupt_files_are_refused_with_the_reason) {
  const corrupt_case cases[] = {
      {"", "not valid JSON"},
      {"{\"version\":1,", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"phase":3})", "field 'version' is missing"},
      {R"({"version":2,"phase":3})", "format version 2 is not 1"},
      {R"({"version":1,"phase":"3"})", "field 'phase' must be an integer"},
      {R"({"version":1,"phase":7,"phase_name":"x"})", "phase 7 is not 0-4"},
      {R"({"version":1,"phase":3,"phase_name":"shadow-read"})",
       "phase 3 is cutover, but phase_name says 'shadow-read'"},
      {R"({"version":1,"phase":3,"phase_name":"cutover","updated_at":"yesterday"})",
       "field 'updated_at' is not a UTC time"},
      {R"({"version":1,"phase":3,"phase_name":"cutover","updated_at":"2024-02-30T00:00:00.000Z"})",
       "field 'updated_at' is not a UTC time"},
      {R"({"version":1,"phase":3,"phase_name":"cutover","updated_at":"2024-05-01T12:34:56.789Z"})",
       "field 'reason' is missing"},
      {R"({"version":1,"phase":3,"phase_name":"cutover","updated_at":"2024-05-01T12:34:56.789Z",)"
       R"("reason":"r","forced":"no"})",
       "field 'forced' must be true or false"},
  };
  temp_dir dir;
  const auto file = dir.file("state.json");
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    testing::write_file(file, c.text);
    auto r = load_state(file);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("state file " + file.string() + " is corrupt"),
              std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("will not guess"), std::string::npos);
  }
}

TEST(state_file, oversized_file_is_refused) {
  temp_dir dir;
  testing::write_file(dir.file("state.json"), std::string(100'000, ' '));
  auto r = load_state(dir.file("state.json"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("larger than"), std::string::npos);
}

TEST(state_file, utc_times_round_trip_and_reject_other_forms) {
  const auto t = sample().updated_at;
  EXPECT_EQ(format_utc(t), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(parse_utc("2024-05-01T12:34:56.789Z"), t);
  EXPECT_EQ(parse_utc("2024-05-01 12:34:56.789Z"), std::nullopt);
  EXPECT_EQ(parse_utc("2024-05-01T24:00:00.000Z"), std::nullopt);
  // Outside what system_clock holds (found by fuzz_control_text: 7702 overflowed).
  EXPECT_EQ(parse_utc("7702-11-21T12:34:56.789Z"), std::nullopt);
  EXPECT_EQ(parse_utc("1969-12-31T23:59:59.999Z"), std::nullopt);
  EXPECT_NE(parse_utc("2261-12-31T23:59:59.999Z"), std::nullopt);
  EXPECT_EQ(parse_utc("2024-05-01T12:34:56Z"), std::nullopt);
  EXPECT_EQ(parse_utc("2024-05-01T12:34:56.789+01:00"), std::nullopt);
}

// --- startup -------------------------------------------------------------------------------

config::config config_with(int phase, const std::string& state_file, bool new_backend = true) {
  config::config c;
  c.phase = phase;
  c.state_file = state_file;
  if (new_backend) {
    config::backend b;
    b.name = "new";
    c.new_backend = b;
  }
  return c;
}

TEST(startup_phase, no_state_file_configured_uses_the_config_phase) {
  auto r = load_startup_phase(config_with(2, ""));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->state.current, phase::shadow_read);
  EXPECT_FALSE(r->from_state_file);
}

TEST(startup_phase, missing_file_uses_the_config_phase) {
  temp_dir dir;
  auto r = load_startup_phase(config_with(1, dir.file("state.json").string()));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->state.current, phase::dual_write);
  EXPECT_FALSE(r->from_state_file);
}

TEST(startup_phase, the_state_file_wins_over_the_config) {
  temp_dir dir;
  ASSERT_TRUE(save_state(dir.file("state.json"), sample()));
  auto r = load_startup_phase(config_with(0, dir.file("state.json").string()));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->state, sample());
  EXPECT_TRUE(r->from_state_file);
}

TEST(startup_phase, corrupt_file_stops_startup) {
  temp_dir dir;
  testing::write_file(dir.file("state.json"), "{garbage");
  auto r = load_startup_phase(config_with(0, dir.file("state.json").string()));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("is corrupt"), std::string::npos);
}

TEST(startup_phase, persisted_phase_needing_new_without_it_stops_startup) {
  temp_dir dir;
  ASSERT_TRUE(save_state(dir.file("state.json"), sample()));
  auto r = load_startup_phase(config_with(0, dir.file("state.json").string(), false));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("says phase 3 (cutover), which needs backends.new"),
            std::string::npos);
}

TEST(startup_phase, unwritable_state_directory_stops_startup) {
  if (::geteuid() == 0) GTEST_SKIP() << "root may write anywhere";
  temp_dir dir;
  std::filesystem::create_directory(dir.file("ro"));
  ::chmod(dir.file("ro").c_str(), 0500);
  auto r = load_startup_phase(config_with(0, (dir.file("ro") / "state.json").string()));
  ::chmod(dir.file("ro").c_str(), 0700);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("is not writable"), std::string::npos);
}

}  // namespace
}  // namespace dw::control
