// parse_command_line and build() without a file: the quick start, libpq connection strings,
// and precise errors for bad flags.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/listen_address.hpp"
#include "tests/config/config_test_support.hpp"

namespace dw::config {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::parse_args;

problem flag(std::string key, std::string message) {
  return problem{"command line", 0, 0, std::move(key), std::move(message)};
}

std::vector<problem> arg_problems(std::vector<std::string> args) {
  return testing::problems_of([&] { return parse_args(std::move(args)); });
}

TEST(command_line, quick_start_from_one_uri) {
  const auto cl = parse_args(
      {"--listen", "127.0.0.1:6432", "--old", "postgresql://app:pw@127.0.0.1:5432/appdb"});
  EXPECT_TRUE(cl.config_file.empty());
  const config c = build(cl);
  EXPECT_EQ(c.source, "command line");
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(to_string(c.listen[0]), "127.0.0.1:6432");
  EXPECT_EQ(c.old_backend.name, "old");
  EXPECT_EQ(c.old_backend.host, "127.0.0.1");
  EXPECT_EQ(c.old_backend.port, 5432);
  EXPECT_EQ(c.old_backend.dbname, "appdb");
  EXPECT_EQ(c.old_backend.credentials.user, "app");
  EXPECT_EQ(c.old_backend.credentials.password.reveal(), "pw");
  EXPECT_FALSE(c.new_backend);
  // One client-facing user: the OLD URI's user and password, mapped to each backend's own login.
  ASSERT_EQ(c.users.size(), 1u);
  EXPECT_EQ(c.users[0].name, "app");
  EXPECT_EQ(c.users[0].password.reveal(), "pw");
  EXPECT_FALSE(c.users[0].old_login);
  EXPECT_FALSE(c.users[0].new_login);
  EXPECT_TRUE(c.warnings.empty());
}

TEST(command_line, quick_start_with_new_as_key_value_string) {
  testing::temp_dir dir;
  const auto ca = dir.write("ca.crt", "x");
  const config c = build(parse_args(
      {"--old", "postgresql://app@db1/appdb", "--new",
       "host=db2 port=5433 user=mig password='n pw' sslmode=verify-ca sslrootcert=" + ca +
           " connect_timeout=3",
       "--phase", "1"}));
  EXPECT_EQ(to_string(c.listen.at(0)), "127.0.0.1:6432");  // the default
  ASSERT_TRUE(c.new_backend);
  EXPECT_EQ(c.new_backend->name, "new");
  EXPECT_EQ(c.new_backend->host, "db2");
  EXPECT_EQ(c.new_backend->port, 5433);
  EXPECT_EQ(c.new_backend->dbname, "");  // the client's database
  EXPECT_EQ(c.new_backend->credentials.user, "mig");
  EXPECT_EQ(c.new_backend->credentials.password.reveal(), "n pw");
  EXPECT_EQ(c.new_backend->tls, tls_mode::verify_ca);
  EXPECT_EQ(c.new_backend->tls_root_cert, ca);
  EXPECT_EQ(c.new_backend->connect_timeout, 3000ms);
  EXPECT_EQ(c.phase, 1);
  // No password in the OLD URI: the user is trusted, with a warning.
  ASSERT_EQ(c.users.size(), 1u);
  EXPECT_TRUE(c.users[0].password.empty());
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0].key, "--old");
}

TEST(command_line, every_option_flag) {
  testing::temp_dir dir;
  const auto crt = dir.write("s.crt", "x"), key = dir.write("s.key", "x");
  const config c = build(parse_args({"--listen",
                                     "[::1]:7000",
                                     "--listen=unix:/tmp:7000",
                                     "--old",
                                     "user=u host=h",
                                     "--threads",
                                     "3",
                                     "--log-level",
                                     "warn",
                                     "--log-file",
                                     "/tmp/dw.log",
                                     "--tls-cert",
                                     crt,
                                     "--tls-key",
                                     key,
                                     "--max-clients",
                                     "9",
                                     "--state-file",
                                     "st.json",
                                     "--control-socket",
                                     "/tmp/dw.sock",
                                     "--http-listen",
                                     "*:9000"}));
  ASSERT_EQ(c.listen.size(), 2u);
  EXPECT_EQ(to_string(c.listen[0]), "[::1]:7000");
  EXPECT_EQ(to_string(c.listen[1]), "unix:/tmp:7000");
  EXPECT_EQ(c.threads, 3u);
  EXPECT_EQ(c.log.level, "warn");
  EXPECT_EQ(c.log.file, "/tmp/dw.log");
  EXPECT_EQ(c.tls.cert_file, crt);
  EXPECT_EQ(c.tls.key_file, key);
  EXPECT_EQ(c.limits.max_clients, 9u);
  EXPECT_EQ(c.state_file, "st.json");  // relative to the working directory, left as given
  EXPECT_EQ(c.control_socket, "/tmp/dw.sock");
  EXPECT_EQ(c.http_listen, "*:9000");
}

TEST(command_line, modes) {
  EXPECT_TRUE(parse_args({"--help"}).help);
  EXPECT_TRUE(parse_args({"-h"}).help);
  EXPECT_TRUE(parse_args({"--version"}).version);
  EXPECT_TRUE(parse_args({"--print-config-reference"}).print_reference);
  const auto check = parse_args({"--check-config", "/etc/dwproxy.yaml"});
  EXPECT_TRUE(check.check_only);
  EXPECT_EQ(check.config_file, "/etc/dwproxy.yaml");
  const auto run = parse_args({"--config=/etc/dwproxy.yaml"});
  EXPECT_FALSE(run.check_only);
  EXPECT_EQ(run.config_file, "/etc/dwproxy.yaml");
}

TEST(command_line, bad_flags_are_named) {
  EXPECT_THAT(arg_problems({"--phase", "7"}), ElementsAre(flag("--phase", "phase must be 0-4")));
  EXPECT_EQ(testing::error_text([] {
              return parse_args({"--phase", "7"});
            }),
            "command line: --phase: phase must be 0-4");
  EXPECT_THAT(arg_problems({"--listne", "x:1"}),
              ElementsAre(flag("--listne", "unknown flag (did you mean '--listen'?)"),
                          flag("argument 2", "unexpected; flags start with --")));
  EXPECT_THAT(arg_problems({"--frobnicate"}), ElementsAre(flag("--frobnicate", "unknown flag")));
  EXPECT_THAT(arg_problems({"--threads"}), ElementsAre(flag("--threads", "needs a value (N)")));
  EXPECT_THAT(arg_problems({"--log-file", "--phase", "1"}),
              ElementsAre(flag("--log-file", "needs a value (FILE)")));
  EXPECT_THAT(arg_problems({"--phase", "1", "--phase=2"}),
              ElementsAre(flag("--phase", "given more than once")));
  EXPECT_THAT(arg_problems({"--help=yes"}), ElementsAre(flag("--help", "takes no value")));
  EXPECT_THAT(arg_problems({"--config", "a", "--check-config", "b"}),
              ElementsAre(flag("--check-config", "give --config or --check-config, not both")));
  EXPECT_THAT(
      arg_problems({"--listen", "localhost", "--log-level", "loud", "--max-clients", "0",
                    "--http-listen", "unix:/x:1", "--tls-cert", "/nonexistent.crt"}),
      ElementsAre(flag("--listen", "expected host:port"),
                  flag("--log-level", "level must be one of: trace, debug, info, warn, error, off"),
                  flag("--max-clients", "max_clients must be 1-1000000"),
                  flag("--http-listen", "expected a TCP address (host:port)"),
                  flag("--tls-cert", "cannot read /nonexistent.crt: No such file or directory")));
}

TEST(command_line, connection_string_problems) {
  EXPECT_THAT(arg_problems({"--old", "postgresql://h/db?application_name=x"}),
              ElementsAre(flag("--old application_name",
                               "not supported here (use host, port, dbname, user, password, "
                               "sslmode, sslrootcert, connect_timeout)"),
                          flag("--old", "the connection string names no user")));
  EXPECT_THAT(
      arg_problems({"--old", "host=a,b user=u"}),
      ElementsAre(flag("--old host", "give one host: dwproxy does not fail over between hosts")));
  EXPECT_THAT(arg_problems({"--new", "postgresql://u@h:99999/db?sslmode=allow&connect_timeout=0"}),
              ElementsAre(flag("--new connect_timeout", "connect_timeout must be 1-3600 (seconds)"),
                          flag("--new port", "port must be 1-65535"),
                          flag("--new sslmode",
                               "tls must be one of: disable, prefer, require, verify-ca, "
                               "verify-full")));
  EXPECT_THAT(arg_problems({"--old", "postgresql://h/db?foo=bar"}),
              ElementsAre(flag("--old", "invalid URI query parameter: \"***\"")));
  EXPECT_NO_THROW((void)parse_args({"--old", "postgresql://u@h/db?sslmode=require"}));
}

TEST(command_line, without_old_backend_the_build_says_how_to_give_one) {
  EXPECT_THAT(
      testing::problems_of([] {
        return build(parse_args({"--listen", "*:6432"}));
      }),
      ElementsAre(flag("backends.old", "is required: give a backends.old section or --old URI")));
}

TEST(command_line, help_documents_every_flag) {
  const auto help = help_text();
  for (const auto* name :
       {"--config FILE", "--listen ADDR", "--old URI", "--new URI", "--phase N", "--threads N",
        "--log-level LEVEL", "--log-file FILE", "--tls-cert FILE", "--tls-key FILE",
        "--max-clients N", "--state-file FILE", "--control-socket PATH", "--http-listen HOST:PORT",
        "--check-config FILE", "--print-config-reference", "--help", "--version"})
    EXPECT_THAT(help, HasSubstr(std::string{"  "} + name)) << name;
  // Lines fit a terminal.
  std::size_t start = 0;
  for (auto end = help.find('\n'); end != std::string::npos; end = help.find('\n', start = end + 1))
    EXPECT_LE(end - start, 100u) << help.substr(start, end - start);
}

}  // namespace
}  // namespace dw::config
