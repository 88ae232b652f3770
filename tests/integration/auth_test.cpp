// Client authentication at the proxy: wrong password, unknown user and unknown database each
// end with the right SQLSTATE in an ErrorResponse (asserted through libpq's verbose message
// and, for the password, on the raw wire), and the proxy keeps serving everyone else.
#include <gtest/gtest.h>

#include <chrono>

#include "tests/support/client_tools.hpp"
#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"
#include "tests/support/raw_client.hpp"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

void expect_healthy(proxy_process& proxy) {
  EXPECT_TRUE(proxy.alive()) << proxy.exit_description();
  const auto r = run_psql(proxy.client_env(), {"-c", "SELECT 'healthy'"});
  EXPECT_TRUE(r.ok() && r.out == "healthy\n") << r.describe();
}

TEST(auth, wrong_password_is_rejected_with_28P01) {
  auto& proxy = default_proxy();
  const auto out = pg_try_connect(proxy.conninfo("password=wrong-password"), 15s);
  EXPECT_FALSE(out.connected);
  EXPECT_EQ(out.sqlstate, "28P01") << out.message;
  EXPECT_NE(out.message.find("password authentication failed"), std::string::npos) << out.message;
  expect_healthy(proxy);
}

TEST(auth, wrong_scram_proof_on_the_wire_gets_error_response_28P01_and_close) {
  auto& proxy = default_proxy();
  raw_client c{proxy.host(), proxy.port()};
  ASSERT_TRUE(c.send(startup_packet(3, 0, {{"user", proxy.login().user}, {"database", proxy.login().dbname}})));

  auto m = c.read_message(10s);
  ASSERT_EQ(m.st, raw_client::status::message);
  ASSERT_EQ(m.msg.type, 'R') << describe(m.msg);
  ASSERT_GE(m.msg.body.size(), 4u);
  ASSERT_EQ(load_be32(m.msg.body), 10u) << "expected AuthenticationSASL";
  EXPECT_NE(m.msg.body.find("SCRAM-SHA-256"), std::string::npos);

  const std::string client_nonce = "it-nonce-0123456789abcdef";
  ASSERT_TRUE(c.send(sasl_initial_response("SCRAM-SHA-256", "n,,n=,r=" + client_nonce)));
  m = c.read_message(10s);
  ASSERT_EQ(m.st, raw_client::status::message);
  ASSERT_EQ(m.msg.type, 'R') << describe(m.msg);
  ASSERT_EQ(load_be32(m.msg.body), 11u) << "expected AuthenticationSASLContinue";
  const std::string server_first = m.msg.body.substr(4);
  ASSERT_TRUE(server_first.starts_with("r=" + client_nonce)) << server_first;
  const std::string nonce = server_first.substr(2, server_first.find(',') - 2);

  // Any 32-byte proof that is not derived from the password must fail verification.
  const std::string zero_proof = std::string(43, 'A') + "=";
  ASSERT_TRUE(c.send(typed_message('p', "c=biws,r=" + nonce + ",p=" + zero_proof)));
  m = c.read_message(10s);
  ASSERT_EQ(m.st, raw_client::status::message);
  EXPECT_EQ(error_sqlstate(m.msg).value_or(describe(m.msg)), "28P01") << describe(m.msg);
  EXPECT_TRUE(c.read_until_closed(10s).closed) << "the connection must be closed after a failed login";
  expect_healthy(proxy);
}

TEST(auth, unknown_user_is_rejected_without_saying_so) {
  auto& proxy = default_proxy();
  const auto out = pg_try_connect(proxy.conninfo("user=it_no_such_user password=whatever"), 15s);
  EXPECT_FALSE(out.connected);
  // PostgreSQL answers an unknown SCRAM user like a wrong password so names cannot be probed.
  EXPECT_TRUE(out.sqlstate == "28P01" || out.sqlstate == "28000") << out.message;
  expect_healthy(proxy);
}

TEST(auth, unknown_database_is_3D000) {
  auto& proxy = default_proxy();
  const auto out = pg_try_connect(proxy.conninfo("dbname=it_no_such_db"), 15s);
  EXPECT_FALSE(out.connected);
  EXPECT_EQ(out.sqlstate, "3D000") << out.message;
  EXPECT_NE(out.message.find("it_no_such_db"), std::string::npos) << out.message;
  expect_healthy(proxy);
}

}  // namespace
}  // namespace dw::test
