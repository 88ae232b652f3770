// The divergence log file: line shape read back with Boost.JSON, redaction in the file,
// rotation, concurrent writers, unwritable paths and truncation.
#include "shadow/divergence_log.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/temp_dir.hpp"

#include "tests/shadow/shadow_test_support.hpp"

namespace dw::shadow {
namespace {

using testing::to_bytes;

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::ifstream in{path, std::ios::binary};
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

divergence_record sample_record() {
  divergence_record r;
  r.time = std::chrono::system_clock::time_point{std::chrono::milliseconds{1'700'000'000'123}};
  r.session_id = 42;
  r.client_address = "10.0.0.7:51234";
  r.user = "app";
  r.database = "shop";
  r.phase = 1;
  r.kind = divergence_kind::tag_mismatch;
  r.fingerprint = 0xabcdef0123ULL;
  r.statement = "UPDATE accounts SET secret = $1 WHERE id = $2";
  r.parameters = {to_bytes("hunter2-password"), std::nullopt};
  r.parameter_formats = {0};
  r.primary.tag = "UPDATE 1";
  r.shadow.tag = "UPDATE 0";
  r.detail = "tags differ";
  return r;
}

TEST(divergence_log, line_shape) {
  test::temp_dir dir;
  const auto path = dir.file_path("divergence.jsonl");
  {
    divergence_log log{{.path = path, .redaction = redaction_mode::none}};
    log.write(sample_record());
    EXPECT_EQ(log.stats().records_written, 1U);
    EXPECT_EQ(log.stats().by_kind[static_cast<std::size_t>(divergence_kind::tag_mismatch)], 1U);
  }
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1U);
  const auto v = boost::json::parse(lines[0]).as_object();
  EXPECT_EQ(v.at("time").as_string(), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(v.at("session").to_number<std::uint64_t>(), 42U);
  EXPECT_EQ(v.at("client").as_string(), "10.0.0.7:51234");
  EXPECT_EQ(v.at("user").as_string(), "app");
  EXPECT_EQ(v.at("database").as_string(), "shop");
  EXPECT_EQ(v.at("phase").to_number<int>(), 1);
  EXPECT_EQ(v.at("kind").as_string(), "tag_mismatch");
  EXPECT_EQ(v.at("fingerprint").as_string(), "000000abcdef0123");
  EXPECT_EQ(v.at("statement").as_string(), "UPDATE accounts SET secret = $1 WHERE id = $2");
  const auto& params = v.at("parameters").as_array();
  ASSERT_EQ(params.size(), 2U);
  EXPECT_EQ(params[0].at("format").to_number<int>(), 0);
  EXPECT_EQ(params[0].at("text").as_string(), "hunter2-password");
  EXPECT_TRUE(params[1].is_null());
  EXPECT_EQ(v.at("primary").at("tag").as_string(), "UPDATE 1");
  EXPECT_TRUE(v.at("primary").at("sqlstate").is_null());
  EXPECT_EQ(v.at("shadow").at("tag").as_string(), "UPDATE 0");
  EXPECT_TRUE(v.at("shadow").at("message").is_null());
  EXPECT_EQ(v.at("detail").as_string(), "tags differ");
  EXPECT_EQ(v.at("redaction").as_string(), "none");
  EXPECT_FALSE(v.at("truncated").as_bool());
  EXPECT_FALSE(v.at("shadow").as_object().contains("rolled_back"));
}

TEST(divergence_log, a_shadow_write_rolled_back_is_marked_in_the_shadow_summary) {
  auto r = sample_record();
  r.shadow_rolled_back = true;
  const auto v = boost::json::parse(format_divergence_record(r, {})).as_object();
  EXPECT_TRUE(v.at("shadow").at("rolled_back").as_bool());
}

TEST(divergence_log, values_mode_keeps_parameter_values_out_of_the_file) {
  test::temp_dir dir;
  const auto path = dir.file_path("divergence.jsonl");
  {
    divergence_log log{{.path = path, .redaction = redaction_mode::values}};
    auto r = sample_record();
    r.kind = divergence_kind::shadow_error;
    r.shadow.sqlstate = "22P02";
    r.shadow.message = "invalid input syntax: \"hunter2-password\"";
    log.write(r);
  }
  const std::string text = read_all(path);
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  const auto v = boost::json::parse(read_lines(path).at(0)).as_object();
  EXPECT_EQ(v.at("parameters").at(0).at("redacted").as_string(), "<redacted len=16>");
  EXPECT_EQ(v.at("shadow").at("sqlstate").as_string(), "22P02");
  EXPECT_EQ(v.at("shadow").at("message").as_string(), "invalid input syntax: \"<redacted>\"");
}

TEST(divergence_log, default_mode_also_keeps_statement_literals_out) {
  test::temp_dir dir;
  const auto path = dir.file_path("divergence.jsonl");
  {
    divergence_log log{{.path = path}};
    auto r = sample_record();
    r.statement = "ALTER ROLE app PASSWORD 'hunter2-password'";
    r.parameters.clear();
    r.shadow.message = "something about 'hunter2-password'";
    log.write(r);
  }
  const std::string text = read_all(path);
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_EQ(boost::json::parse(text).at("redaction").as_string(), "values_and_literals");
}

TEST(divergence_log, literals_mode_redacts_statement_in_file) {
  test::temp_dir dir;
  const auto path = dir.file_path("divergence.jsonl");
  {
    divergence_log log{{.path = path, .redaction = redaction_mode::values_and_literals}};
    auto r = sample_record();
    r.statement = "UPDATE accounts SET secret = 'hunter2-password' WHERE id = $1";
    log.write(r);
  }
  const auto v = boost::json::parse(read_lines(path).at(0)).as_object();
  EXPECT_EQ(v.at("statement").as_string(), "UPDATE accounts SET secret = $redacted WHERE id = $1");
  EXPECT_EQ(read_all(path).find("hunter2"), std::string::npos);
}

TEST(divergence_log, rotation_keeps_n_files_newest_in_path) {
  test::temp_dir dir;
  const auto path = dir.file_path("d.jsonl");
  const std::size_t line_size = format_divergence_record(sample_record(), {}).size();
  {
    // Two records per file.
    divergence_log log{{.path = path, .max_bytes = 2 * line_size + 1, .keep_files = 2}};
    for (std::uint64_t i = 1; i <= 9; ++i) {
      auto r = sample_record();
      r.session_id = i;  // one digit, so every line has the same size
      log.write(r);
    }
    EXPECT_EQ(log.stats().rotations, 4U);
    EXPECT_EQ(log.stats().io_errors, 0U);
  }
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"d.jsonl", "d.jsonl.1", "d.jsonl.2"}));
  const auto sessions = [&](const std::filesystem::path& p) {
    std::vector<std::uint64_t> out;
    for (const auto& line : read_lines(p))
      out.push_back(boost::json::parse(line).at("session").to_number<std::uint64_t>());
    return out;
  };
  EXPECT_EQ(sessions(path), (std::vector<std::uint64_t>{9}));
  EXPECT_EQ(sessions(dir.file_path("d.jsonl.1")), (std::vector<std::uint64_t>{7, 8}));
  EXPECT_EQ(sessions(dir.file_path("d.jsonl.2")), (std::vector<std::uint64_t>{5, 6}));
}

TEST(divergence_log, concurrent_writers_write_whole_lines) {
  test::temp_dir dir;
  const auto path = dir.file_path("d.jsonl");
  constexpr int threads = 4, per_thread = 200;
  {
    divergence_log log{{.path = path, .max_bytes = 64 * 1024, .keep_files = 100}};
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t) {
      writers.emplace_back([&log, t] {
        for (int i = 0; i < per_thread; ++i) {
          auto r = sample_record();
          r.session_id = static_cast<std::uint64_t>(t);
          r.detail = std::string(static_cast<std::size_t>(i % 50) * 10, 'x');
          log.write(r);
        }
      });
    }
    for (auto& w : writers) w.join();
    EXPECT_EQ(log.stats().records_written, std::uint64_t{threads * per_thread});
    EXPECT_GT(log.stats().rotations, 0U);
  }
  std::size_t lines = 0;
  for (const auto& name : dir.entries()) {
    const std::string text = read_all(dir.file_path(name));
    ASSERT_TRUE(text.empty() || text.back() == '\n') << name;
    for (const auto& line : read_lines(dir.file_path(name))) {
      boost::system::error_code ec;
      const auto v = boost::json::parse(line, ec);
      ASSERT_FALSE(ec) << name << ": " << line;
      EXPECT_EQ(v.at("kind").as_string(), "tag_mismatch");
      ++lines;
    }
  }
  EXPECT_EQ(lines, std::size_t{threads * per_thread});
}

TEST(divergence_log, unwritable_path_counts_errors_and_does_not_throw) {
  test::temp_dir dir;
  divergence_log log{{.path = dir.file_path("missing/dir/d.jsonl")}};
  auto r = sample_record();
  r.kind = divergence_kind::queue_overflow;
  EXPECT_NO_THROW(log.write(r));
  EXPECT_NO_THROW(log.write(r));
  const auto stats = log.stats();
  EXPECT_EQ(stats.records_written, 0U);
  EXPECT_EQ(stats.records_dropped, 2U);
  EXPECT_GE(stats.io_errors, 2U);
  EXPECT_EQ(stats.last_errno, ENOENT);
  EXPECT_EQ(stats.by_kind[static_cast<std::size_t>(divergence_kind::queue_overflow)], 2U);

  // The directory appearing later is picked up: the open is retried on each write.
  std::filesystem::create_directories(dir.file_path("missing/dir"));
  log.write(r);
  EXPECT_EQ(log.stats().records_written, 1U);
}

TEST(divergence_log, oversized_fields_are_truncated_and_flagged) {
  test::temp_dir dir;
  const auto path = dir.file_path("d.jsonl");
  constexpr std::size_t cap = 1024;
  {
    divergence_log log{{.path = path, .redaction = redaction_mode::none, .max_field_bytes = cap}};
    auto r = sample_record();
    r.statement = "SELECT '" + std::string(10 * cap, 'a') + "'";
    r.parameters.assign(100, to_bytes(std::string(300, 'p')));
    r.parameter_formats.clear();
    r.shadow.message = std::string(3 * cap, 'm');
    log.write(r);
    log.write(sample_record());
    EXPECT_EQ(log.stats().records_truncated, 1U);
  }
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_LT(lines[0].size(), 6 * cap);
  const auto v = boost::json::parse(lines[0]).as_object();
  EXPECT_TRUE(v.at("truncated").as_bool());
  EXPECT_EQ(v.at("statement").as_string().size(), cap);
  EXPECT_EQ(v.at("shadow").at("message").as_string().size(), cap);
  const auto& params = v.at("parameters").as_array();
  ASSERT_EQ(params.size(), 4U);  // 300 + 300 + 300 + 124 bytes fill the budget
  EXPECT_TRUE(params[3].at("truncated").as_bool());
  EXPECT_EQ(params[3].at("len").to_number<int>(), 300);
  EXPECT_EQ(v.at("parameters_omitted").to_number<int>(), 96);
  EXPECT_FALSE(boost::json::parse(lines[1]).at("truncated").as_bool());
}

TEST(divergence_log, invalid_utf8_becomes_valid_json) {
  test::temp_dir dir;
  const auto path = dir.file_path("d.jsonl");
  {
    divergence_log log{{.path = path, .redaction = redaction_mode::none}};
    auto r = sample_record();
    r.statement = "SELECT 'caf\xe9'";  // LATIN1
    r.user = "\xff";
    log.write(r);
  }
  const auto v = boost::json::parse(read_lines(path).at(0)).as_object();
  EXPECT_EQ(v.at("statement").as_string(), "SELECT 'caf\xEF\xBF\xBD'");
  EXPECT_EQ(v.at("user").as_string(), "\xEF\xBF\xBD");
}

}  // namespace
}  // namespace dw::shadow
