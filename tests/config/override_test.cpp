// A file and flags together: flags win, repeated --listen replaces the file's list, --old and
// --new replace whole backends, and problems name the flag or the file line they came from.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/listen_address.hpp"
#include "tests/config/config_test_support.hpp"

namespace dw::config {
namespace {

using ::testing::ElementsAre;
using testing::parse_args;
using testing::temp_dir;

constexpr const char* base_file = R"(listen: ["127.0.0.1:6432", "127.0.0.1:6433"]
threads: 2
phase: 0
backends:
  old: { host: db1, user: migrator, password: file-pw, tls: require }
users:
  - name: app
    password: app-pw
logging: { level: info }
limits: { max_clients: 100 }
)";

TEST(overrides, flags_win_over_the_file) {
  temp_dir dir;
  const auto path = dir.write("d.yaml", base_file);
  const config c = build(parse_args({"--config", path, "--listen", "*:7000", "--listen",
                                     "unix:/tmp:7000", "--log-level", "debug", "--max-clients", "5",
                                     "--new", "postgresql://mig:npw@db2/app", "--phase", "1"}));
  EXPECT_EQ(c.source, path);
  ASSERT_EQ(c.listen.size(), 2u);  // replaced, not appended to
  EXPECT_EQ(to_string(c.listen[0]), "*:7000");
  EXPECT_EQ(to_string(c.listen[1]), "unix:/tmp:7000");
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.limits.max_clients, 5u);
  EXPECT_EQ(c.phase, 1);
  EXPECT_EQ(c.threads, 2u);  // only in the file
  EXPECT_EQ(c.old_backend.host, "db1");
  ASSERT_TRUE(c.new_backend);
  EXPECT_EQ(c.new_backend->host, "db2");
  ASSERT_EQ(c.users.size(), 1u);  // the file's users stay; nothing is derived from the URIs
  EXPECT_EQ(c.users[0].password.reveal(), "app-pw");
}

TEST(overrides, old_uri_replaces_the_whole_old_backend) {
  temp_dir dir;
  const auto path = dir.write("d.yaml", base_file);
  const config c = build(parse_args({"--config", path, "--old", "postgresql://other@db9:6000"}));
  EXPECT_EQ(c.old_backend.host, "db9");
  EXPECT_EQ(c.old_backend.port, 6000);
  EXPECT_EQ(c.old_backend.credentials.user, "other");
  EXPECT_TRUE(c.old_backend.credentials.password.empty());
  EXPECT_EQ(c.old_backend.tls, tls_mode::prefer);  // the file's "require" went with it
}

TEST(overrides, a_file_without_users_takes_the_user_from_old_uri) {
  temp_dir dir;
  const auto path = dir.write("d.yaml", "threads: 1\n");
  const config c = build(parse_args({"--config", path, "--old", "postgresql://app:pw@db1/app"}));
  ASSERT_EQ(c.users.size(), 1u);
  EXPECT_EQ(c.users[0].name, "app");
  EXPECT_EQ(c.users[0].password.reveal(), "pw");
}

TEST(overrides, tls_halves_may_come_from_either_side) {
  temp_dir dir;
  const auto crt = dir.write("s.crt", "x"), key = dir.write("s.key", "x");
  const auto path = dir.write("d.yaml", std::string{base_file} + "tls: { key: s.key }\n");
  const config c = build(parse_args({"--config", path, "--tls-cert", crt}));
  EXPECT_EQ(c.tls.cert_file, crt);
  EXPECT_EQ(c.tls.key_file, key);  // relative to the file's folder
}

TEST(overrides, problems_name_the_flag_or_the_file_line) {
  temp_dir dir;
  const auto crt = dir.write("s.crt", "x");
  const auto path = dir.write("d.yaml", std::string{base_file} + "colour: blue\n");
  EXPECT_THAT(
      testing::problems_of([&] {
        return build(parse_args({"--config", path, "--phase", "2", "--tls-cert", crt}));
      }),
      ElementsAre(problem{path, 11, 1, "colour", "unknown key"},
                  problem{"command line", 0, 0, "--phase",
                          "phase 2 needs backends.new: phases 1-4 send writes to the NEW backend"},
                  problem{"command line", 0, 0, "--tls-cert", "tls.cert needs tls.key"}));
}

TEST(overrides, a_flag_listen_duplicate_is_named_by_its_flag) {
  temp_dir dir;
  const auto path = dir.write("d.yaml", base_file);
  EXPECT_THAT(testing::problems_of([&] {
                return build(parse_args({"--config", path, "--listen", "*:1", "--listen", "*:1"}));
              }),
              ElementsAre(problem{"command line", 0, 0, "--listen", "listed twice"}));
}

TEST(overrides, a_file_that_is_not_yaml_stops_there) {
  temp_dir dir;
  const auto path = dir.write("d.yaml", "listen: [\n");
  const auto problems = testing::problems_of([&] {
    return build(parse_args({"--config", path, "--old", "postgresql://u@h"}));
  });
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].file, path);
  EXPECT_EQ(problems[0].line, 2);
}

TEST(overrides, check_config_runs_the_same_build) {
  temp_dir dir;
  const auto path = dir.write("d.yaml", base_file);
  const auto cl = parse_args({"--check-config", path});
  EXPECT_TRUE(cl.check_only);
  EXPECT_EQ(build(cl).threads, 2u);
  EXPECT_EQ(load_file(path).threads, 2u);
}

}  // namespace
}  // namespace dw::config
