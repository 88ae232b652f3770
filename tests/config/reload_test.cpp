// plan_reload: which changed options apply now and which wait for a restart, by the table's
// reloadable flag; secrets are compared but never named with their values.
#include "config/reload.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/config/config_test_support.hpp"

namespace dw::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

config load(const std::string& extra) {
  return load_yaml_string(
      std::string{"backends:\n  old: { host: db1, user: m, password: p1 }\n"} + extra, "r.yaml");
}

TEST(reload, identical_configs_change_nothing) {
  const auto a = load("users: [{ name: app, password: x }]\n");
  const auto plan = plan_reload(a, a);
  EXPECT_TRUE(plan.empty());
}

TEST(reload, changes_are_split_by_the_reloadable_flag) {
  const auto running = load("threads: 1\nlogging: { level: info }\n");
  const auto fresh = load(
      "threads: 2\nlogging: { level: debug }\nlisten: \"*:7000\"\n"
      "limits: { max_clients: 5, idle_timeout_ms: 1000 }\n");
  const auto plan = plan_reload(running, fresh);
  EXPECT_THAT(plan.applied,
              ElementsAre("limits.max_clients", "limits.idle_timeout_ms", "logging.level"));
  EXPECT_THAT(plan.needs_restart, ElementsAre("listen", "threads"));
}

TEST(reload, backend_credentials_reload_but_endpoints_do_not) {
  const auto running = load("");
  const auto fresh = load_yaml_string(
      "backends:\n  old: { host: db1, port: 5433, user: m, password: p2, tls: require }\n",
      "r.yaml");
  const auto plan = plan_reload(running, fresh);
  EXPECT_THAT(plan.applied, ElementsAre("backends.old.password", "backends.old.tls", "users"));
  EXPECT_THAT(plan.needs_restart, ElementsAre("backends.old.port"));
  for (const auto& name : plan.applied) EXPECT_EQ(name.find("p2"), std::string::npos);
}

TEST(reload, adding_the_new_backend_applies_without_a_restart) {
  const auto running = load("users: [{ name: app, password: x }]\n");
  const auto fresh = load("  new: { host: db2, user: m }\nusers: [{ name: app, password: x }]\n");
  const auto plan = plan_reload(running, fresh);
  EXPECT_THAT(plan.applied, ElementsAre("backends.new"));
  EXPECT_THAT(plan.needs_restart, IsEmpty());

  const auto moved = load("  new: { host: db3, user: m }\nusers: [{ name: app, password: x }]\n");
  EXPECT_THAT(plan_reload(fresh, moved).needs_restart, ElementsAre("backends.new.host"));
}

TEST(reload, user_list_changes_are_one_entry) {
  const auto running = load("users: [{ name: app, password: x }]\n");
  const auto fresh = load("users: [{ name: app, password: y }, { name: b, password: z }]\n");
  const auto plan = plan_reload(running, fresh);
  EXPECT_THAT(plan.applied, ElementsAre("users"));
  EXPECT_THAT(plan.needs_restart, IsEmpty());
}

TEST(reload, a_rotated_password_file_is_a_password_change) {
  testing::temp_dir dir;
  const auto pw = dir.write("old.pw", "one\n");
  const auto path = dir.write("d.yaml",
                              "backends:\n  old: { user: m, password_file: old.pw }\n"
                              "users: [{ name: app, password: x }]\n");
  const auto running = load_file(path);
  dir.write("old.pw", "two\n");
  const auto plan = plan_reload(running, load_file(path));
  EXPECT_THAT(plan.applied, ElementsAre("backends.old.password"));
}

}  // namespace
}  // namespace dw::config
