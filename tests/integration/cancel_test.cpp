// Query cancellation through the proxy: PQcancel opens a second connection carrying the
// BackendKeyData the proxy handed out; the proxy must route it to the right backend. A
// bogus key must cancel nothing and must not disturb the proxy.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <thread>

#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"
#include "tests/support/net.hpp"
#include "tests/support/raw_client.hpp"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* sleeper_sql = "SELECT pg_sleep(30) /* it_cancel */";

bool sleeper_active(PGconn* admin) {
  return pg_value(admin, std::string("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                                     "AND query = '") + sleeper_sql + "'") == "1";
}

// Waits on the socket until the in-flight query's result is complete.
bool wait_not_busy(PGconn* conn, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (PQconsumeInput(conn) == 1 && PQisBusy(conn) == 1) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    pollfd p{PQsocket(conn), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
  return PQisBusy(conn) == 0;
}

TEST(cancel, pqcancel_from_another_thread_ends_the_query_with_57014) {
  auto& proxy = default_proxy();
  auto conn = pg_connect(proxy.conninfo());
  auto admin = pg_connect(old_cluster().admin_conninfo());
  ASSERT_EQ(PQsendQuery(conn.get(), sleeper_sql), 1);
  ASSERT_TRUE(wait_until([&] { return sleeper_active(admin.get()); }, 10s))
      << "the query never showed up as active on the backend";

  // A cancel with a key nobody was given must be ignored, and the proxy must survive it.
  {
    raw_client bogus{proxy.host(), proxy.port()};
    ASSERT_TRUE(bogus.send(be32(16) + be32(80877102) + be32(0x7eadbeef) + be32(0x12345678)));
    EXPECT_TRUE(bogus.read_until_closed(10s).closed) << "a CancelRequest connection gets closed";
  }
  EXPECT_TRUE(sleeper_active(admin.get())) << "a bogus cancel key cancelled the query";

  std::unique_ptr<PGcancel, decltype(&PQfreeCancel)> cancel{PQgetCancel(conn.get()), &PQfreeCancel};
  ASSERT_NE(cancel, nullptr);
  std::string cancel_error;
  std::thread canceller{[&] {
    char buf[256] = {};
    if (PQcancel(cancel.get(), buf, sizeof buf) != 1) cancel_error = buf;
  }};
  const bool finished = wait_not_busy(conn.get(), 10s);
  canceller.join();
  EXPECT_EQ(cancel_error, "");
  ASSERT_TRUE(finished) << "the query was still running 10 s after PQcancel";

  pg_result r{PQgetResult(conn.get())};
  EXPECT_EQ(PQresultStatus(r.get()), PGRES_FATAL_ERROR);
  EXPECT_EQ(sqlstate_of(r.get()), "57014") << PQresultErrorMessage(r.get());
  while (pg_result extra{PQgetResult(conn.get())}) {
  }
  EXPECT_EQ(pg_value(conn.get(), "SELECT 'usable after cancel'"), "usable after cancel");
  EXPECT_TRUE(proxy.alive()) << proxy.exit_description();
}

TEST(cancel, cancel_reaches_only_its_own_session) {
  auto& proxy = default_proxy();
  auto victim = pg_connect(proxy.conninfo());
  auto bystander = pg_connect(proxy.conninfo());
  auto admin = pg_connect(old_cluster().admin_conninfo());
  ASSERT_EQ(PQsendQuery(victim.get(), sleeper_sql), 1);
  ASSERT_TRUE(wait_until([&] { return sleeper_active(admin.get()); }, 10s));
  // The bystander is mid-transaction: a misrouted cancel would abort its work.
  pg_exec(bystander.get(), "BEGIN; CREATE TEMP TABLE it_bystander (x int); INSERT INTO it_bystander VALUES (1)");

  std::unique_ptr<PGcancel, decltype(&PQfreeCancel)> cancel{PQgetCancel(victim.get()), &PQfreeCancel};
  char buf[256] = {};
  ASSERT_EQ(PQcancel(cancel.get(), buf, sizeof buf), 1) << buf;
  ASSERT_TRUE(wait_not_busy(victim.get(), 10s));
  pg_result r{PQgetResult(victim.get())};
  EXPECT_EQ(sqlstate_of(r.get()), "57014");
  while (pg_result extra{PQgetResult(victim.get())}) {
  }
  EXPECT_EQ(pg_value(bystander.get(), "SELECT count(*) FROM it_bystander"), "1");
  pg_exec(bystander.get(), "COMMIT");
}

}  // namespace
}  // namespace dw::test
