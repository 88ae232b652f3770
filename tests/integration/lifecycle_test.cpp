// Process lifecycle of dwproxy: SIGTERM is a clean shutdown (exit code 0) within a bound,
// also with an idle client attached, whose connection is then closed rather than left
// hanging. Direct mode has no proxy process to signal, so these tests skip there.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>

#include <chrono>

#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

void expect_clean_exit(proxy_process& proxy) {
  ASSERT_TRUE(proxy.wait_status().has_value());
  const int s = *proxy.wait_status();
  EXPECT_TRUE(WIFEXITED(s) && WEXITSTATUS(s) == 0) << proxy.exit_description() << "\n" << proxy.log_tail();
}

TEST(lifecycle, sigterm_without_clients_exits_cleanly) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  proxy_process proxy{quick_start(old_cluster())};
  ASSERT_TRUE(proxy.stop(10s)) << "dwproxy ignored SIGTERM for 10 s\n" << proxy.log_tail();
  expect_clean_exit(proxy);
}

TEST(lifecycle, sigterm_closes_idle_clients_and_exits_cleanly) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  proxy_process proxy{quick_start(old_cluster())};
  auto conn = pg_connect(proxy.conninfo());
  ASSERT_EQ(pg_value(conn.get(), "SELECT 1"), "1");

  // An idle session has no transaction in flight, so nothing should hold the shutdown up.
  ASSERT_TRUE(proxy.stop(10s)) << "dwproxy with an idle client ignored SIGTERM for 10 s\n" << proxy.log_tail();
  expect_clean_exit(proxy);

  // The client learns promptly: its socket is closed (possibly after an ErrorResponse).
  pollfd p{PQsocket(conn.get()), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1) << "the client was not told about the shutdown";
  pg_result r{PQexec(conn.get(), "SELECT 1")};
  EXPECT_NE(PQresultStatus(r.get()), PGRES_TUPLES_OK);
  EXPECT_EQ(PQstatus(conn.get()), CONNECTION_BAD);
}

}  // namespace
}  // namespace dw::test
