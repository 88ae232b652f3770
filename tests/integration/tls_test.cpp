// TLS between client and proxy: a self-signed certificate made with the openssl CLI, a proxy
// started with --tls-cert/--tls-key, and libpq in sslmode=require / verify-full. A proxy
// without TLS must answer SSLRequest with 'N', so sslmode=require fails cleanly on the client.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "tests/support/client_tools.hpp"
#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"
#include "tests/support/raw_client.hpp"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

// Self-signed P-256 certificate valid for 127.0.0.1 (the SAN verify-full checks).
void make_certificate(const std::filesystem::path& dir, const std::string& name) {
  const auto r = run_command("openssl", {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                         "-nodes", "-days", "2", "-subj", "/CN=" + name, "-addext",
                                         "subjectAltName=IP:127.0.0.1", "-keyout", (dir / (name + ".key")).string(),
                                         "-out", (dir / (name + ".crt")).string()});
  if (!r.ok()) throw std::runtime_error("openssl req failed: " + r.describe());
}

class tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = make_work_dir("tls");
    make_certificate(dir_, "proxy");
    make_certificate(dir_, "stranger");
    auto options = quick_start(old_cluster());
    options.tls_cert = dir_ / "proxy.crt";
    options.tls_key = dir_ / "proxy.key";
    proxy_ = std::make_unique<proxy_process>(options);
  }
  static void TearDownTestSuite() { proxy_.reset(); }

  void SetUp() override { ASSERT_NE(proxy_, nullptr) << "the TLS proxy did not start"; }

  static inline std::filesystem::path dir_;
  static inline std::unique_ptr<proxy_process> proxy_;
};

TEST_F(tls, sslmode_require_negotiates_tls_and_queries_work) {
  auto conn = pg_connect(proxy_->conninfo("sslmode=require"));
  EXPECT_EQ(PQsslInUse(conn.get()), 1);
  const char* protocol = PQsslAttribute(conn.get(), "protocol");
  ASSERT_NE(protocol, nullptr);
  EXPECT_TRUE(std::string_view{protocol}.starts_with("TLSv1.")) << protocol;
  EXPECT_EQ(pg_value(conn.get(), "SELECT repeat('x', 100000)").size(), 100000u);
}

TEST_F(tls, verify_full_accepts_the_proxy_certificate) {
  const auto root = (dir_ / "proxy.crt").string();
  auto conn = pg_connect(proxy_->conninfo("sslmode=verify-full sslrootcert=" + root));
  EXPECT_EQ(PQsslInUse(conn.get()), 1);
  EXPECT_EQ(pg_value(conn.get(), "SELECT 1"), "1");
}

TEST_F(tls, verify_full_with_another_ca_is_refused_by_the_client) {
  const auto root = (dir_ / "stranger.crt").string();
  const auto out = pg_try_connect(proxy_->conninfo("sslmode=verify-full sslrootcert=" + root), 15s);
  EXPECT_FALSE(out.connected);
  EXPECT_NE(out.message.find("certificate verify failed"), std::string::npos) << out.message;
  EXPECT_TRUE(proxy_->alive()) << proxy_->exit_description();
}

TEST_F(tls, ssl_request_is_answered_with_S) {
  raw_client c{proxy_->host(), proxy_->port()};
  ASSERT_TRUE(c.send(ssl_request()));
  EXPECT_EQ(c.read_byte(10s), std::optional<char>{'S'});
}

TEST_F(tls, plaintext_clients_are_still_served_when_tls_is_optional) {
  auto conn = pg_connect(proxy_->conninfo("sslmode=disable"));
  EXPECT_EQ(PQsslInUse(conn.get()), 0);
  EXPECT_EQ(pg_value(conn.get(), "SELECT 2"), "2");
}

TEST(tls_off, sslmode_require_fails_cleanly_against_a_proxy_without_tls) {
  auto& proxy = default_proxy();
  const auto out = pg_try_connect(proxy.conninfo("sslmode=require"), 15s);
  EXPECT_FALSE(out.connected);
  EXPECT_NE(out.message.find("server does not support SSL"), std::string::npos) << out.message;
  EXPECT_TRUE(proxy.alive()) << proxy.exit_description();
  auto conn = pg_connect(proxy.conninfo("sslmode=prefer"));
  EXPECT_EQ(PQsslInUse(conn.get()), 0);
}

TEST(tls_off, ssl_request_gets_N_and_the_same_connection_can_start_up_in_plaintext) {
  auto& proxy = default_proxy();
  raw_client c{proxy.host(), proxy.port()};
  ASSERT_TRUE(c.send(ssl_request()));
  ASSERT_EQ(c.read_byte(10s), std::optional<char>{'N'});
  ASSERT_TRUE(c.send(startup_packet(3, 0, {{"user", proxy.login().user}, {"database", proxy.login().dbname}})));
  const auto m = c.read_message(10s);
  ASSERT_EQ(m.st, raw_client::status::message);
  EXPECT_EQ(m.msg.type, 'R') << describe(m.msg);
}

}  // namespace
}  // namespace dw::test
