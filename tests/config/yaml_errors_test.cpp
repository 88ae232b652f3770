// Problems found while reading YAML: syntax, unknown keys (with suggestions), wrong shapes,
// wrong types and out-of-range values, each at its exact 1-based line and column.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/config/config_test_support.hpp"

namespace dw::config {
namespace {

using ::testing::ElementsAre;
using testing::yaml_problems;

problem at(int line, int column, std::string key, std::string message) {
  return problem{"test.yaml", line, column, std::move(key), std::move(message)};
}

TEST(yaml_errors, syntax_error_is_one_problem_with_position) {
  EXPECT_THAT(yaml_problems("threads: [1\n"),
              ElementsAre(at(2, 1, "", "invalid YAML: end of sequence flow not found")));
}

TEST(yaml_errors, only_one_document) {
  const auto ps = yaml_problems(std::string{testing::minimal_backends} + "---\nthreads: 1\n");
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].line, 4);
  EXPECT_EQ(ps[0].message, "only one YAML document is allowed");
}

// yaml-cpp 0.7's LoadAll loops for ever on these, allocating as it goes (found by fuzz_config).
TEST(yaml_errors, input_the_yaml_parser_gets_stuck_on_is_refused_not_looped_on) {
  EXPECT_THAT(yaml_problems(","),
              ElementsAre(at(1, 1, "", "invalid YAML: the parser cannot go on from here")));
  EXPECT_THAT(yaml_problems("threads: 4\n---\n,"),
              ElementsAre(at(3, 1, "", "invalid YAML: the parser cannot go on from here")));
}

TEST(yaml_errors, unknown_keys_suggest_the_closest_known_key) {
  EXPECT_THAT(
      yaml_problems("threds: 4\n"
                    "backends:\n"
                    "  old: { host: db1, user: app, prot: 5432 }\n"
                    "limits:\n"
                    "  max_client: 5\n"
                    "tsl: {}\n"
                    "colour: blue\n"),
      ElementsAre(at(1, 1, "threds", "unknown key (did you mean 'threads'?)"),
                  at(3, 32, "backends.old.prot", "unknown key (did you mean 'port'?)"),
                  at(5, 3, "limits.max_client", "unknown key (did you mean 'max_clients'?)"),
                  at(6, 1, "tsl", "unknown key (did you mean 'tls'?)"),
                  at(7, 1, "colour", "unknown key")));
}

TEST(yaml_errors, unknown_keys_in_users_and_backends) {
  EXPECT_THAT(yaml_problems("backends:\n"
                            "  old: { host: db1, user: m }\n"
                            "  neww: { host: db2, user: m }\n"
                            "users:\n"
                            "  - name: app\n"
                            "    pasword: x\n"
                            "    od: { user: a }\n"
                            "    new: { usr: a }\n"),
              ElementsAre(at(3, 3, "backends.neww", "unknown backend (did you mean 'new'?)"),
                          at(6, 5, "users[0].pasword", "unknown key (did you mean 'password'?)"),
                          at(7, 5, "users[0].od", "unknown key (did you mean 'old'?)"),
                          at(8, 12, "users[0].new.usr", "unknown key (did you mean 'user'?)")));
}

TEST(yaml_errors, duplicate_keys) {
  EXPECT_THAT(yaml_problems(std::string{testing::minimal_backends} + "threads: 1\nthreads: 2\n"),
              ElementsAre(at(4, 1, "threads", "given twice (first at line 3)")));
}

TEST(yaml_errors, wrong_shapes) {
  EXPECT_THAT(
      yaml_problems("threads: [1]\n"
                    "limits: 5\n"
                    "listen: {a: 1}\n"
                    "backends:\n"
                    "  old: [db1]\n"
                    "users: {name: app}\n"),
      ElementsAre(at(1, 10, "threads", "expected a single value, not a list"),
                  at(2, 9, "limits", "expected a mapping of options, not a single value"),
                  at(3, 9, "listen", "expected one address or a list of addresses"),
                  at(5, 8, "backends.old", "expected a mapping of backend options, not a list"),
                  at(6, 8, "users", "expected a list of users, not a mapping")));
  EXPECT_THAT(yaml_problems("- a\n"),
              ElementsAre(problem{"test.yaml", 0, 0, "backends.old",
                                  "is required: give a backends.old section or --old URI"},
                          at(1, 1, "", "expected a mapping of options at the top level")));
  EXPECT_THAT(yaml_problems(std::string{testing::minimal_backends} + "users: [app]\n"),
              ElementsAre(at(3, 9, "users[0]",
                             "expected a mapping with name and password, not a single value")));
}

TEST(yaml_errors, wrong_types) {
  EXPECT_THAT(
      yaml_problems("phase: two\n"
                    "threads:\n"
                    "tls: { required: maybe }\n"
                    "backends:\n"
                    "  old: { host: db1, user: app, connect_timeout_ms: 1.5, tls: verify_full }\n"
                    "logging: { level: verbose }\n"),
      ElementsAre(
          at(1, 8, "phase", "expected an integer"), at(2, 1, "threads", "expected an integer"),
          at(3, 18, "tls.required", "expected true or false"),
          at(5, 52, "backends.old.connect_timeout_ms", "expected a whole number of milliseconds"),
          at(5, 62, "backends.old.tls",
             "tls must be one of: disable, prefer, require, verify-ca, verify-full "
             "(did you mean 'verify-full'?)"),
          at(6, 19, "logging.level",
             "level must be one of: trace, debug, info, warn, error, off")));
}

TEST(yaml_errors, out_of_range) {
  EXPECT_THAT(
      yaml_problems("phase: 7\n"
                    "limits: { max_clients: 0, max_message_size: 99999999999999999999 }\n"
                    "threads: -1\n"
                    "backends:\n"
                    "  old: { host: db1, port: 70000, user: app }\n"),
      ElementsAre(at(1, 8, "phase", "phase must be 0-4"),
                  at(2, 24, "limits.max_clients", "max_clients must be 1-1000000"),
                  at(2, 45, "limits.max_message_size", "max_message_size must be 8192-1073741824"),
                  at(3, 10, "threads", "threads must be 0-1024"),
                  at(5, 27, "backends.old.port", "port must be 1-65535")));
}

TEST(yaml_errors, bad_listen_addresses) {
  EXPECT_THAT(yaml_problems(std::string{testing::minimal_backends} + "listen:\n"
                                                                     "  - 127.0.0.1\n"
                                                                     "  - \"::1:6432\"\n"
                                                                     "  - 127.0.0.1:0\n"
                                                                     "  - unix::6432\n"
                                                                     "  - \"[]:6432\"\n"
                                                                     "  - [a]\n"),
              ElementsAre(at(4, 5, "listen[0]", "expected host:port"),
                          at(5, 5, "listen[1]", "IPv6 addresses need brackets, as in [::1]:6432"),
                          at(6, 5, "listen[2]", "port must be 1-65535"),
                          at(7, 5, "listen[3]", "expected unix:DIR:PORT (the directory is empty)"),
                          at(8, 5, "listen[4]", "expected [IPv6-address]:port"),
                          at(9, 5, "listen[5]", "expected an address, not a list")));
}

TEST(yaml_errors, socket_paths_must_fit_sockaddr_un) {
  const std::string dir(100, 'd');
  const auto ps = yaml_problems(std::string{testing::minimal_backends} + "listen: \"unix:/" + dir +
                                ":6432\"\ncontrol: { socket: /" + dir + "/control.sock }\n");
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].key, "listen[0]");
  EXPECT_EQ(ps[0].message, "socket path /" + dir + "/.s.PGSQL.6432 is longer than 107 bytes");
  EXPECT_EQ(ps[1].key, "control.socket");
}

TEST(yaml_errors, http_listen_must_be_tcp) {
  EXPECT_THAT(yaml_problems(std::string{testing::minimal_backends} +
                            "control: { http_listen: \"unix:/tmp:9187\" }\n"),
              ElementsAre(at(3, 25, "control.http_listen", "expected a TCP address (host:port)")));
}

TEST(yaml_errors, scram_verifier_must_have_the_pg_authid_form) {
  const std::string good_keys =
      "nisIrCfbvGYPqwU4XhuUcyNPJfXfi0z5XzhW6NVX+rM=:8cJG6CO9vzYo/To/77GFwrvT4Yb6aAJH8PX07SFPkhQ=";
  const std::string message =
      "expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> (base64 salt and "
      "32-byte keys, as in pg_authid)";
  for (const std::string& bad : std::vector<std::string>{
           "md5abcdef", "SCRAM-SHA-256$0:c2FsdA==$" + good_keys,
           "SCRAM-SHA-256$4096:c2FsdA==$" + good_keys.substr(4),
           "SCRAM-SHA-256$4096:!!!!$" + good_keys, "SCRAM-SHA-256$4096:c2FsdA==" + good_keys}) {
    EXPECT_THAT(yaml_problems(std::string{testing::minimal_backends} +
                              "users:\n  - name: a\n    scram_verifier: \"" + bad + "\"\n"),
                ElementsAre(at(5, 21, "users[0].scram_verifier", message)))
        << bad;
  }
  EXPECT_NO_THROW((void)load_yaml_string(std::string{testing::minimal_backends} +
                                             "users:\n  - name: a\n    scram_verifier: "
                                             "\"SCRAM-SHA-256$4096:c2FsdA==$" +
                                             good_keys + "\"\n",
                                         "t.yaml"));
}

}  // namespace
}  // namespace dw::config
