// Cross-field rules and file checks: each problem at the key that makes the combination
// wrong, and all of them reported together.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/file_io.hpp"
#include "tests/config/config_test_support.hpp"

namespace dw::config {
namespace {

using ::testing::ElementsAre;
using testing::temp_dir;
using testing::yaml_problems;

problem at(int line, int column, std::string key, std::string message) {
  return problem{"test.yaml", line, column, std::move(key), std::move(message)};
}

TEST(validation, backends_old_is_required) {
  EXPECT_THAT(yaml_problems("backends:\n  new: { host: db2, user: app }\n"),
              ElementsAre(at(1, 1, "backends.old",
                             "is required: give a backends.old section or --old URI")));
  EXPECT_THAT(yaml_problems(""),
              ElementsAre(problem{"test.yaml", 0, 0, "backends.old",
                                  "is required: give a backends.old section or --old URI"}));
}

TEST(validation, required_keys) {
  EXPECT_THAT(yaml_problems("backends:\n"
                            "  old: { host: db1 }\n"
                            "users:\n"
                            "  - password: x\n"),
              ElementsAre(at(2, 3, "backends.old.user", "is required"),
                          at(4, 5, "users[0].name", "is required")));
}

TEST(validation, phase_one_and_up_needs_a_new_backend) {
  EXPECT_THAT(yaml_problems(std::string{"phase: 2\n"} + testing::minimal_backends),
              ElementsAre(at(1, 1, "phase",
                             "phase 2 needs backends.new: phases 1-4 send writes to the NEW "
                             "backend")));
  EXPECT_NO_THROW(
      (void)load_yaml_string("phase: 4\nbackends:\n  old: { host: a, user: u }\n"
                             "  new: { host: b, user: u }\n",
                             "t.yaml"));
}

TEST(validation, duplicate_user) {
  EXPECT_THAT(yaml_problems(std::string{testing::minimal_backends} + "users:\n"
                                                                     "  - name: app\n"
                                                                     "    password: a\n"
                                                                     "  - name: other\n"
                                                                     "    password: b\n"
                                                                     "  - name: app\n"
                                                                     "    password: c\n"),
              ElementsAre(at(8, 5, "users[2].name", "duplicate user 'app' (first at line 4)")));
}

TEST(validation, business_rules_need_a_name_and_sql_and_distinct_names) {
  EXPECT_THAT(yaml_problems(std::string{testing::minimal_backends} + "business_rules:\n"
                                                                     "  - name: totals\n"
                                                                     "    sql: SELECT 1\n"
                                                                     "  - name: totals\n"
                                                                     "    sql: SELECT 2\n"
                                                                     "  - sql: SELECT 3\n"
                                                                     "  - unknown: x\n"),
              ElementsAre(at(6, 5, "business_rules[1].name",
                             "duplicate rule 'totals' (first at line 4)"),
                          at(8, 5, "business_rules[2].name", "is required"),
                          at(9, 5, "business_rules[3].unknown", "unknown key"),
                          at(9, 5, "business_rules[3].name", "is required"),
                          at(9, 5, "business_rules[3].sql", "is required")));
}

TEST(validation, verify_gate_needs_its_report) {
  EXPECT_THAT(yaml_problems(std::string{"gates: { verify_max_age_minutes: 30 }\n"} +
                            testing::minimal_backends),
              ElementsAre(at(1, 10, "gates.verify_max_age_minutes",
                             "needs gates.verify_report (the report to check)")));
}

TEST(validation, password_alternatives_conflict) {
  EXPECT_THAT(yaml_problems("backends:\n"
                            "  old: { user: a, password: x, password_file: /nonexistent }\n"
                            "users:\n"
                            "  - name: app\n"
                            "    password: p\n"
                            "    scram_verifier: \"SCRAM-SHA-256$4096:c2FsdA==$"
                            "nisIrCfbvGYPqwU4XhuUcyNPJfXfi0z5XzhW6NVX+rM=:"
                            "8cJG6CO9vzYo/To/77GFwrvT4Yb6aAJH8PX07SFPkhQ=\"\n"),
              ElementsAre(at(2, 32, "backends.old.password_file",
                             "give either password or password_file, not both"),
                          at(6, 5, "users[0].scram_verifier",
                             "give password or scram_verifier, not both")));
}

TEST(validation, unreadable_files_are_named_with_the_reason) {
  temp_dir dir;
  const auto problems = yaml_problems(
      "tls: { cert: /nonexistent/x.crt, key: " + dir.path().string() + " }\n" +
      testing::minimal_backends + "users:\n  - name: a\n    password_file: /nonexistent/pw\n");
  EXPECT_THAT(
      problems,
      ElementsAre(
          at(1, 14, "tls.cert", "cannot read /nonexistent/x.crt: No such file or directory"),
          at(1, 39, "tls.key", "cannot read " + dir.path().string() + ": not a regular file"),
          at(6, 20, "users[0].password_file",
             "cannot read /nonexistent/pw: No such file or directory")));
}

TEST(validation, empty_password_file) {
  temp_dir dir;
  const auto pw = dir.write("empty.pw", "\n");
  EXPECT_THAT(yaml_problems("backends:\n  old: { user: a, password_file: " + pw + " }\n"),
              ElementsAre(at(2, 34, "backends.old.password_file", pw + " is empty")));
}

TEST(validation, client_tls_needs_cert_and_key_together) {
  temp_dir dir;
  const auto crt = dir.write("s.crt", "x");
  EXPECT_THAT(yaml_problems("tls:\n  cert: " + crt + "\n" + testing::minimal_backends),
              ElementsAre(at(2, 3, "tls.cert", "tls.cert needs tls.key")));
  EXPECT_THAT(yaml_problems("tls: { key: " + crt + " }\n" + testing::minimal_backends),
              ElementsAre(at(1, 8, "tls.key", "tls.key needs tls.cert")));
  EXPECT_THAT(yaml_problems(std::string{"tls: { required: true }\n"} + testing::minimal_backends),
              ElementsAre(at(1, 8, "tls.required", "tls.required needs tls.cert and tls.key")));
}

TEST(validation, verifying_backend_tls_needs_a_root_cert) {
  EXPECT_THAT(
      yaml_problems("backends:\n  old: { host: db1, user: a, tls: verify-full }\n"),
      ElementsAre(at(2, 30, "backends.old.tls", "verify-ca and verify-full need tls_root_cert")));
}

TEST(validation, old_and_new_must_differ) {
  EXPECT_THAT(yaml_problems("backends:\n"
                            "  old: { host: db1, user: a }\n"
                            "  new: { host: db1, user: b }\n"),
              ElementsAre(at(3, 3, "backends.new",
                             "is the same database as backends.old (same host, port and dbname)")));
  EXPECT_NO_THROW(
      (void)load_yaml_string("backends:\n  old: { host: db1, user: a }\n"
                             "  new: { host: db1, user: b, dbname: other }\n",
                             "t.yaml"));
}

TEST(validation, listen_addresses_are_not_repeated) {
  EXPECT_THAT(yaml_problems(std::string{testing::minimal_backends} +
                            "listen: [\"127.0.0.1:6432\", \"*:7000\", \"127.0.0.1:6432\"]\n"
                            "control: { http_listen: \"*:7000\" }\n"),
              ElementsAre(at(3, 38, "listen[2]", "listed twice"),
                          at(4, 12, "control.http_listen", "is also a client listen address")));
}

TEST(validation, every_problem_is_reported_at_once_in_file_order) {
  const std::string yaml =
      "phase: 3\n"                                // 1: needs backends.new (cross-field)
      "threads: lots\n"                           // 2: type
      "listen: [\"localhost\"]\n"                 // 3: bad address
      "backends:\n"                               // 4
      "  old: { host: db1, user: a, prot: 1 }\n"  // 5: unknown key
      "users:\n"                                  // 6
      "  - { name: a, password: x }\n"            // 7
      "  - { name: a, password: y }\n"            // 8: duplicate
      "tls: { required: true }\n";                // 9: required without cert
  const auto problems = yaml_problems(yaml);
  EXPECT_THAT(problems,
              ElementsAre(at(1, 1, "phase",
                             "phase 3 needs backends.new: phases 1-4 send writes to the NEW "
                             "backend"),
                          at(2, 10, "threads", "expected an integer"),
                          at(3, 10, "listen[0]", "expected host:port"),
                          at(5, 30, "backends.old.prot", "unknown key (did you mean 'port'?)"),
                          at(8, 7, "users[1].name", "duplicate user 'a' (first at line 7)"),
                          at(9, 8, "tls.required", "tls.required needs tls.cert and tls.key")));
  // what() holds them all, one per line, compiler style.
  const auto text = testing::error_text([&] { return load_yaml_string(yaml, "test.yaml"); });
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5);
  EXPECT_THAT(text, ::testing::StartsWith("test.yaml:1:1: phase: phase 3 needs backends.new"));
  EXPECT_THAT(text, ::testing::HasSubstr("\ntest.yaml:2:10: threads: expected an integer\n"));
}

TEST(validation, missing_config_file) {
  EXPECT_THAT(testing::problems_of([] { return load_file("/nonexistent/dwproxy.yaml"); }),
              ElementsAre(problem{"/nonexistent/dwproxy.yaml", 0, 0, "",
                                  "cannot read /nonexistent/dwproxy.yaml: No such file or "
                                  "directory"}));
}

TEST(validation, config_file_over_the_size_bound) {
  temp_dir dir;
  const auto path = dir.write("huge.yaml", "threads: 1\n");
  std::filesystem::resize_file(path, max_text_file_bytes + 1);  // sparse: nothing written
  EXPECT_THAT(testing::problems_of([&] { return load_file(path); }),
              ElementsAre(problem{path, 0, 0, "", "cannot read " + path + ": larger than 4 MiB"}));
}

}  // namespace
}  // namespace dw::config
