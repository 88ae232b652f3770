// The command line of dwctl verify / backfill / repair (migrate/data_options): what parses,
// and that every mistake is refused with a message naming it rather than ignored.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "migrate/data_cli.hpp"
#include "migrate/data_options.hpp"

namespace dw::migrate {
namespace {

data_options parse(std::vector<std::string_view> args) { return parse_data_options(args); }

std::string error_of(std::vector<std::string_view> args) {
  try {
    (void)parse(args);
  } catch (const usage_error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(data_options, reads_each_commands_options) {
  const auto v = parse({"--json", "verify", "--old", "postgresql://a", "--new", "postgresql://b",
                        "--tables", "a, Sales.\"Big, Table\"", "--tables", "c", "--jobs", "4",
                        "--chunk-rows", "500", "--chunk-time-ms", "0", "--max-rate", "1000",
                        "--report", "r.json", "--recheck", "0"});
  EXPECT_EQ(v.command, data_command::verify);
  EXPECT_TRUE(v.json);
  EXPECT_EQ(v.connection.old_uri, "postgresql://a");
  ASSERT_EQ(v.tables.size(), 3u);
  EXPECT_EQ(v.tables[1].schema, "sales");
  EXPECT_EQ(v.tables[1].name, "Big, Table");
  EXPECT_EQ(v.jobs, 4u);
  EXPECT_EQ(v.chunking.initial_rows, 500u);
  EXPECT_FALSE(v.chunking.adaptive);
  EXPECT_EQ(v.max_rate, 1000);
  EXPECT_EQ(v.report, "r.json");
  EXPECT_EQ(v.recheck, 0);

  const auto b = parse({"backfill", "--config", "p.yaml", "--checkpoint", "cp.json", "--restart",
                        "--lock-timeout-ms", "50", "--sequences-only"});
  EXPECT_EQ(b.command, data_command::backfill);
  EXPECT_EQ(b.connection.config_file, "p.yaml");
  EXPECT_EQ(b.checkpoint, "cp.json");
  EXPECT_TRUE(b.restart);
  EXPECT_TRUE(b.sequences_only);
  EXPECT_FALSE(b.sequences) << "moving sequences while dual-write runs is opt-in";
  EXPECT_EQ(b.lock_timeout, std::chrono::milliseconds{50});

  const auto r = parse({"repair", "--config", "p.yaml", "--apply", "--reverse", "--log", "x"});
  EXPECT_TRUE(r.apply);
  EXPECT_TRUE(r.reverse);
  EXPECT_EQ(r.log, "x");
  EXPECT_FALSE(parse({"repair", "--config", "p"}).apply) << "repair is a dry run by default";
}

TEST(data_options, refuses_mistakes_with_a_message_naming_them) {
  EXPECT_EQ(error_of({"verify", "--jobs"}), "--jobs needs a value");
  EXPECT_EQ(error_of({"verify", "--jobs", "--json"}), "--jobs needs a value");
  EXPECT_EQ(error_of({"verify", "--jobs", "two"}), "--jobs needs a number, got 'two'");
  EXPECT_EQ(error_of({"verify", "--jobs", "0"}), "--jobs must be 1-64");
  EXPECT_EQ(error_of({"verify", "--jobs", "4x"}), "--jobs needs a number, got '4x'");
  EXPECT_EQ(error_of({"verify", "--max-rate", "-5"}), "--max-rate needs a number, got '-5'");
  EXPECT_EQ(error_of({"verify", "--frobnicate"}), "unknown option --frobnicate");
  EXPECT_EQ(error_of({"verify", "extra"}), "unexpected argument 'extra'");
  EXPECT_EQ(error_of({"--json"}), "no command given");
  EXPECT_EQ(error_of({"verify", "--apply"}), "--apply does not apply to this command");
  EXPECT_EQ(error_of({"backfill", "--reverse"}), "--reverse does not apply to this command");
  EXPECT_EQ(error_of({"repair", "--checkpoint", "c"}),
            "--checkpoint does not apply to this command");
  EXPECT_EQ(error_of({"backfill", "--sequences-only", "--sequences"}),
            "--sequences-only and --sequences: give one of them");
  EXPECT_EQ(error_of({"verify", "--sequences"}), "--sequences does not apply to this command");
  EXPECT_EQ(error_of({"verify", "--tables", "a,,b"}), "--tables has an empty entry");
  EXPECT_EQ(error_of({"verify", "--tables", "a.b.c"}), "--tables: cannot read the table name 'a.b.c'");
  EXPECT_EQ(error_of({"verify", "--tables", "\"open"}), "--tables: cannot read the table name '\"open'");
}

TEST(data_options, help_names_the_backends_and_exit_statuses) {
  for (const auto c : {data_command::verify, data_command::backfill, data_command::repair}) {
    const auto text = data_usage(c);
    EXPECT_NE(text.find("--config FILE"), std::string::npos) << text;
    EXPECT_NE(text.find("exit status"), std::string::npos) << text;
  }
  EXPECT_TRUE(parse({"backfill", "--help"}).help);
}

TEST(is_data_command, finds_the_command_word_after_dwctls_own_options) {
  const auto is = [](std::vector<std::string_view> a) { return is_data_command(a); };
  EXPECT_TRUE(is({"verify"}));
  EXPECT_TRUE(is({"--json", "repair", "--apply"}));
  EXPECT_TRUE(is({"--socket", "/tmp/s", "--timeout", "5", "backfill"}));
  EXPECT_FALSE(is({"status"}));
  EXPECT_FALSE(is({"--socket", "verify", "status"})) << "a flag's value is not the command";
  EXPECT_FALSE(is({}));
}

}  // namespace
}  // namespace dw::migrate
