// Backfill's checkpoint (migrate/checkpoint): the JSON round trip keeps every key exactly
// (quotes, unicode, NULL-free composite keys), a damaged file is refused with a reason, and a
// file written for other backends is never used to skip rows.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "migrate/checkpoint.hpp"

namespace dw::migrate {
namespace {

checkpoint_state sample() {
  checkpoint_state s;
  s.old_endpoint = "old:5432/app as u";
  s.new_endpoint = "new:5432/app as u";
  s.tables[{"public", "accounts"}] = {compare::key_value{"41"}, 41, 4100, false};
  s.tables[{"Sales", "Q1 \"big\" deals"}] = {compare::key_value{"a\"b", "日本 ü", ""}, 7, 70,
                                             false};
  s.tables[{"public", "done"}] = {std::nullopt, 5, 50, true};
  s.tables[{"public", "not started"}] = {};
  return s;
}

TEST(checkpoint_json, round_trips_every_table_and_key_exactly) {
  const auto s = sample();
  EXPECT_EQ(parse_checkpoint(checkpoint_json(s)), s);
}

TEST(checkpoint_json, refuses_what_is_not_a_checkpoint) {
  auto json = checkpoint_json(sample());
  for (const std::string& bad :
       {std::string{""}, std::string{"[]"}, std::string{"{\"format\":\"other\"}"},
        json.substr(0, json.size() / 2),
        std::string{"{\"format\":\"dwctl-backfill/1\",\"old\":\"o\",\"new\":\"n\",\"tables\":"
                    "[{\"schema\":\"s\",\"name\":\"t\",\"after\":[1],\"rows\":1,\"bytes\":1,"
                    "\"done\":false}]}"},
        std::string{"{\"format\":\"dwctl-backfill/1\",\"old\":\"o\",\"new\":\"n\",\"tables\":"
                    "[{\"schema\":\"s\",\"name\":\"t\",\"after\":null,\"rows\":-1,\"bytes\":1,"
                    "\"done\":false}]}"}})
    EXPECT_THROW((void)parse_checkpoint(bad), std::runtime_error) << bad;
}

class checkpoint_file : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dw-checkpoint-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  [[nodiscard]] std::filesystem::path file() const { return dir_ / "cp.json"; }

  std::filesystem::path dir_;
};

TEST_F(checkpoint_file, a_new_run_resumes_where_the_last_one_recorded) {
  {
    checkpoint cp{file(), "O", "N", false};
    EXPECT_FALSE(cp.resumed());
    cp.record({"public", "t"}, {compare::key_value{"10"}, 10, 100, false});
    cp.record({"public", "t"}, {compare::key_value{"20"}, 20, 200, false});
  }
  checkpoint again{file(), "O", "N", false};
  EXPECT_TRUE(again.resumed());
  EXPECT_EQ(again.get({"public", "t"}), (table_progress{compare::key_value{"20"}, 20, 200, false}));
  EXPECT_EQ(again.get({"public", "other"}), table_progress{});
  again.remove();
  EXPECT_FALSE(std::filesystem::exists(file()));
}

TEST_F(checkpoint_file, other_backends_or_a_damaged_file_are_refused_unless_restarting) {
  checkpoint{file(), "O", "N", false}.record({"public", "t"}, {compare::key_value{"1"}, 1, 1, false});
  try {
    checkpoint other{file(), "O", "elsewhere", false};
    FAIL() << "a checkpoint for other backends was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find("--restart"), std::string::npos) << e.what();
  }
  checkpoint fresh{file(), "O", "elsewhere", true};
  EXPECT_FALSE(fresh.resumed());
  EXPECT_EQ(fresh.get({"public", "t"}), table_progress{});

  std::ofstream{file(), std::ios::trunc} << "{\"format\":";
  EXPECT_THROW((checkpoint{file(), "O", "N", false}), std::runtime_error);
}

TEST_F(checkpoint_file, a_file_over_the_size_bound_is_refused_without_being_read) {
  checkpoint{file(), "O", "N", false}.record({"public", "t"}, {compare::key_value{"1"}, 1, 1, false});
  std::filesystem::resize_file(file(), max_checkpoint_bytes + 1);  // sparse: nothing written
  try {
    checkpoint big{file(), "O", "N", false};
    FAIL() << "a checkpoint over the size bound was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find("larger than 64 MiB"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dw::migrate
