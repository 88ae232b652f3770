// Many clients at once: 200 libpq connections opened concurrently through one proxy, all
// held open together, each running its own query. Needs OLD's max_connections (300) above
// 200 plus the tests' own connections.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <thread>

#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"

namespace dw::test {
namespace {

TEST(concurrency, two_hundred_clients_connect_at_once_and_all_succeed) {
  constexpr int clients = 200;
  auto& proxy = default_proxy();
  const std::string conninfo = proxy.conninfo("connect_timeout=60");
  std::latch start{clients};
  std::latch all_queried{clients};
  std::atomic<int> ok{0};
  std::mutex errors_mutex;
  std::vector<std::string> errors;

  std::vector<std::thread> threads;
  threads.reserve(clients);
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();  // all dial in the same instant
      std::string error;
      pg_conn conn{PQconnectdb(conninfo.c_str())};
      if (PQstatus(conn.get()) != CONNECTION_OK) {
        error = PQerrorMessage(conn.get());
      } else {
        pg_result r{PQexec(conn.get(), ("SELECT " + std::to_string(i) + " + 1").c_str())};
        if (PQresultStatus(r.get()) != PGRES_TUPLES_OK)
          error = PQerrorMessage(conn.get());
        else if (std::string(PQgetvalue(r.get(), 0, 0)) != std::to_string(i + 1))
          error = std::string("wrong answer ") + PQgetvalue(r.get(), 0, 0);
      }
      if (error.empty()) {
        ++ok;
      } else {
        std::lock_guard lock{errors_mutex};
        errors.push_back("client " + std::to_string(i) + ": " + error);
      }
      all_queried.arrive_and_wait();  // keep every connection open until all have answered
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), clients) << (errors.empty() ? "" : errors.front()) << " (" << errors.size()
                                << " failures)";
  EXPECT_TRUE(proxy.alive()) << proxy.exit_description();
}

}  // namespace
}  // namespace dw::test
