// COPY through the proxy: 100k rows in with COPY FROM STDIN and back out with COPY TO
// STDOUT, checked against the source bytes and against the same load done directly on OLD;
// plus the COPY failure paths (bad row, CopyFail) leaving the session usable.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/client_tools.hpp"
#include "tests/support/dual_write.hpp"
#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"
#include "tests/support/net.hpp"

namespace dw::test {
namespace {

constexpr int copy_rows = 100'000;

// COPY text format in PostgreSQL's canonical output form, so COPY TO must reproduce it byte
// for byte. Escapes, NULLs and multi-byte UTF-8 make a relay that mangles bytes visible.
std::string copy_source_data() {
  std::string data;
  data.reserve(copy_rows * 40);
  for (int i = 1; i <= copy_rows; ++i) {
    data += std::to_string(i) + '\t';
    if (i % 7 == 0) {
      data += "\\N";
    } else if (i % 11 == 0) {
      data += "tab\\there\\\\back\\nline-" + std::to_string(i);
    } else if (i % 13 == 0) {
      data += "utf8-\xc3\xa9\xe2\x9c\x93-" + std::to_string(i * 31);
    } else {
      data += "row-" + std::to_string(i) + "-" + std::to_string((i * 7919) % 1000003);
    }
    data += '\n';
  }
  return data;
}

std::string table_checksum_sql(const std::string& table) {
  return "SELECT count(*) || ':' || md5(string_agg(id || '=' || coalesce(val, '<null>'), '|' ORDER BY id)) FROM " +
         table;
}

/// COPY ... FROM STDIN of `rows`, ended with CopyDone, or with CopyFail carrying
/// `fail_message`; returns the COPY's own result, with what follows it drained.
pg_result copy_in(PGconn* conn, const std::string& sql, const std::string& rows,
                  const char* fail_message = nullptr) {
  pg_result start{PQexec(conn, sql.c_str())};
  EXPECT_EQ(PQresultStatus(start.get()), PGRES_COPY_IN) << PQerrorMessage(conn);
  if (PQresultStatus(start.get()) != PGRES_COPY_IN) return start;
  EXPECT_EQ(PQputCopyData(conn, rows.data(), static_cast<int>(rows.size())), 1);
  EXPECT_EQ(PQputCopyEnd(conn, fail_message), 1);
  pg_result end{PQgetResult(conn)};
  while (pg_result extra{PQgetResult(conn)}) {
  }
  return end;
}

TEST(copy, copy_in_and_out_of_100k_rows_round_trips_byte_for_byte) {
  auto& proxy = default_proxy();
  const std::string data = copy_source_data();
  const std::string create = "DROP TABLE IF EXISTS %; CREATE TABLE % (id int PRIMARY KEY, val text)";
  auto make_table = [&](const std::string& name) {
    std::string sql = create;
    for (auto pos = sql.find('%'); pos != std::string::npos; pos = sql.find('%'))
      sql.replace(pos, 1, name);
    return sql;
  };

  const auto in_proxy = run_psql(proxy.client_env(),
                                 {"-c", make_table("it_copy_proxy"), "-c", "COPY it_copy_proxy FROM STDIN"}, data);
  ASSERT_TRUE(in_proxy.ok()) << in_proxy.describe();
  EXPECT_NE(in_proxy.out.find("COPY 100000"), std::string::npos) << in_proxy.describe();

  // Reference: the same bytes loaded without the proxy.
  const auto in_direct = run_psql(direct_env(old_cluster()),
                                  {"-c", make_table("it_copy_direct"), "-c", "COPY it_copy_direct FROM STDIN"}, data);
  ASSERT_TRUE(in_direct.ok()) << in_direct.describe();

  auto admin = pg_connect(old_cluster().admin_conninfo());
  const std::string via_proxy = pg_value(admin.get(), table_checksum_sql("it_copy_proxy"));
  EXPECT_TRUE(via_proxy.starts_with("100000:")) << via_proxy;
  EXPECT_EQ(via_proxy, pg_value(admin.get(), table_checksum_sql("it_copy_direct")));

  const auto out = run_psql(proxy.client_env(), {"-c", "COPY (SELECT id, val FROM it_copy_proxy ORDER BY id) TO STDOUT"});
  ASSERT_TRUE(out.ok()) << out.describe();
  EXPECT_EQ(out.out.size(), data.size());
  EXPECT_EQ(fnv1a(out.out), fnv1a(data)) << "COPY TO STDOUT differs from the source data";
  EXPECT_TRUE(out.out == data);
}

TEST(copy, bad_row_fails_the_copy_and_the_session_stays_usable) {
  auto conn = pg_connect(default_proxy().conninfo());
  pg_exec(conn.get(), "DROP TABLE IF EXISTS it_copy_bad; CREATE TABLE it_copy_bad (id int, val text)");
  const pg_result end =
      copy_in(conn.get(), "COPY it_copy_bad FROM STDIN", "1\tone\nnot-a-number\ttwo\n3\tthree\n");
  EXPECT_EQ(PQresultStatus(end.get()), PGRES_FATAL_ERROR);
  EXPECT_EQ(sqlstate_of(end.get()), "22P02") << PQresultErrorMessage(end.get());
  EXPECT_EQ(pg_value(conn.get(), "SELECT count(*) FROM it_copy_bad"), "0");
}

TEST(copy, copy_fail_from_the_client_cancels_the_copy) {
  auto conn = pg_connect(default_proxy().conninfo());
  pg_exec(conn.get(), "DROP TABLE IF EXISTS it_copy_abort; CREATE TABLE it_copy_abort (id int)");
  // The end with a message is a CopyFail.
  const pg_result end =
      copy_in(conn.get(), "COPY it_copy_abort FROM STDIN", "1\n2\n", "client changed its mind");
  EXPECT_EQ(PQresultStatus(end.get()), PGRES_FATAL_ERROR);
  EXPECT_EQ(sqlstate_of(end.get()), "57014") << PQresultErrorMessage(end.get());
  EXPECT_NE(std::string(PQresultErrorMessage(end.get())).find("client changed its mind"), std::string::npos);
  EXPECT_EQ(pg_value(conn.get(), "SELECT count(*) FROM it_copy_abort"), "0");
}

// Found by the regression suite (copy2) through a phase-1 proxy: COPY ... FREEZE of a table
// not truncated in the same transaction is refused right after CopyInResponse. PostgreSQL
// answers ErrorResponse and ReadyForQuery at once and then ignores the CopyData and CopyDone
// the client still sends; the dual relay took those for a new unit and waited forever for an
// answer.
TEST(copy, copy_refused_after_copy_in_response_ignores_the_data_that_follows) {
  auto conn = pg_connect(default_proxy().conninfo());
  pg_exec(conn.get(), "DROP TABLE IF EXISTS it_copy_freeze; CREATE TABLE it_copy_freeze (a text)");
  const pg_result end = copy_in(conn.get(), "COPY it_copy_freeze FROM STDIN CSV FREEZE", "p\ng\n");
  EXPECT_EQ(PQresultStatus(end.get()), PGRES_FATAL_ERROR);
  EXPECT_EQ(sqlstate_of(end.get()), "55000") << PQresultErrorMessage(end.get());
  const auto next = timed_query(conn.get(), "SELECT count(*) FROM it_copy_freeze", std::chrono::seconds{10});
  ASSERT_TRUE(next.finished) << "the session hung after the refused COPY";
  EXPECT_TRUE(next.ok) << next.message;
  EXPECT_EQ(next.value, "0");
}

}  // namespace
}  // namespace dw::test
