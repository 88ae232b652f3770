// The HTTP API end to end on 127.0.0.1 with the fake proxy: each endpoint, the JSON it shares
// with the control socket, Prometheus text, bearer tokens, error statuses, body limits, and
// the refusal to listen beyond loopback without a token. The client is a raw blocking socket,
// so the tests see exactly the bytes a scraper or curl would.
#include "control/http_api.hpp"
#include "tests/common/stream_client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cctype>
#include <limits>
#include <memory>
#include <string>
#include <thread>

#include "control/metrics.hpp"
#include "tests/control/control_test_support.hpp"

namespace dw::control {
namespace {

using namespace std::chrono_literals;

struct http_reply {
  int status = 0;
  std::string headers;  ///< raw, status line excluded
  std::string body;
};

/// A blocking HTTP/1.1 client over one TCP connection; enough for Content-Length replies.
class http_client : public dw::test::stream_client {
 public:
  explicit http_client(std::uint16_t port)
      : stream_client{AF_INET, loopback(port).as_sockaddr(), sizeof(sockaddr_in)} {}

  /// The next response; status 0 when the connection ended first.
  http_reply read_reply() {
    http_reply r;
    std::size_t end = 0;
    while ((end = buffer().find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return r;
    const std::string head = buffer().substr(0, end + 2);
    buffer().erase(0, end + 4);
    const auto first_line = head.find("\r\n");
    r.status = std::stoi(head.substr(head.find(' ') + 1, 3));
    r.headers = head.substr(first_line + 2);
    std::size_t length = 0;
    if (const auto cl = lower(r.headers).find("content-length:"); cl != std::string::npos)
      length = std::stoul(r.headers.substr(cl + 15));
    while (buffer().size() < length)
      if (!fill()) return http_reply{};
    r.body = buffer().substr(0, length);
    buffer().erase(0, length);
    return r;
  }

  /// True when the server closed the connection (nothing more to read).
  bool closed_by_server() { return buffer().empty() && !fill(); }

 private:
  struct inet_address {
    sockaddr_in value{};
    [[nodiscard]] const sockaddr* as_sockaddr() const {
      return reinterpret_cast<const sockaddr*>(&value);
    }
  };
  static inet_address loopback(std::uint16_t port) {
    inet_address a;
    a.value.sin_family = AF_INET;
    a.value.sin_port = htons(port);
    a.value.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }
  static std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
};

std::string request_text(std::string_view method, std::string_view target,
                         std::string_view extra_headers = {}, std::string_view body = {}) {
  std::string s = std::string{method} + " " + std::string{target} + " HTTP/1.1\r\nHost: test\r\n";
  s += extra_headers;
  if (!body.empty() || method == "POST")
    s += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  s += "\r\n";
  s += body;
  return s;
}

class http_api_test : public ::testing::Test {
 protected:
  void SetUp() override {
    service_opts.state_file = dir.file("state.json");
    http_opts.listen = "127.0.0.1:0";  // the kernel picks the port; port() tells it
  }

  void start(phase initial = phase::passthrough) {
    proxy.update([&](status_snapshot& s) { s.current = initial; });
    service = std::make_unique<command_service>(ctx, proxy, service_opts,
                                                persisted_state{initial, {}, "test", false});
    api = std::make_unique<http_api>(ctx, *service, http_opts);
    auto r = api->start();
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_NE(api->port(), 0);
    io = std::thread{[this] { ctx.run(); }};
  }

  void TearDown() override {
    if (api) api->stop();
    if (service) service->stop();
    if (io.joinable()) io.join();
    api.reset();
    service.reset();
  }

  /// One request on a fresh connection that the client closes after the answer.
  http_reply call(std::string_view method, std::string_view target,
                  std::string_view extra_headers = {}, std::string_view body = {}) {
    http_client c{api->port()};
    EXPECT_TRUE(c.connected());
    c.send(request_text(method, target, std::string{extra_headers} + "Connection: close\r\n",
                        body));
    return c.read_reply();
  }

  template <class Data>
  Data parse(command sent, const http_reply& r) {
    auto parsed = parse_response(sent, r.body);
    EXPECT_TRUE(parsed) << parsed.error().message << " in " << r.body;
    if (!parsed) return Data{};
    const auto* d = std::get_if<Data>(&parsed->data);
    EXPECT_TRUE(d) << r.body;
    return d ? *d : Data{};
  }

  testing::temp_dir dir;
  testing::fake_proxy proxy;
  service_options service_opts;
  http_options http_opts;
  boost::asio::io_context ctx;
  std::unique_ptr<command_service> service;
  std::unique_ptr<http_api> api;
  std::thread io;
};

TEST_F(http_api_test, status_is_the_control_socket_json) {
  proxy.update([](status_snapshot& s) {
    s.sessions = 5;
    s.backends = {{"old", "primary", true, 0.5}, {"new", "shadow", true, 0.7}};
    s.gates.diverged_sessions = 1;
  });
  start(phase::dual_write);
  auto r = call("GET", "/status");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers.find("Content-Type: application/json"), std::string::npos) << r.headers;
  auto s = parse<status_data>(command::status, r);
  EXPECT_EQ(s.proxy.current, phase::dual_write);
  EXPECT_EQ(s.proxy.sessions, 5u);
  EXPECT_EQ(s.proxy.backends.size(), 2u);
  EXPECT_EQ(s.next, phase::shadow_read);
  ASSERT_EQ(s.next_blocked_by.size(), 1u);
  EXPECT_EQ(s.next_blocked_by[0].which, gate::diverged_sessions);
}

TEST_F(http_api_test, a_phase_move_by_post_shows_in_status) {
  start(phase::passthrough);
  auto r = call("POST", "/phase/1");
  ASSERT_EQ(r.status, 200) << r.body;
  auto m = parse<move_data>(command::phase, r);
  EXPECT_TRUE(m.changed);
  EXPECT_EQ(m.current, phase::dual_write);
  EXPECT_TRUE(m.attach_shadows);
  EXPECT_EQ(m.report, proxy.report);

  auto s = parse<status_data>(command::status, call("GET", "/status"));
  EXPECT_EQ(s.proxy.current, phase::dual_write);
  EXPECT_EQ(s.last_move.reason, "0 (passthrough) -> 1 (dual-write), attach shadows");
}

TEST_F(http_api_test, a_refused_move_is_409_with_the_service_json_and_force_overrides) {
  proxy.update([](status_snapshot& s) { s.gates.diverged_sessions = 2; });
  start(phase::dual_write);
  auto refused = call("POST", "/phase/shadow-read");
  ASSERT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("\"ok\":false"), std::string::npos) << refused.body;
  auto m = parse<move_data>(command::phase, refused);
  EXPECT_FALSE(m.changed);
  ASSERT_EQ(m.refused_by.size(), 1u);
  EXPECT_EQ(m.refused_by[0].which, gate::diverged_sessions);
  EXPECT_TRUE(proxy.plans().empty());

  auto forced = call("POST", "/phase/2?force=1");
  ASSERT_EQ(forced.status, 200) << forced.body;
  EXPECT_TRUE(parse<move_data>(command::phase, forced).forced);
}

TEST_F(http_api_test, pause_resume_and_ack_go_through_the_service) {
  proxy.update([](status_snapshot& s) { s.gates.diverged_sessions = 4; });
  start(phase::dual_write);
  auto p = call("POST", "/pause");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_TRUE(parse<pause_data>(command::pause, p).paused);
  auto r = call("POST", "/resume");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(parse<pause_data>(command::resume, r).changed);
  auto a = call("POST", "/ack");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(parse<ack_data>(command::ack_divergence, a).acknowledged, 4u);
  EXPECT_EQ(proxy.events(), (std::vector<std::string>{"pause", "resume", "ack"}));
}

TEST_F(http_api_test, diffs_are_served_limited_and_reset_by_post) {
  proxy.diffs.totals.samples = 12;
  proxy.diffs.worst.resize(3);
  start(phase::shadow_read);
  auto d = call("GET", "/diffs?limit=2");
  ASSERT_EQ(d.status, 200) << d.body;
  const auto report = parse<diffs_data>(command::diffs, d);
  EXPECT_EQ(report.report.totals.samples, 12u);
  EXPECT_EQ(report.report.worst.size(), 2u);
  EXPECT_EQ(call("GET", "/diffs?limit=0").status, 400);
  EXPECT_EQ(call("GET", "/diffs?top=2").status, 400);
  EXPECT_EQ(call("POST", "/diffs").status, 405);
  EXPECT_EQ(call("GET", "/diffs/reset").status, 405);
  auto reset = call("POST", "/diffs/reset");
  ASSERT_EQ(reset.status, 200) << reset.body;
  EXPECT_TRUE(parse<diffs_data>(command::diffs, reset).reset);
  EXPECT_EQ(parse<diffs_data>(command::diffs, call("GET", "/diffs")).report.totals.samples, 0u);
}

TEST_F(http_api_test, bad_requests_get_400_404_405_with_json_errors) {
  start();
  auto bad_phase = call("POST", "/phase/9");
  EXPECT_EQ(bad_phase.status, 400);
  EXPECT_NE(bad_phase.body.find("\"ok\":false"), std::string::npos) << bad_phase.body;
  EXPECT_NE(bad_phase.body.find("\"error\":"), std::string::npos) << bad_phase.body;
  EXPECT_EQ(call("POST", "/phase/1?force=maybe").status, 400);
  EXPECT_EQ(call("GET", "/nope").status, 404);
  auto wrong = call("GET", "/phase/1");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_NE(wrong.headers.find("Allow: POST"), std::string::npos) << wrong.headers;
  EXPECT_EQ(call("POST", "/status").status, 405);
  EXPECT_EQ(call("DELETE", "/metrics").status, 405);
  EXPECT_TRUE(proxy.plans().empty());
}

TEST_F(http_api_test, metrics_are_prometheus_text_from_status_and_the_source) {
  proxy.update([](status_snapshot& s) {
    s.sessions = 3;
    s.paused = true;
    s.divergences = 7;
    s.gates.diverged_sessions = 2;
    s.backends = {{"old", "primary", true, 1.5}};
  });
  http_opts.metrics = [] {
    return std::vector<metric_sample>{
        {"dwproxy_statements_total", "Statements relayed", metric_type::counter,
         {{"backend", "old"}}, 12},
        {"dwproxy_statements_total", "", metric_type::counter, {{"backend", "new"}}, 10}};
  };
  start(phase::shadow_read);
  auto r = call("GET", "/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers.find("text/plain; version=0.0.4"), std::string::npos) << r.headers;
  const std::string& b = r.body;
  for (const char* line :
       {"# HELP dwproxy_phase Migration phase (0 passthrough .. 4 cleanup)\n",
        "# TYPE dwproxy_phase gauge\ndwproxy_phase 2\n", "dwproxy_sessions 3\n",
        "dwproxy_paused 1\n", "dwproxy_diverged_sessions 2\n",
        "# TYPE dwproxy_divergences_total counter\ndwproxy_divergences_total 7\n",
        "dwproxy_backend_up{backend=\"old\",role=\"primary\"} 1\n",
        "dwproxy_backend_latency_seconds{backend=\"old\"} 0.0015\n",
        "# HELP dwproxy_statements_total Statements relayed\n"
        "# TYPE dwproxy_statements_total counter\n"
        "dwproxy_statements_total{backend=\"old\"} 12\n"
        "dwproxy_statements_total{backend=\"new\"} 10\n"})
    EXPECT_NE(b.find(line), std::string::npos) << "missing: " << line << "in:\n" << b;
}

TEST(write_prometheus, escapes_groups_families_and_drops_bad_names) {
  const std::vector<metric_sample> samples{
      {"a_total", "line\\one\ntwo", metric_type::counter, {{"q", "say \"hi\"\n"}}, 1},
      {"bad name", "x", metric_type::gauge, {}, 1},
      {"b", "gauge b", metric_type::gauge, {}, 0.25},
      {"a_total", "ignored", metric_type::counter, {{"q", "x"}}, 2},
      {"c", "bad label", metric_type::gauge, {{"1x", "v"}}, 1},
      {"d", "inf", metric_type::gauge, {}, std::numeric_limits<double>::infinity()}};
  EXPECT_EQ(write_prometheus(samples),
            "# HELP a_total line\\\\one\\ntwo\n"
            "# TYPE a_total counter\n"
            "a_total{q=\"say \\\"hi\\\"\\n\"} 1\n"
            "a_total{q=\"x\"} 2\n"
            "# HELP b gauge b\n"
            "# TYPE b gauge\n"
            "b 0.25\n"
            "# HELP d inf\n"
            "# TYPE d gauge\n"
            "d +Inf\n");
}

TEST_F(http_api_test, a_token_guards_everything_but_healthz) {
  http_opts.bearer_token = "s3cret-token";
  start();
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  EXPECT_EQ(call("GET", "/healthz").body, "ok\n");
  auto missing = call("GET", "/status");
  EXPECT_EQ(missing.status, 401);
  EXPECT_NE(missing.headers.find("WWW-Authenticate: Bearer"), std::string::npos);
  EXPECT_EQ(call("GET", "/metrics", "Authorization: Bearer wrong\r\n").status, 401);
  EXPECT_EQ(call("GET", "/status", "Authorization: Bearer s3cret-toke\r\n").status, 401);
  EXPECT_EQ(call("GET", "/status", "Authorization: Basic s3cret-token\r\n").status, 401);
  EXPECT_EQ(call("POST", "/phase/1", "Authorization: Bearer nope\r\n").status, 401);
  EXPECT_TRUE(proxy.plans().empty());
  EXPECT_EQ(call("GET", "/status", "Authorization: Bearer s3cret-token\r\n").status, 200);
  EXPECT_EQ(call("POST", "/phase/1", "Authorization: bearer s3cret-token\r\n").status, 200);
  EXPECT_EQ(proxy.plans().size(), 1u);
}

TEST_F(http_api_test, keep_alive_serves_several_requests_on_one_connection) {
  start();
  http_client c{api->port()};
  ASSERT_TRUE(c.connected());
  c.send(request_text("GET", "/healthz") + request_text("GET", "/status"));
  EXPECT_EQ(c.read_reply().status, 200);
  EXPECT_EQ(c.read_reply().status, 200);
  c.send(request_text("GET", "/metrics"));
  EXPECT_EQ(c.read_reply().status, 200);
}

TEST_F(http_api_test, an_oversized_body_is_refused_and_the_connection_closed) {
  http_opts.body_limit = 1024;
  start();
  http_client c{api->port()};
  ASSERT_TRUE(c.connected());
  c.send(request_text("POST", "/pause", {}, std::string(2048, 'x')));
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_NE(r.body.find("\"ok\":false"), std::string::npos) << r.body;
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_TRUE(proxy.events().empty());
}

TEST_F(http_api_test, garbage_gets_400_and_a_close) {
  start();
  http_client c{api->port()};
  ASSERT_TRUE(c.connected());
  c.send("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(c.read_reply().status, 400);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(http_api_test, an_idle_connection_is_closed_after_the_read_timeout) {
  http_opts.read_timeout = 200ms;
  start();
  http_client c{api->port()};
  ASSERT_TRUE(c.connected());
  c.send("GET /status HTTP/1.1\r\n");  // never finished
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(http_api_test, listening_beyond_loopback_needs_a_token) {
  service = std::make_unique<command_service>(ctx, proxy, service_opts,
                                              persisted_state{phase::passthrough, {}, "", false});
  http_opts.listen = "0.0.0.0:0";
  http_api open{ctx, *service, http_opts};
  auto refused = open.start();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("without a bearer token"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(open.port(), 0);

  http_opts.bearer_token = "t";
  http_api guarded{ctx, *service, http_opts};
  EXPECT_TRUE(guarded.start());
  guarded.stop();
  open.stop();
}

TEST_F(http_api_test, bad_listen_addresses_are_refused) {
  service = std::make_unique<command_service>(ctx, proxy, service_opts,
                                              persisted_state{phase::passthrough, {}, "", false});
  for (const char* listen : {"127.0.0.1", "127.0.0.1:99999", "example.com:80", ":80"}) {
    http_opts.listen = listen;
    http_api a{ctx, *service, http_opts};
    EXPECT_FALSE(a.start()) << listen;
  }
  http_opts.listen = "[::1]:0";
  http_api v6{ctx, *service, http_opts};
  auto r = v6.start();
  if (r) v6.stop();  // ::1 may be missing in a container; the parse is what is tested
  else EXPECT_EQ(r.error().message.find("not an IP address"), std::string::npos);
}

}  // namespace
}  // namespace dw::control
