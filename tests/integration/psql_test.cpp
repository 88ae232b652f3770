// psql through the proxy: multi-statement query strings, savepoints with an error in the
// middle, cursors, and a 1M-row result compared with the same query run directly on OLD.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/client_tools.hpp"
#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"
#include "tests/support/net.hpp"

namespace dw::test {
namespace {

TEST(psql, multi_statement_query_string_returns_every_result) {
  auto& proxy = default_proxy();
  const auto r = run_psql(proxy.client_env(), {"-c", "SELECT 1; SELECT 2; SELECT 'three';"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, "1\n2\nthree\n");
}

TEST(psql, multi_statement_query_via_libpq_yields_one_result_per_statement) {
  auto conn = pg_connect(default_proxy().conninfo());
  ASSERT_EQ(PQsendQuery(conn.get(), "SELECT 1; SELECT 2 UNION ALL SELECT 3; SELECT 4"), 1);
  std::vector<std::vector<std::string>> results;
  while (pg_result r{PQgetResult(conn.get())}) {
    ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(r.get());
    std::vector<std::string> rows;
    for (int i = 0; i < PQntuples(r.get()); ++i) rows.emplace_back(PQgetvalue(r.get(), i, 0));
    results.push_back(rows);
  }
  const std::vector<std::vector<std::string>> expected{{"1"}, {"2", "3"}, {"4"}};
  EXPECT_EQ(results, expected);
  EXPECT_EQ(pg_value(conn.get(), "SELECT 'still usable'"), "still usable");
}

TEST(psql, savepoint_rollback_keeps_work_before_the_savepoint) {
  auto& proxy = default_proxy();
  const std::string script = R"sql(
DROP TABLE IF EXISTS it_savepoints;
CREATE TABLE it_savepoints (id int PRIMARY KEY);
BEGIN;
INSERT INTO it_savepoints VALUES (1);
SAVEPOINT a;
INSERT INTO it_savepoints VALUES (2);
SAVEPOINT b;
INSERT INTO it_savepoints VALUES (1);
ROLLBACK TO SAVEPOINT b;
INSERT INTO it_savepoints VALUES (3);
SAVEPOINT c;
INSERT INTO it_savepoints VALUES (4);
ROLLBACK TO SAVEPOINT c;
RELEASE SAVEPOINT a;
COMMIT;
SELECT string_agg(id::text, ',' ORDER BY id) FROM it_savepoints;
)sql";
  // ON_ERROR_STOP=0: the duplicate key is the point of the test, psql must go on.
  const auto r = run_psql(proxy.client_env(), {"-v", "ON_ERROR_STOP=0", "-v", "VERBOSITY=verbose"}, script);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("23505"), std::string::npos) << "the duplicate key error must reach the client\n"
                                                     << r.describe();
  EXPECT_NE(r.out.find("\n1,2,3\n"), std::string::npos) << r.describe();
  // The backend itself holds exactly what the client saw committed.
  EXPECT_EQ(pg_value(old_cluster().admin_conninfo(),
                     "SELECT string_agg(id::text, ',' ORDER BY id) FROM it_savepoints"),
            "1,2,3");
}

TEST(psql, error_without_rollback_to_savepoint_turns_commit_into_rollback) {
  auto& proxy = default_proxy();
  const std::string script = R"sql(
DROP TABLE IF EXISTS it_aborted;
CREATE TABLE it_aborted (id int PRIMARY KEY);
INSERT INTO it_aborted VALUES (0);
BEGIN;
INSERT INTO it_aborted VALUES (1);
SELECT 1/0;
INSERT INTO it_aborted VALUES (2);
COMMIT;
SELECT count(*) FROM it_aborted;
)sql";
  const auto r = run_psql(proxy.client_env(), {"-v", "ON_ERROR_STOP=0", "-v", "VERBOSITY=verbose"}, script);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.err.find("22012"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("25P02"), std::string::npos) << "statements after the error must be refused\n"
                                                     << r.describe();
  EXPECT_TRUE(r.out.ends_with("\n1\n")) << r.describe();
  EXPECT_EQ(pg_value(old_cluster().admin_conninfo(), "SELECT string_agg(id::text, ',') FROM it_aborted"),
            "0");
}

TEST(psql, cursor_declare_fetch_close_in_a_transaction) {
  auto& proxy = default_proxy();
  const std::string script = R"sql(
BEGIN;
DECLARE it_cur CURSOR FOR SELECT g FROM generate_series(1, 10) g ORDER BY g;
FETCH 3 FROM it_cur;
FETCH 3 FROM it_cur;
MOVE 2 IN it_cur;
FETCH ALL FROM it_cur;
CLOSE it_cur;
COMMIT;
)sql";
  const auto r = run_psql(proxy.client_env(), {"-q"}, script);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, "1\n2\n3\n4\n5\n6\n9\n10\n");
}

TEST(psql, fetch_count_reads_a_large_result_through_a_cursor) {
  // psql with FETCH_COUNT wraps the query in DECLARE/FETCH 1000 behind the user's back.
  auto& proxy = default_proxy();
  const auto r = run_psql(proxy.client_env(), {"-v", "FETCH_COUNT=1000", "-c",
                                               "SELECT g FROM generate_series(1, 25000) g"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 25000);
  EXPECT_TRUE(r.out.ends_with("\n24999\n25000\n"));
}

TEST(psql, million_row_result_matches_the_direct_result) {
  const std::string sql = "SELECT g, md5(g::text) FROM generate_series(1, 1000000) g";
  const auto via_proxy = run_psql(default_proxy().client_env(), {"-c", sql}, "", std::chrono::seconds{120});
  ASSERT_TRUE(via_proxy.ok()) << via_proxy.describe();
  const auto direct = run_psql(direct_env(old_cluster()), {"-c", sql}, "", std::chrono::seconds{120});
  ASSERT_TRUE(direct.ok()) << direct.describe();

  EXPECT_EQ(std::count(via_proxy.out.begin(), via_proxy.out.end(), '\n'), 1'000'000);
  EXPECT_TRUE(via_proxy.out.starts_with("1|c4ca4238a0b923820dcc509a6f75849b\n"));
  EXPECT_TRUE(via_proxy.out.ends_with("1000000|8155bc545f84d9652f1012ef2bdfb6eb\n"));
  EXPECT_EQ(via_proxy.out.size(), direct.out.size());
  EXPECT_EQ(fnv1a(via_proxy.out), fnv1a(direct.out)) << "row content differs from the direct result";
}

}  // namespace
}  // namespace dw::test
