// pgbench through the proxy in all three query modes: simple (Query), extended (unnamed
// Parse/Bind/Execute per statement) and prepared (named statements reused). Each run must
// exit 0 with every planned transaction processed and none failed.
#include <gtest/gtest.h>

#include "tests/support/client_tools.hpp"
#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"

namespace dw::test {
namespace {

class pgbench : public ::testing::TestWithParam<const char*> {
 protected:
  // pgbench -i through the proxy too: it drops, creates, COPYs 100k rows and vacuums.
  static void SetUpTestSuite() {
    init_result_ = new command_result;
    try {
      *init_result_ = run_pgbench(default_proxy().client_env(), {"-i", "-s", "1", "-q"});
    } catch (const std::exception& e) {
      init_result_->err = e.what();
    }
  }
  static void TearDownTestSuite() {
    delete init_result_;
    init_result_ = nullptr;
  }
  static command_result* init_result_;
};

command_result* pgbench::init_result_ = nullptr;

TEST_P(pgbench, four_clients_complete_every_transaction) {
  ASSERT_TRUE(init_result_->ok()) << "pgbench -i failed: " << init_result_->describe();
  ASSERT_EQ(pg_value(old_cluster().admin_conninfo(), "SELECT count(*) FROM pgbench_accounts"), "100000");

  const auto before = pg_value(old_cluster().admin_conninfo(), "SELECT count(*) FROM pgbench_history");
  constexpr long per_client = 150;
  const auto r = run_pgbench(default_proxy().client_env(),
                             {"-c", "4", "-j", "2", "-t", std::to_string(per_client), "-M", GetParam(),
                              "--no-vacuum"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto s = parse_pgbench(r.out);
  EXPECT_EQ(s.planned, 4 * per_client) << r.describe();
  EXPECT_EQ(s.processed, 4 * per_client) << r.describe();
  EXPECT_EQ(s.failed, 0) << r.describe();
  // Every TPC-B transaction inserts one history row: the backend saw each commit.
  const auto after = pg_value(old_cluster().admin_conninfo(), "SELECT count(*) FROM pgbench_history");
  EXPECT_EQ(std::stol(after) - std::stol(before), 4 * per_client);
}

INSTANTIATE_TEST_SUITE_P(query_modes, pgbench, ::testing::Values("simple", "extended", "prepared"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace
}  // namespace dw::test
