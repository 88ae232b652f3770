// The proxy logging in to the backend with each method PostgreSQL may ask for: MD5,
// cleartext password and SCRAM-SHA-256 (pg_hba.conf of the test clusters picks the method by
// user). Each is a quick-start proxy whose --old URI names that user.
#include <gtest/gtest.h>

#include <chrono>

#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

struct method_case {
  const char* user;
  const char* hba_method;  // what pg_hba.conf makes the backend ask for
};

class backend_login : public ::testing::TestWithParam<method_case> {};

TEST_P(backend_login, quick_start_as_user_runs_queries) {
  const auto [user, method] = GetParam();
  // The premise: the backend really asks this user for this method.
  ASSERT_EQ(pg_value(old_cluster().admin_conninfo(),
                     std::string("SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' AND "
                                 "user_name && ARRAY['all', '") + user + "'] ORDER BY line_number LIMIT 1"),
            method);
  proxy_process proxy{quick_start(old_cluster(), user, std::string("secret-") + user)};
  auto conn = pg_connect(proxy.conninfo());
  EXPECT_EQ(pg_value(conn.get(), "SELECT current_user"), user);
  EXPECT_EQ(pg_value(conn.get(), "SELECT sum(g) FROM generate_series(1, 100) g"), "5050");
}

INSTANTIATE_TEST_SUITE_P(methods, backend_login,
                         ::testing::Values(method_case{"md5user", "md5"}, method_case{"plainuser", "password"},
                                           method_case{"scramuser", "scram-sha-256"}),
                         [](const auto& p) { return std::string(p.param.user); });

TEST(backend_login_failure, wrong_backend_password_reaches_the_client_as_28P01) {
  // The client logs in to the proxy with the same (wrong) password, so the proxy accepts it
  // and the backend refuses: the client must get the backend's error, not a hang. A proxy
  // that checks the backend at startup and refuses to run is acceptable too.
  std::unique_ptr<proxy_process> proxy;
  try {
    proxy = std::make_unique<proxy_process>(quick_start(old_cluster(), "scramuser", "not-the-password"));
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("password"), std::string::npos)
        << "refusing to start is fine, but the log should say why: " << e.what();
    return;
  }
  const auto out = pg_try_connect(proxy->conninfo(), 15s);
  EXPECT_FALSE(out.connected);
  EXPECT_EQ(out.sqlstate, "28P01") << out.message;
  EXPECT_TRUE(proxy->alive()) << proxy->exit_description();
}

}  // namespace
}  // namespace dw::test
