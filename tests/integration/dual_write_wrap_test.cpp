// What PostgreSQL's regression suite found through a dual-write proxy (scripts/regress.sh),
// each as its smallest case. In ordered mode the proxy wraps an autocommit write in a
// BEGIN/COMMIT of its own, and the client must not be able to tell: statements PostgreSQL
// refuses inside a transaction block are left unwrapped, and what PostgreSQL sends while the
// proxy's COMMIT runs (deferred triggers' notices, the session's own notifications) reaches
// the client. The sequence probe never waits for the session's own locks, a COMMIT AND CHAIN
// of a failed transaction chains on the shadow too, and a concurrent index build that failed
// on its data is repeated there. Suite `dual_write`, so that the phase-1 rerun of the whole
// binary (integration_dual_relay) leaves these out as well.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/dual_write.hpp"
#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

dual_write_options phase_1(const std::string& db) {
  dual_write_options o;
  o.dbname = db;
  o.phase = 1;
  // Long enough that no wait in these tests ends by the bound: a hang must show as one.
  o.lag_bound_ms = 30000;
  return o;
}

/// A database of its own on OLD and NEW holding `schema`, a phase-1 proxy, and a client of it.
struct wrap_case {
  wrap_case(const std::string& name, const std::string& schema)
      : db{created(name, schema)}, proxy{phase_1(db)}, conn{pg_connect(proxy.conninfo())} {}
  [[nodiscard]] std::string on_new() const { return new_cluster().admin_conninfo(db); }

  std::string db;
  dual_write_proxy proxy;
  pg_conn conn;

 private:
  static std::string created(const std::string& name, const std::string& schema) {
    create_databases(name, schema);
    return name;
  }
};

// TRUNCATE holds an ACCESS EXCLUSIVE lock until COMMIT. The INSERT after it makes the proxy
// ask the primary, on another connection, whether the table has a serial column; that
// question used pg_get_expr(), which locks the table, and so waited for this very session.
TEST(dual_write, insert_after_truncate_in_one_transaction_does_not_wait_for_its_own_lock) {
  DW_SKIP_WITHOUT_PROXY();
  wrap_case w{"dw_wrap_probe", "CREATE TABLE t (id serial PRIMARY KEY, v int)"};
  pg_exec(w.conn.get(), "BEGIN");
  pg_exec(w.conn.get(), "TRUNCATE t RESTART IDENTITY");
  const auto insert = timed_query(w.conn.get(), "INSERT INTO t (v) VALUES (1)", 10s);
  ASSERT_TRUE(insert.finished) << "the INSERT hung for " << insert.took.count() << " ms";
  EXPECT_TRUE(insert.ok) << insert.message;
  pg_exec(w.conn.get(), "COMMIT");
  EXPECT_EQ(wait_for_count(w.on_new(), "SELECT count(*) FROM t", 1, 10s), 1);
  EXPECT_TRUE(no_divergence(w.proxy.status()));
}

// Deferred constraint triggers run at COMMIT; for a wrapped write that is the proxy's COMMIT,
// whose answer the proxy takes. Their notices, and a NOTIFY to the session itself, which is
// delivered at commit, belong to the client's statement.
TEST(dual_write, notices_and_notifications_of_the_wrapping_commit_reach_the_client) {
  DW_SKIP_WITHOUT_PROXY();
  wrap_case w{"dw_wrap_notices",
              "CREATE TABLE t (a int);"
              "CREATE FUNCTION note() RETURNS trigger LANGUAGE plpgsql AS "
              "$$BEGIN RAISE NOTICE 'deferred %', NEW.a; RETURN NULL; END$$;"
              "CREATE CONSTRAINT TRIGGER t_note AFTER INSERT ON t INITIALLY DEFERRED "
              "FOR EACH ROW EXECUTE FUNCTION note()"};
  std::vector<std::string> notices;
  PQsetNoticeReceiver(
      w.conn.get(),
      [](void* arg, const PGresult* r) {
        static_cast<std::vector<std::string>*>(arg)->emplace_back(
            PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
      },
      &notices);
  pg_exec(w.conn.get(), "INSERT INTO t VALUES (7)");
  EXPECT_EQ(notices, std::vector<std::string>{"deferred 7"});

  pg_exec(w.conn.get(), "LISTEN dw_wrap");
  pg_exec(w.conn.get(), "NOTIFY dw_wrap, 'to myself'");
  ASSERT_EQ(PQconsumeInput(w.conn.get()), 1) << PQerrorMessage(w.conn.get());
  PGnotify* n = PQnotifies(w.conn.get());
  ASSERT_NE(n, nullptr) << "the notification was lost";
  EXPECT_STREQ(n->extra, "to myself");
  PQfreemem(n);
  EXPECT_TRUE(no_divergence(w.proxy.status()));
}

// Each of these fails with "cannot run inside a transaction block" (or, for the procedure
// and the DO block, "invalid transaction termination") when wrapped.
TEST(dual_write, statements_refused_inside_a_transaction_block_run_unwrapped) {
  DW_SKIP_WITHOUT_PROXY();
  wrap_case w{"dw_wrap_refused",
              "CREATE TABLE c (a int); CREATE INDEX c_a ON c (a); ALTER TABLE c CLUSTER ON c_a;"
              "CREATE TABLE log (a int);"
              "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$BEGIN INSERT INTO log VALUES (1); "
              "COMMIT; INSERT INTO log VALUES (2); ROLLBACK; END$$"};
  for (const char* sql : {"CLUSTER", "CALL p()",
                          "DO $$BEGIN INSERT INTO log VALUES (3); COMMIT; END$$", "DISCARD ALL"}) {
    const auto r = timed_query(w.conn.get(), sql, 10s);
    ASSERT_TRUE(r.finished) << sql;
    EXPECT_TRUE(r.ok) << sql << ": " << r.message;
  }
  EXPECT_EQ(pg_value(w.conn.get(), "SELECT string_agg(a::text, ',' ORDER BY a) FROM log"), "1,3");
  EXPECT_EQ(wait_for_count(w.on_new(), "SELECT count(*) FROM log", 2, 10s), 2);
  EXPECT_TRUE(no_divergence(w.proxy.status()));
}

// COMMIT AND CHAIN of a failed transaction answers ROLLBACK and starts the next transaction
// with the same characteristics. The shadow had to chain too: with a plain ROLLBACK the next
// INSERT ran there in autocommit under default_transaction_read_only and failed.
TEST(dual_write, commit_and_chain_of_a_failed_transaction_chains_on_the_shadow) {
  DW_SKIP_WITHOUT_PROXY();
  wrap_case w{"dw_wrap_chain", "CREATE TABLE r (a int)"};
  // As the regression suite's transactions test does it: the chained transaction of a
  // COMMIT AND CHAIN keeps READ WRITE through the failed one.
  pg_exec(w.conn.get(), "SET default_transaction_read_only = on");
  pg_exec(w.conn.get(), "START TRANSACTION READ WRITE");
  pg_exec(w.conn.get(), "INSERT INTO r VALUES (1)");
  pg_exec(w.conn.get(), "COMMIT AND CHAIN");
  const auto bad = timed_query(w.conn.get(), "INSERT INTO r VALUES ('x')", 10s);
  ASSERT_TRUE(bad.finished);
  EXPECT_EQ(bad.sqlstate, "22P02") << bad.message;
  pg_exec(w.conn.get(), "COMMIT AND CHAIN");
  EXPECT_EQ(pg_value(w.conn.get(), "SHOW transaction_read_only"), "off");
  pg_exec(w.conn.get(), "INSERT INTO r VALUES (2)");
  pg_exec(w.conn.get(), "COMMIT");
  const std::string on_new = w.on_new();
  EXPECT_EQ(wait_for_count(on_new, "SELECT count(*) FROM r WHERE a = 2", 1, 10s), 1);
  EXPECT_EQ(pg_value(on_new, "SELECT string_agg(a::text, ',' ORDER BY a) FROM r"), "1,2");
  EXPECT_TRUE(no_divergence(w.proxy.status()));
}

// A CREATE INDEX CONCURRENTLY that fails on its data leaves an invalid index on the primary
// (create_index, indexing); the shadow repeats it, so the index that the client then drops
// exists on both sides.
TEST(dual_write, failed_concurrent_index_build_leaves_the_same_invalid_index_on_new) {
  DW_SKIP_WITHOUT_PROXY();
  wrap_case w{"dw_wrap_cic", "CREATE TABLE t (a int, b int); INSERT INTO t VALUES (1, 0)"};
  const auto cic = timed_query(w.conn.get(), "CREATE INDEX CONCURRENTLY t_ab ON t ((a / b))", 10s);
  ASSERT_TRUE(cic.finished);
  EXPECT_EQ(cic.sqlstate, "22012") << cic.message;
  const std::string invalid =
      "SELECT count(*) FROM pg_index WHERE indexrelid = to_regclass('t_ab') AND NOT indisvalid";
  EXPECT_EQ(wait_for_count(w.on_new(), invalid, 1, 10s), 1);
  pg_exec(w.conn.get(), "DROP INDEX t_ab");
  EXPECT_TRUE(no_divergence(w.proxy.status()));
}

// The divergence record names the tags of the statement that differed. A wrapped write's job
// starts with the proxy's BEGIN, and the record used to show "BEGIN" on both sides.
TEST(dual_write, divergence_record_of_a_wrapped_write_carries_the_differing_tags) {
  DW_SKIP_WITHOUT_PROXY();
  wrap_case w{"dw_wrap_record", "CREATE TABLE t (a int); INSERT INTO t VALUES (1)"};
  pg_exec(pg_connect(old_cluster().admin_conninfo(w.db)).get(), "INSERT INTO t VALUES (2)");
  pg_exec(w.conn.get(), "UPDATE t SET a = a + 10");
  ASSERT_GE(w.proxy.status().divergences, 1u);
  std::ifstream in{w.proxy.divergence_log()};
  const std::string log{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  EXPECT_NE(log.find(R"("primary":{"tag":"UPDATE 2")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("shadow":{"tag":"UPDATE 1")"), std::string::npos) << log;
}

}  // namespace
}  // namespace dw::test
