// What an operator relies on besides the wire protocol: SIGTERM lets a transaction finish
// before closing its session, SIGHUP reloads users without dropping sessions, the idle
// timeout and max_clients limits answer with PostgreSQL's SQLSTATEs, the Unix listener
// works like PostgreSQL's socket, and replication connections are refused clearly.
// All of these need a proxy process, so they skip in DW_IT_DIRECT mode.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"
#include "tests/support/raw_client.hpp"
#include "tests/support/wire.hpp"

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Polls `condition` until it holds or `deadline` passes; the condition is the event itself
// (a refused connection, a successful login), not a fixed delay.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds deadline) {
  const auto until = clock_type::now() + deadline;
  while (clock_type::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

// libpq hands an ErrorResponse that arrives while the connection is idle to the notice
// receiver, not to PQerrorMessage; collect the SQLSTATEs it sees.
void collect_sqlstates(PGconn* conn, std::string* sink) {
  PQsetNoticeReceiver(
      conn,
      [](void* arg, const PGresult* r) {
        const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        *static_cast<std::string*>(arg) += std::string{code ? code : "?"} + " ";
      },
      sink);
}

bool socket_closes(PGconn* conn, std::chrono::milliseconds deadline) {
  pollfd p{PQsocket(conn), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(deadline.count())) != 1) return false;
  PQconsumeInput(conn);
  pg_result r{PQexec(conn, "SELECT 1")};
  return PQresultStatus(r.get()) != PGRES_TUPLES_OK;
}

TEST(operations, sigterm_lets_an_open_transaction_commit_then_closes_it) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  auto admin = pg_connect(old_cluster().admin_conninfo());
  pg_exec(admin.get(), "DROP TABLE IF EXISTS ops_shutdown; CREATE TABLE ops_shutdown (id int)");
  proxy_process proxy{quick_start(old_cluster())};
  auto conn = pg_connect(proxy.conninfo());
  std::string sqlstates;
  collect_sqlstates(conn.get(), &sqlstates);
  pg_exec(conn.get(), "BEGIN");
  pg_exec(conn.get(), "INSERT INTO ops_shutdown VALUES (1)");

  proxy.send_signal(SIGTERM);
  // Stage 1 of the shutdown: the listener closes, so new clients are refused.
  ASSERT_TRUE(eventually([&] { return !pg_try_connect(proxy.conninfo(), 2s).connected; }, 10s))
      << proxy.log_tail();
  // The transaction in flight still completes.
  pg_exec(conn.get(), "INSERT INTO ops_shutdown VALUES (2)");
  pg_exec(conn.get(), "COMMIT");
  // At that boundary the session is closed with 57P01, and the process exits cleanly.
  ASSERT_TRUE(socket_closes(conn.get(), 10s)) << proxy.log_tail();
  EXPECT_NE(sqlstates.find("57P01"), std::string::npos) << sqlstates;
  ASSERT_TRUE(proxy.stop(10s)) << proxy.log_tail();
  ASSERT_TRUE(proxy.wait_status().has_value());
  EXPECT_TRUE(WIFEXITED(*proxy.wait_status()) && WEXITSTATUS(*proxy.wait_status()) == 0)
      << proxy.exit_description();
  EXPECT_EQ(pg_value(admin.get(), "SELECT string_agg(id::text, ',' ORDER BY id) FROM ops_shutdown"),
            "1,2");
}

TEST(operations, sighup_reloads_users_and_keeps_running_sessions) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  auto options = quick_start(old_cluster());
  options.config_yaml = "users:\n  - name: postgres\n    password: first-secret\n";
  proxy_process proxy{options};
  const std::string base = "host=127.0.0.1 port=" + std::to_string(proxy.port()) +
                           " user=postgres dbname=app sslmode=disable connect_timeout=5";
  auto session = pg_connect(base + " password=first-secret");
  ASSERT_EQ(pg_value(session.get(), "SELECT 41 + 1"), "42");

  std::ofstream{proxy.work_dir() / "dwproxy.yaml"}
      << "users:\n  - name: postgres\n    password: second-secret\n";
  proxy.send_signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return pg_try_connect(base + " password=second-secret", 2s).connected; },
                         10s))
      << proxy.log_tail();
  EXPECT_EQ(pg_try_connect(base + " password=first-secret", 5s).sqlstate, "28P01");
  // The session opened before the reload is untouched.
  EXPECT_EQ(pg_value(session.get(), "SELECT 6 * 7"), "42");
  EXPECT_TRUE(proxy.alive());
  // The log says what was reloaded, never the secret itself.
  const std::string log = proxy.log_text();
  EXPECT_NE(log.find("configuration reloaded"), std::string::npos) << proxy.log_tail();
  EXPECT_EQ(log.find("second-secret"), std::string::npos);
  EXPECT_EQ(log.find("first-secret"), std::string::npos);
}

TEST(operations, idle_timeout_closes_idle_sessions_with_57P05) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  auto options = quick_start(old_cluster());
  options.config_yaml = "limits:\n  idle_timeout_ms: 300\n";
  proxy_process proxy{options};
  auto conn = pg_connect(proxy.conninfo());
  std::string sqlstates;
  collect_sqlstates(conn.get(), &sqlstates);
  ASSERT_EQ(pg_value(conn.get(), "SELECT 1"), "1");
  ASSERT_TRUE(socket_closes(conn.get(), 10s)) << proxy.log_tail();
  EXPECT_NE(sqlstates.find("57P05"), std::string::npos) << sqlstates;
  EXPECT_TRUE(proxy.alive());
  EXPECT_EQ(pg_value(proxy.conninfo(), "SELECT 2"), "2");
}

TEST(operations, max_clients_refuses_the_next_client_with_53300) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  auto options = quick_start(old_cluster());
  options.max_clients = 2;
  proxy_process proxy{options};
  auto first = pg_connect(proxy.conninfo());
  auto second = pg_connect(proxy.conninfo());
  const auto third = pg_try_connect(proxy.conninfo(), 5s);
  EXPECT_FALSE(third.connected);
  EXPECT_EQ(third.sqlstate, "53300") << third.message;
  // A slot frees up when a client leaves.
  first.reset();
  EXPECT_TRUE(eventually([&] { return pg_try_connect(proxy.conninfo(), 2s).connected; }, 10s));
  EXPECT_EQ(pg_value(second.get(), "SELECT 3"), "3");
}

TEST(operations, unix_socket_listener_serves_psql_style_connections) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  const auto dir = make_work_dir("unix-listener");
  auto options = quick_start(old_cluster());
  // Beside the harness's own TCP listener (which it waits for).
  options.extra_args = {"--listen", "unix:" + dir.string() + ":7432"};
  proxy_process proxy{options};
  const std::string conninfo = "host=" + dir.string() +
                               " port=7432 user=postgres password=postgres dbname=app";
  // The harness waited for the TCP listener; the Unix one opens right after it.
  ASSERT_TRUE(eventually([&] { return pg_try_connect(conninfo, 2s).connected; }, 10s))
      << proxy.log_tail();
  EXPECT_EQ(pg_value(conninfo, "SELECT 'via unix'"), "via unix");
  ASSERT_TRUE(proxy.stop(10s));
  EXPECT_FALSE(std::filesystem::exists(dir / ".s.PGSQL.7432"))
      << "the socket file must be removed on shutdown";
}

// A message that arrives in pieces (slow links, TLS records, big queries) must be carried
// across reads, whatever the split. Regression: a read holding only part of a frame was
// dropped. The pauses only make separate reads likely; the assertion is the answer itself.
TEST(operations, a_query_split_across_many_tcp_writes_is_reassembled) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  proxy_process& proxy = default_proxy();
  auto conn = pg_connect(proxy.conninfo());
  ASSERT_EQ(pg_value(conn.get(), "SELECT 1"), "1");
  raw_client c = raw_client::adopt_duplicate(PQsocket(conn.get()));
  const std::string padding(20'000, 'x');
  const std::string query = typed_message('Q', "SELECT length('" + padding + "')" + '\0');
  // Part of the header first, then the rest in 4 000-byte pieces.
  for (std::size_t at = 0, size = 3; at < query.size(); at += size, size = 4'000) {
    ASSERT_TRUE(c.send(std::string_view{query}.substr(at, size)));
    std::this_thread::sleep_for(20ms);
  }
  std::string row;
  for (;;) {
    const auto r = c.read_message(10s);
    ASSERT_EQ(r.st, raw_client::status::message) << proxy.log_tail();
    if (r.msg.type == 'D') row = r.msg.body;
    if (r.msg.type == 'E') FAIL() << "error: " << r.msg.body;
    if (r.msg.type == 'Z') break;
  }
  EXPECT_NE(row.find("20000"), std::string::npos);
  EXPECT_TRUE(proxy.alive());
}

TEST(operations, replication_connections_are_refused_with_0A000) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  proxy_process& proxy = default_proxy();
  const auto outcome = pg_try_connect(proxy.conninfo("replication=database"), 5s);
  EXPECT_FALSE(outcome.connected);
  EXPECT_EQ(outcome.sqlstate, "0A000") << outcome.message;
  EXPECT_EQ(pg_value(proxy.conninfo(), "SELECT 4"), "4");
}

}  // namespace
}  // namespace dw::test
