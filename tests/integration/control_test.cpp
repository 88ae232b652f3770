// dwctl against a running dwproxy: status reports the live sessions, pause holds a new
// transaction at its boundary (it never reaches the backend) until resume, phase moves are
// refused with a reason while the proxy carries no shadow, and a corrupt state file stops
// the proxy from starting instead of silently resetting the phase. Needs a proxy process.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <thread>

#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"
#include "tests/support/net.hpp"
#include "tests/support/raw_client.hpp"
#include "tests/support/run_command.hpp"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

command_result dwctl(const std::filesystem::path& socket, std::vector<std::string> args) {
  args.insert(args.begin(), {"--socket", socket.string()});
  return run_command(DW_CTL_BINARY, args, {});
}

struct controlled_proxy {
  std::filesystem::path dir = make_work_dir("control");
  std::filesystem::path socket = dir / "control.sock";
  proxy_process proxy{[&] {
    auto o = quick_start(old_cluster());
    o.extra_args = {"--control-socket", socket.string(), "--state-file",
                    (dir / "state.json").string()};
    return o;
  }()};
};

TEST(control, status_counts_sessions_and_names_the_primary) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  controlled_proxy p;
  auto conn = pg_connect(p.proxy.conninfo());
  pg_exec(conn.get(), "BEGIN");
  const auto r = dwctl(p.socket, {"--json", "status"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("\"sessions\":1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"in_transaction\":1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"role\":\"primary\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"phase\":0"), std::string::npos) << r.out;
  pg_exec(conn.get(), "COMMIT");
}

TEST(control, pause_holds_new_transactions_at_the_boundary_until_resume) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  controlled_proxy p;
  auto conn = pg_connect(p.proxy.conninfo());
  ASSERT_EQ(dwctl(p.socket, {"pause"}).exit_code, 0);

  const std::string marker = "held_by_pause_" + std::to_string(::getpid());
  auto held = std::async(std::launch::async, [&] {
    return pg_value(conn.get(), "SELECT '" + marker + "'");
  });
  // While paused the query must neither finish nor reach the backend. Unpaused it would
  // finish within a few milliseconds, so 20 checks of the backend and of the client
  // (~200 ms) would catch a pause that does not hold.
  auto admin = pg_connect(old_cluster().admin_conninfo());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(pg_value(admin.get(), "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%" +
                                        marker + "%' AND pid <> pg_backend_pid()"),
              "0");
    ASSERT_EQ(held.wait_for(10ms), std::future_status::timeout) << "the query ran while paused";
  }
  ASSERT_EQ(dwctl(p.socket, {"resume"}).exit_code, 0);
  ASSERT_EQ(held.wait_for(10s), std::future_status::ready) << p.proxy.log_tail();
  EXPECT_EQ(held.get(), marker);
}

TEST(control, phase_moves_are_refused_with_a_reason_while_there_is_no_shadow) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  controlled_proxy p;
  const auto r = dwctl(p.socket, {"phase", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE((r.out + r.err).find("dual-write"), std::string::npos) << r.describe();
  const auto s = dwctl(p.socket, {"--json", "status"});
  EXPECT_NE(s.out.find("\"phase\":0"), std::string::npos) << s.out;
  EXPECT_EQ(pg_value(p.proxy.conninfo(), "SELECT 5"), "5");
}

// free_port() names a port that is free now; the harness may hand the proxy's own listener
// the same number a moment later, and then the proxy cannot start. Retry with a fresh port.
template <class MakeOptions>
std::unique_ptr<proxy_process> start_with_http(MakeOptions make, std::uint16_t& http_port) {
  for (int attempt = 0;; ++attempt) {
    http_port = free_port();
    try {
      return std::make_unique<proxy_process>(make(http_port));
    } catch (const std::exception&) {
      if (attempt == 4) throw;
    }
  }
}

std::string http_get(std::uint16_t port, const std::string& path) {
  raw_client http{"127.0.0.1", port};
  http.send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  return http.read_until_closed(10s).bytes;
}

TEST(control, http_api_serves_status_and_the_proxy_counters) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  std::uint16_t http_port = 0;
  auto started = start_with_http(
      [](std::uint16_t port) {
        auto o = quick_start(old_cluster());
        o.extra_args = {"--http-listen", "127.0.0.1:" + std::to_string(port)};
        return o;
      },
      http_port);
  proxy_process& proxy = *started;
  EXPECT_EQ(pg_value(proxy.conninfo(), "SELECT 1"), "1");
  EXPECT_FALSE(pg_try_connect(proxy.conninfo("password=wrong"), 5s).connected);

  const std::string status = http_get(http_port, "/status");
  EXPECT_NE(status.find("200 OK"), std::string::npos) << status;
  EXPECT_NE(status.find("\"phase\":0"), std::string::npos) << status;
  const std::string metrics = http_get(http_port, "/metrics");
  EXPECT_NE(metrics.find("# TYPE dwproxy_clients_accepted_total counter"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("dwproxy_auth_failures_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("dwproxy_backend_up{backend=\"old\",role=\"primary\"} 1"),
            std::string::npos)
      << metrics;
  // Secrets never reach metrics.
  EXPECT_EQ(metrics.find("postgres:postgres"), std::string::npos);
}

TEST(control, http_token_file_guards_every_endpoint_but_healthz) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  const auto dir = make_work_dir("http-token");
  std::ofstream{dir / "token"} << "s3cret-token\n";
  std::uint16_t http_port = 0;
  auto started = start_with_http(
      [&](std::uint16_t port) {
        auto o = quick_start(old_cluster());
        o.config_yaml = "control:\n  http_listen: \"127.0.0.1:" + std::to_string(port) +
                        "\"\n  http_token_file: " + (dir / "token").string() + "\n";
        return o;
      },
      http_port);
  proxy_process& proxy = *started;
  auto request = [&](const std::string& headers) {
    raw_client http{"127.0.0.1", http_port};
    http.send("GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" + headers + "\r\n");
    return http.read_until_closed(10s).bytes;
  };
  EXPECT_NE(request("").find("401"), std::string::npos);
  EXPECT_NE(request("Authorization: Bearer wrong\r\n").find("401"), std::string::npos);
  EXPECT_NE(request("Authorization: Bearer s3cret-token\r\n").find("200 OK"), std::string::npos);
  EXPECT_NE(http_get(http_port, "/healthz").find("200 OK"), std::string::npos);
  EXPECT_EQ(proxy.log_text().find("s3cret-token"), std::string::npos) << "the token was logged";
}

TEST(control, corrupt_state_file_stops_startup_with_the_reason) {
  if (direct_mode()) GTEST_SKIP() << "no proxy process in DW_IT_DIRECT mode";
  const auto dir = make_work_dir("corrupt-state");
  std::ofstream{dir / "state.json"} << "{\"version\":1,\"phase\":";
  const auto r = run_command(DW_PROXY_BINARY,
                             {"--listen", "127.0.0.1:1", "--old", old_cluster().uri(),
                              "--state-file", (dir / "state.json").string()},
                             {});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE((r.out + r.err).find("state.json"), std::string::npos) << r.describe();
}

}  // namespace
}  // namespace dw::test
