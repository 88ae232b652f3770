// What PostgreSQL's regression suite found through a dual-write proxy (scripts/regress.sh),
// each as its smallest case. In ordered mode the proxy wraps an autocommit write in a
// BEGIN/COMMIT of its own, and the client must not be able to tell: statements PostgreSQL
// refuses inside a transaction block are left unwrapped, and what PostgreSQL sends while the
// proxy's COMMIT runs (deferred triggers' notices, the session's own notifications) reaches
// the client. The sequence probe never waits for the session's own locks, a COMMIT AND CHAIN
// of a failed transaction chains on the shadow too, and a concurrent index build that failed
// on its data is repeated there. A whole transaction sent as one Query string has its COMMIT
// held like a separate one, and answers as PostgreSQL would. A deadlock through the proxy's
// write order for serial inserts ends as PostgreSQL ends one, with 40P01. Suite `dual_write`, so that the phase-1 rerun of the whole
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

// A lone autocommit write that changes rows only on the shadow (in production: the row's
// INSERT by another session still in flight on the primary) is rolled back there, so both
// sides end having changed nothing; it still counts as a divergence. Here NEW alone holds the
// row, put there by hand.
TEST(dual_write, a_wrapped_write_that_changed_rows_only_on_the_shadow_is_rolled_back_there) {
  DW_SKIP_WITHOUT_PROXY();
  wrap_case w{"dw_wrap_rollback", "CREATE TABLE t (id int PRIMARY KEY, v int)"};
  pg_exec(pg_connect(w.on_new()).get(), "INSERT INTO t VALUES (7, 1)");
  pg_exec(w.conn.get(), "UPDATE t SET v = 2 WHERE id = 7");
  ASSERT_GE(w.proxy.status().divergences, 1u);
  EXPECT_EQ(pg_value(w.on_new(), "SELECT v FROM t WHERE id = 7"), "1");
  // The session goes on: its next write runs on both sides and commits on both.
  pg_exec(w.conn.get(), "INSERT INTO t VALUES (8, 8)");
  EXPECT_EQ(pg_value(w.on_new(), "SELECT count(*) FROM t WHERE id = 8"), "1");
  std::ifstream in{w.proxy.divergence_log()};
  const std::string log{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  EXPECT_NE(log.find(R"("shadow":{"tag":"UPDATE 1","sqlstate":null,"message":null,"rolled_back":true})"),
            std::string::npos)
      << log;
}

// `BEGIN; UPDATE ...; COMMIT` in one Query string: the proxy runs it as two texts so that
// the COMMIT waits, like a separate one, until the shadow holds the transaction's row locks.
// Here NEW's row is locked by another transaction: the primary must not commit meanwhile
// (a conflicting write of another session could otherwise reach NEW first).
TEST(dual_write, commit_inside_a_multi_statement_query_waits_for_the_shadow) {
  DW_SKIP_WITHOUT_PROXY();
  wrap_case w{"dw_wrap_multi_hold", "CREATE TABLE r (id int PRIMARY KEY, v int); INSERT INTO r VALUES (1, 0)"};
  const pg_conn blocker = pg_connect(w.on_new());
  pg_exec(blocker.get(), "BEGIN");
  pg_exec(blocker.get(), "SELECT v FROM r WHERE id = 1 FOR UPDATE");
  send_query(w.conn.get(), "BEGIN; UPDATE r SET v = 7 WHERE id = 1; COMMIT; SELECT v FROM r WHERE id = 1");
  const std::string waiting =
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
      "wait_event_type = 'Lock' AND query LIKE '%UPDATE r SET v = 7%'";
  ASSERT_EQ(wait_for_count(w.on_new(), waiting, 1, 10s), 1);
  // The shadow waits on NEW; the client's transaction is still open on OLD.
  const std::string old_info = old_cluster().admin_conninfo(w.db);
  EXPECT_EQ(pg_value(old_info, "SELECT v FROM r WHERE id = 1"), "0");
  const auto early = await_query(w.conn.get(), 200ms);
  EXPECT_FALSE(early.finished) << "the primary committed before the shadow ran the UPDATE";
  pg_exec(blocker.get(), "ROLLBACK");
  const auto done = await_query(w.conn.get(), 10s);
  ASSERT_TRUE(done.finished);
  EXPECT_TRUE(done.ok) << done.message;
  EXPECT_EQ(done.value, "7");  // the answer of the last statement, after the COMMIT
  EXPECT_EQ(PQtransactionStatus(w.conn.get()), PQTRANS_IDLE);
  EXPECT_EQ(pg_value(old_info, "SELECT v FROM r WHERE id = 1"), "7");
  EXPECT_EQ(wait_for_count(w.on_new(), "SELECT v FROM r WHERE id = 1", 7, 10s), 7);
  EXPECT_TRUE(no_divergence(w.proxy.status()));
}

// Split or not, the client sees what PostgreSQL answers to the whole text: a failure before
// the COMMIT skips the rest (the transaction stays open and failed), and an error after it
// reports its position in the whole text.
TEST(dual_write, a_split_multi_statement_query_answers_as_the_whole_text_would) {
  DW_SKIP_WITHOUT_PROXY();
  wrap_case w{"dw_wrap_multi_answer", "CREATE TABLE r (a int)"};
  const pg_conn direct = pg_connect(old_cluster().admin_conninfo(w.db));
  const std::string failing_head = "BEGIN; INSERT INTO r VALUES (1); SELECT 1 / 0; COMMIT; INSERT INTO r VALUES (2)";
  const std::string failing_tail = "BEGIN; INSERT INTO r VALUES (3); COMMIT; SELECT nosuch FROM r";
  for (PGconn* c : {direct.get(), w.conn.get()}) {
    const pg_result head{PQexec(c, failing_head.c_str())};
    EXPECT_EQ(sqlstate_of(head.get()), "22012");
    EXPECT_EQ(PQtransactionStatus(c), PQTRANS_INERROR);
    pg_exec(c, "ROLLBACK");
    const pg_result tail{PQexec(c, failing_tail.c_str())};
    EXPECT_EQ(sqlstate_of(tail.get()), "42703");
    const char* position = PQresultErrorField(tail.get(), PG_DIAG_STATEMENT_POSITION);
    ASSERT_NE(position, nullptr);
    EXPECT_EQ(std::string{position}, std::to_string(failing_tail.find("nosuch") + 1));
    EXPECT_EQ(PQtransactionStatus(c), PQTRANS_IDLE);
  }
  // Row 3 was committed twice (directly and through the proxy); 1 and 2 never.
  EXPECT_EQ(pg_value(direct.get(), "SELECT string_agg(a::text, ',' ORDER BY a) FROM r"), "3,3");
  EXPECT_EQ(wait_for_count(w.on_new(), "SELECT count(*) FROM r", 1, 10s), 1);
  EXPECT_EQ(pg_value(w.on_new(), "SELECT string_agg(a::text, ',' ORDER BY a) FROM r"), "3");
  EXPECT_TRUE(no_divergence(w.proxy.status()));
}

// Two proxy sessions around a table with a serial column, whose inserts run one at a time
// (shadow.serialize_sequences) under a lock PostgreSQL cannot see. A holds hot row 1 in an
// open transaction; B sends a text that updates that row, and waits for A on the primary.
struct serial_insert_race {
  serial_insert_race(const std::string& name, const std::string& b_text)
      : w{name,
          "CREATE TABLE hot (id int PRIMARY KEY, v int); INSERT INTO hot VALUES (1, 0);"
          "CREATE TABLE ser (id serial PRIMARY KEY, who text)"},
        b{pg_connect(w.proxy.conninfo())},
        old_info{old_cluster().admin_conninfo(w.db)} {
    pg_exec(w.conn.get(), "BEGIN");
    pg_exec(w.conn.get(), "UPDATE hot SET v = 1 WHERE id = 1");
    send_query(b.get(), b_text);
    const std::string b_waits =
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
        "wait_event_type = 'Lock' AND query LIKE '%SET v = 2%'";
    b_waiting = wait_for_count(old_info, b_waits, 1, 10s) == 1;
  }
  // The rows of `ser` as "id:who,...", on OLD and (once it has `count` of them) on NEW.
  [[nodiscard]] std::string rows_on_old() const { return pg_value(old_info, rows_sql); }
  [[nodiscard]] std::string rows_on_new(long count) const {
    EXPECT_EQ(wait_for_count(w.on_new(), "SELECT count(*) FROM ser", count, 10s), count);
    return pg_value(w.on_new(), rows_sql);
  }

  static constexpr const char* rows_sql =
      "SELECT string_agg(id || ':' || who, ',' ORDER BY id) FROM ser";
  wrap_case w;  // its client is A
  pg_conn b;
  std::string old_info;
  bool b_waiting = false;  ///< B's text reached the primary and waits there for A
};

// B's text is one implicit transaction, so the proxy cannot cut it into pieces: it takes the
// serial-insert lock for its INSERT and then waits on the primary for A's row lock; A then
// inserts into the same table and waits for B's lock. Neither side alone would deadlock, so
// the proxy must find the cycle and fail A as PostgreSQL fails one side of a deadlock; B then
// completes, and OLD and NEW agree.
TEST(dual_write, a_deadlock_through_the_serialised_insert_order_fails_one_side_with_40p01) {
  DW_SKIP_WITHOUT_PROXY();
  serial_insert_race r{"dw_wrap_deadlock",
                       "INSERT INTO ser (who) VALUES ('b'); UPDATE hot SET v = 2 WHERE id = 1"};
  ASSERT_TRUE(r.b_waiting);
  PGconn* a = r.w.conn.get();
  const auto inserted = timed_query(a, "INSERT INTO ser (who) VALUES ('a')", 20s);
  ASSERT_TRUE(inserted.finished) << "the deadlock was not broken";
  EXPECT_EQ(inserted.sqlstate, "40P01") << inserted.message;
  EXPECT_EQ(PQtransactionStatus(a), PQTRANS_INERROR);
  pg_exec(a, "ROLLBACK");
  const auto done = await_query(r.b.get(), 20s);
  ASSERT_TRUE(done.finished);
  EXPECT_TRUE(done.ok) << done.message;
  EXPECT_EQ(r.rows_on_old(), "1:b");
  EXPECT_EQ(r.rows_on_new(1), "1:b");
  EXPECT_EQ(pg_value(r.w.on_new(), "SELECT v FROM hot"), "2");
  EXPECT_TRUE(no_divergence(r.w.proxy.status()));
}

// The same two sessions, but B sends a whole explicit transaction: the proxy runs its
// INSERT as a piece of its own, so B holds no write order while its UPDATE waits, and A's
// INSERT goes through as it would without the proxy.
TEST(dual_write, a_transaction_in_one_query_holds_no_write_order_while_it_waits) {
  DW_SKIP_WITHOUT_PROXY();
  serial_insert_race r{
      "dw_wrap_no_deadlock",
      "BEGIN; UPDATE hot SET v = 2 WHERE id = 1; INSERT INTO ser (who) VALUES ('b'); COMMIT"};
  ASSERT_TRUE(r.b_waiting);
  PGconn* a = r.w.conn.get();
  const auto inserted = timed_query(a, "INSERT INTO ser (who) VALUES ('a')", 20s);
  ASSERT_TRUE(inserted.finished);
  EXPECT_TRUE(inserted.ok) << inserted.message;
  pg_exec(a, "COMMIT");
  const auto done = await_query(r.b.get(), 20s);
  ASSERT_TRUE(done.finished);
  EXPECT_TRUE(done.ok) << done.message;
  EXPECT_EQ(r.rows_on_old(), "1:a,2:b");
  EXPECT_EQ(r.rows_on_new(2), "1:a,2:b");
  EXPECT_TRUE(no_divergence(r.w.proxy.status()));
}

}  // namespace
}  // namespace dw::test
