// Loading valid YAML files: every option lands in its field, defaults fill the rest, relative
// paths resolve against the file's folder, and password_file reads secrets from disk.
#include <gtest/gtest.h>

#include "config/listen_address.hpp"
#include "tests/config/config_test_support.hpp"

namespace dw::config {
namespace {

using namespace std::chrono_literals;
using testing::temp_dir;

constexpr const char* verifier =
    "SCRAM-SHA-256$4096:ZHdwcm94eS1leGFtcGxlIQ==$nisIrCfbvGYPqwU4XhuUcyNPJfXfi0z5XzhW6NVX+rM=:"
    "8cJG6CO9vzYo/To/77GFwrvT4Yb6aAJH8PX07SFPkhQ=";

TEST(yaml_load, full_file_sets_every_option) {
  temp_dir dir;
  dir.write("tls/server.crt", "cert");
  dir.write("tls/server.key", "key");
  dir.write("ca.crt", "ca");
  dir.write("new.pw", "new-secret\n");
  const auto path = dir.write("dwproxy.yaml", std::string{R"(
listen: ["127.0.0.1:6432", "[::1]:6433", "*:6434", "unix:/run/dwproxy:6432"]
threads: 4
phase: 1
state_file: state/phase.json
backends:
  old: { host: 10.0.0.1, port: 5433, dbname: app, user: migrator, password: old-secret,
         tls: require, connect_timeout_ms: 2500 }
  new:
    host: /var/run/postgresql
    port: 5434
    user: migrator_new
    password_file: new.pw
    tls: verify-full
    tls_root_cert: ca.crt
users:
  - name: app
    password: app-secret
    old: { user: app_old, password: app-old-secret }
    new: { password: app-new-secret }
  - name: reporting
    scram_verifier: ")"} + verifier + R"("
tls: { cert: tls/server.crt, key: tls/server.key, required: yes }
limits: { max_clients: 500, max_message_size: 1048576, startup_timeout_ms: 2000,
          idle_timeout_ms: 60000, shutdown_timeout_ms: 1000 }
logging: { level: debug, file: /var/log/dwproxy.log }
control: { socket: /run/dwproxy/control.sock, http_listen: "127.0.0.1:9187" }
)");

  const config c = load_file(path);
  EXPECT_EQ(c.source, path);
  ASSERT_EQ(c.listen.size(), 4u);
  EXPECT_EQ(to_string(c.listen[0]), "127.0.0.1:6432");
  EXPECT_EQ(c.listen[1].host, "::1");
  EXPECT_EQ(c.listen[1].port, 6433);
  EXPECT_EQ(c.listen[2].host, "*");
  EXPECT_EQ(c.listen[3].type, listen_address::kind::unix_socket);
  EXPECT_EQ(socket_file(c.listen[3]), "/run/dwproxy/.s.PGSQL.6432");
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.phase, 1);
  EXPECT_EQ(c.state_file, dir.file("state/phase.json"));

  EXPECT_EQ(c.old_backend.name, "old");
  EXPECT_EQ(c.old_backend.host, "10.0.0.1");
  EXPECT_EQ(c.old_backend.port, 5433);
  EXPECT_EQ(c.old_backend.dbname, "app");
  EXPECT_EQ(c.old_backend.credentials.user, "migrator");
  EXPECT_EQ(c.old_backend.credentials.password.reveal(), "old-secret");
  EXPECT_EQ(c.old_backend.tls, tls_mode::require);
  EXPECT_EQ(c.old_backend.connect_timeout, 2500ms);
  ASSERT_TRUE(c.new_backend);
  EXPECT_EQ(c.new_backend->name, "new");
  EXPECT_EQ(c.new_backend->host, "/var/run/postgresql");
  EXPECT_EQ(c.new_backend->dbname, "");  // the client's database
  EXPECT_EQ(c.new_backend->credentials.password.reveal(), "new-secret");
  EXPECT_EQ(c.new_backend->tls, tls_mode::verify_full);
  EXPECT_EQ(c.new_backend->tls_root_cert, dir.file("ca.crt"));
  EXPECT_EQ(c.new_backend->connect_timeout, 5000ms);

  ASSERT_EQ(c.users.size(), 2u);
  const user* app = c.find_user("app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->password.reveal(), "app-secret");
  ASSERT_TRUE(app->old_login);
  EXPECT_EQ(app->old_login->user, "app_old");
  EXPECT_EQ(app->old_login->password.reveal(), "app-old-secret");
  ASSERT_TRUE(app->new_login);
  EXPECT_EQ(app->new_login->user, "app");  // no user given: the client's own name
  const user* reporting = c.find_user("reporting");
  ASSERT_NE(reporting, nullptr);
  EXPECT_EQ(reporting->scram_verifier.reveal(), verifier);
  EXPECT_TRUE(reporting->password.empty());
  EXPECT_FALSE(reporting->old_login);

  EXPECT_EQ(c.tls.cert_file, dir.file("tls/server.crt"));
  EXPECT_EQ(c.tls.key_file, dir.file("tls/server.key"));
  EXPECT_TRUE(c.tls.required);
  EXPECT_EQ(c.limits.max_clients, 500u);
  EXPECT_EQ(c.limits.max_message_size, 1048576u);
  EXPECT_EQ(c.limits.startup_timeout, 2000ms);
  EXPECT_EQ(c.limits.idle_timeout, 60000ms);
  EXPECT_EQ(c.limits.shutdown_timeout, 1000ms);
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.file, "/var/log/dwproxy.log");
  EXPECT_EQ(c.control_socket, "/run/dwproxy/control.sock");
  EXPECT_EQ(c.http_listen, "127.0.0.1:9187");
  EXPECT_TRUE(c.warnings.empty());
}

TEST(yaml_load, minimal_file_takes_defaults_and_derives_the_user) {
  const config c = load_yaml_string(testing::minimal_backends, "mini.yaml");
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(to_string(c.listen[0]), "127.0.0.1:6432");
  EXPECT_EQ(c.old_backend.host, "db1");
  EXPECT_EQ(c.old_backend.port, 5432);
  EXPECT_EQ(c.old_backend.tls, tls_mode::prefer);
  EXPECT_FALSE(c.new_backend);
  EXPECT_EQ(c.phase, 0);
  EXPECT_EQ(c.limits.max_clients, 10'000u);
  EXPECT_EQ(c.log.level, "info");
  ASSERT_EQ(c.users.size(), 1u);
  EXPECT_EQ(c.users[0].name, "app");
  // The derived user has no password: it is trusted, and that is worth a warning.
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].message.find("without a password"), std::string::npos);
  EXPECT_EQ(c.warnings[0].key, "backends.old.user");
}

TEST(yaml_load, listen_takes_a_single_address_too) {
  const config c =
      load_yaml_string(std::string{"listen: '*:7000'\n"} + testing::minimal_backends, "t.yaml");
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].host, "*");
  EXPECT_EQ(c.listen[0].port, 7000);
}

TEST(yaml_load, empty_sections_are_allowed) {
  const config c = load_yaml_string(
      std::string{"tls:\nlimits: {}\nusers:\n"} + testing::minimal_backends, "t.yaml");
  EXPECT_TRUE(c.tls.cert_file.empty());
  EXPECT_EQ(c.users.size(), 1u);  // derived
}

TEST(yaml_load, business_rules_and_the_verification_gate) {
  const config c = load_yaml_string(std::string{"gates:\n"
                                                "  verify_report: /var/lib/dwproxy/verify.json\n"
                                                "  verify_max_age_minutes: 45\n"
                                                "business_rules:\n"
                                                "  - name: order totals\n"
                                                "    sql: SELECT count(*), sum(amount) FROM orders\n"
                                                "  - { name: users, sql: \"SELECT count(*) FROM \\\"Users\\\"\" }\n"} +
                                        testing::minimal_backends,
                                    "t.yaml");
  EXPECT_EQ(c.gates.verify_report, "/var/lib/dwproxy/verify.json");
  EXPECT_EQ(c.gates.verify_max_age_minutes, 45u);
  ASSERT_EQ(c.business_rules.size(), 2u);
  EXPECT_EQ(c.business_rules[0].name, "order totals");
  EXPECT_EQ(c.business_rules[0].sql, "SELECT count(*), sum(amount) FROM orders");
  EXPECT_EQ(c.business_rules[1].sql, "SELECT count(*) FROM \"Users\"");
  const config none = load_yaml_string(testing::minimal_backends, "t.yaml");
  EXPECT_TRUE(none.business_rules.empty());
  EXPECT_EQ(none.gates.verify_max_age_minutes, 0u);
}

TEST(yaml_load, password_file_strips_the_trailing_newline_and_resolves_relative_paths) {
  temp_dir dir;
  dir.write("secrets/old.pw", "s3cr3t with spaces \r\n");
  dir.write("secrets/user.pw", "user-pass\n\n");
  dir.write("secrets/map.pw", "map-pass");
  const auto path = dir.write("conf.yaml", R"(
backends:
  old: { user: migrator, password_file: secrets/old.pw }
users:
  - name: app
    password_file: secrets/user.pw
    old: { user: app_old, password_file: ./secrets/../secrets/map.pw }
)");
  const config c = load_file(path);
  EXPECT_EQ(c.old_backend.credentials.password.reveal(), "s3cr3t with spaces ");
  EXPECT_EQ(c.users[0].password.reveal(), "user-pass");
  EXPECT_EQ(c.users[0].old_login->password.reveal(), "map-pass");
}

TEST(yaml_load, password_file_absolute_path_and_plain_password_agree) {
  temp_dir dir;
  const auto pw = dir.write("pw", "same\n");
  const config a = load_yaml_string("backends:\n  old: { user: u, password: same }\n", "a");
  const config b =
      load_yaml_string("backends:\n  old: { user: u, password_file: " + pw + " }\n", "b");
  EXPECT_EQ(a.old_backend.credentials, b.old_backend.credentials);
}

TEST(yaml_load, boolean_spellings) {
  temp_dir dir;
  dir.write("c", "x");
  dir.write("k", "x");
  for (const auto* spelling : {"true", "True", "yes", "on"}) {
    const auto path = dir.write("t.yaml", std::string{"tls: { cert: c, key: k, required: "} +
                                              spelling + " }\n" + testing::minimal_backends);
    EXPECT_TRUE(load_file(path).tls.required) << spelling;
  }
}

TEST(yaml_load, warns_about_a_new_mapping_without_a_new_backend) {
  const config c =
      load_yaml_string(std::string{testing::minimal_backends} +
                           "users:\n  - name: a\n    password: p\n    new: { user: b }\n",
                       "t.yaml");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0].key, "users[0].new");
  EXPECT_EQ(c.warnings[0].line, 6);
}

}  // namespace
}  // namespace dw::config
