// classify(): one case per statement kind, each asserting the exact set of flags (what routing
// reads), plus multi-statement strings, parameters and the pgbench statements.
#include <gtest/gtest.h>

#include "tests/compare/classify_test_util.hpp"

namespace dw::compare::test {
namespace {

TEST(classify_reads, plain_reads_stay_on_the_primary) {
  EXPECT_EQ(flags_of("SELECT 1"), "read_only");
  EXPECT_EQ(flags_of("select a, b from t where id = 3 order by a limit 5"), "read_only");
  EXPECT_EQ(flags_of("VALUES (1, 'a'), (2, 'b')"), "read_only");
  EXPECT_EQ(flags_of("TABLE t"), "read_only");
  EXPECT_EQ(flags_of("SHOW search_path"), "read_only");
  EXPECT_EQ(flags_of("SELECT * FROM a JOIN b USING (id) WHERE a.x IN (SELECT x FROM c)"),
            "read_only");
  EXPECT_EQ(flags_of("WITH x AS (SELECT 1 AS a) SELECT a FROM x"), "read_only");
  EXPECT_EQ(flags_of("SELECT 1 UNION ALL SELECT 2"), "read_only");
  EXPECT_EQ(flags_of("SELECT CURRENT_USER, current_schema, session_user"), "read_only");
}

TEST(classify_reads, builtin_functions_are_known_harmless) {
  EXPECT_EQ(flags_of("SELECT lower(name), count(*), coalesce(max(x), 0) FROM t GROUP BY 1"),
            "read_only");
  EXPECT_EQ(flags_of("SELECT pg_catalog.upper('a'), extract(year FROM d), d AT TIME ZONE 'UTC' "
                     "FROM t"),
            "read_only");
  EXPECT_EQ(flags_of("SELECT x FROM generate_series(1, 3) AS g(x)"), "read_only");
  EXPECT_EQ(flags_of("SELECT row_number() OVER (ORDER BY a), jsonb_build_object('a', 1) FROM t"),
            "read_only");
  EXPECT_EQ(flags_of("SELECT current_setting('TimeZone'), pg_sleep(0)"), "read_only");
  // Volatile in pg_proc, yet they only read: psql's \d+ of a partitioned table, xact status.
  EXPECT_EQ(flags_of("SELECT conname FROM pg_catalog.pg_constraint WHERE confrelid IN "
                     "(SELECT pg_catalog.pg_partition_ancestors('20269'))"),
            "read_only");
  EXPECT_EQ(flags_of("SELECT * FROM pg_partition_tree('p')"), "read_only");
  EXPECT_EQ(flags_of("SELECT txid_status(1474), pg_xact_status('2471'::xid8)"), "read_only");
}

TEST(classify_reads, nondeterministic_reads_are_still_reads) {
  EXPECT_EQ(flags_of("SELECT now()"), "read_only nondeterministic");
  EXPECT_EQ(flags_of("SELECT CURRENT_TIMESTAMP, CURRENT_DATE"), "read_only nondeterministic");
  EXPECT_EQ(flags_of("SELECT LOCALTIMESTAMP(2)"), "read_only nondeterministic");
  EXPECT_EQ(flags_of("SELECT random()"), "read_only nondeterministic");
  EXPECT_EQ(flags_of("SELECT gen_random_uuid()"), "read_only nondeterministic");
  EXPECT_EQ(flags_of("SELECT clock_timestamp(), statement_timestamp(), timeofday()"),
            "read_only nondeterministic");
  EXPECT_EQ(flags_of("SELECT ext.uuid_generate_v4()"), "read_only nondeterministic");
}

TEST(classify_reads, locking_reads_go_to_the_shadow) {
  EXPECT_EQ(flags_of("SELECT * FROM t WHERE id = 1 FOR UPDATE"), "locking_read");
  EXPECT_EQ(flags_of("SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED"), "locking_read");
  EXPECT_EQ(flags_of("SELECT * FROM t FOR SHARE"), "locking_read");
  EXPECT_EQ(flags_of("SELECT * FROM t FOR KEY SHARE NOWAIT"), "locking_read");
  EXPECT_EQ(flags_of("SELECT * FROM (SELECT * FROM t FOR UPDATE) s"), "locking_read");
  EXPECT_EQ(flags_of("LOCK TABLE t IN ACCESS EXCLUSIVE MODE"), "locking_read");
}

TEST(classify_calls, sequences_and_locks_are_volatile) {
  EXPECT_EQ(flags_of("SELECT nextval('s')"), "volatile_call uses_sequence");
  EXPECT_EQ(flags_of("SELECT pg_catalog.setval('s', 42)"), "volatile_call uses_sequence");
  EXPECT_EQ(flags_of("SELECT currval('s')"), "volatile_call");
  EXPECT_EQ(flags_of("SELECT pg_advisory_lock(1)"), "volatile_call");
  EXPECT_EQ(flags_of("SELECT pg_try_advisory_xact_lock(1, 2)"), "volatile_call");
  EXPECT_EQ(flags_of("SELECT pg_advisory_unlock_all()"), "volatile_call");
  EXPECT_EQ(flags_of("SELECT txid_current()"), "volatile_call nondeterministic");
  EXPECT_EQ(flags_of("SELECT pg_current_xact_id()"), "volatile_call nondeterministic");
  EXPECT_EQ(flags_of("SELECT pg_notify('chan', 'x')"), "volatile_call");
  EXPECT_EQ(flags_of("SELECT lo_unlink(42)"), "volatile_call");
}

TEST(classify_calls, set_config_and_setseed_change_the_session) {
  EXPECT_EQ(flags_of("SELECT set_config('search_path', 'app', false)"),
            "session_state volatile_call");
  EXPECT_EQ(flags_of("SELECT setseed(0.5)"), "session_state volatile_call");
}

// A user function may write, and a SELECT that writes must reach the shadow.
TEST(classify_calls, unknown_functions_are_volatile) {
  EXPECT_EQ(flags_of("SELECT user_function()"), "volatile_call");
  EXPECT_EQ(flags_of("SELECT * FROM app.report(3)"), "volatile_call");
  EXPECT_EQ(flags_of("SELECT app.lower('x')"), "volatile_call");  // not the built-in
  EXPECT_EQ(flags_of("SELECT \"Lower\"('x')"), "volatile_call");  // quoted: another name
  EXPECT_EQ(flags_of("SELECT x FROM t WHERE f(x) > 0"), "volatile_call");
  EXPECT_EQ(flags_of("SELECT random_normal()"), "volatile_call");  // PostgreSQL 16's: unknown
}

TEST(classify_calls, user_declared_read_only_functions) {
  const std::vector<std::string> declared{"user_function", "app.report"};
  classify_options options;
  options.read_only_functions = declared;
  EXPECT_EQ(flags_of("SELECT user_function()", options), "read_only");
  EXPECT_EQ(flags_of("SELECT other.user_function()", options), "read_only");
  EXPECT_EQ(flags_of("SELECT * FROM app.report(3)", options), "read_only");
  EXPECT_EQ(flags_of("SELECT * FROM report(3)", options), "volatile_call");
  EXPECT_EQ(flags_of("SELECT * FROM other.report(3)", options), "volatile_call");
}

TEST(classify_writes, dml) {
  EXPECT_EQ(flags_of("INSERT INTO t (a) VALUES (1)"), "writes_data uses_sequence");
  EXPECT_EQ(flags_of("INSERT INTO t SELECT * FROM u ON CONFLICT (id) DO NOTHING"),
            "writes_data uses_sequence");
  EXPECT_EQ(flags_of("UPDATE t SET a = a + 1 WHERE id = 3"), "writes_data");
  EXPECT_EQ(flags_of("UPDATE t SET a = DEFAULT"), "writes_data uses_sequence");
  EXPECT_EQ(flags_of("DELETE FROM t USING u WHERE t.id = u.id RETURNING t.*"), "writes_data");
  EXPECT_EQ(flags_of("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a "
                     "WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.a)"),
            "writes_data uses_sequence");
  EXPECT_EQ(flags_of("TRUNCATE a, s.b"), "writes_data");
  EXPECT_EQ(flags_of("UPDATE t SET v = nextval('s')"), "writes_data volatile_call uses_sequence");
  EXPECT_EQ(flags_of("INSERT INTO h (mtime) VALUES (CURRENT_TIMESTAMP)"),
            "writes_data nondeterministic uses_sequence");
}

TEST(classify_writes, data_modifying_ctes) {
  EXPECT_EQ(flags_of("WITH x AS (DELETE FROM t WHERE a < 0 RETURNING *) SELECT * FROM x"),
            "writes_data");
  EXPECT_EQ(flags_of("WITH x AS (INSERT INTO t VALUES (1) RETURNING id) SELECT id FROM x"),
            "writes_data uses_sequence");
  EXPECT_EQ(flags_of("WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT count(*) FROM x"),
            "writes_data");
}

TEST(classify_writes, select_into_and_create_table_as) {
  EXPECT_EQ(flags_of("SELECT * INTO archive FROM t"), "writes_data ddl");
  EXPECT_EQ(flags_of("SELECT * INTO TEMP scratch FROM t"), "writes_data ddl session_state");
  EXPECT_EQ(flags_of("CREATE TABLE c AS SELECT * FROM t"), "writes_data ddl");
  EXPECT_EQ(flags_of("CREATE TEMP TABLE c AS SELECT * FROM t"), "writes_data ddl session_state");
  EXPECT_EQ(flags_of("CREATE TABLE c AS SELECT * FROM t WITH NO DATA"), "ddl");
  EXPECT_EQ(flags_of("CREATE MATERIALIZED VIEW m AS SELECT * FROM t"), "writes_data ddl");
  EXPECT_EQ(flags_of("REFRESH MATERIALIZED VIEW CONCURRENTLY m"), "writes_data");
}

TEST(classify_writes, copy) {
  EXPECT_EQ(flags_of("COPY t FROM STDIN"), "writes_data uses_sequence copy_from_stdin");
  EXPECT_EQ(flags_of("COPY t (a, b) FROM STDIN WITH (FORMAT csv) WHERE a > 0"),
            "writes_data uses_sequence copy_from_stdin");
  EXPECT_EQ(flags_of("COPY t TO STDOUT"), "read_only copy_to_stdout");
  EXPECT_EQ(flags_of("COPY (SELECT a FROM t) TO STDOUT WITH (FORMAT binary)"),
            "read_only copy_to_stdout");
  EXPECT_EQ(flags_of("COPY (SELECT nextval('s')) TO STDOUT"),
            "volatile_call uses_sequence copy_to_stdout");
  EXPECT_EQ(flags_of("COPY (INSERT INTO t VALUES (1) RETURNING *) TO STDOUT"),
            "writes_data uses_sequence copy_to_stdout");
  EXPECT_EQ(flags_of("COPY t FROM '/data/t.csv'"), "writes_data uses_sequence other_effects");
  EXPECT_EQ(flags_of("COPY t FROM PROGRAM 'gunzip -c t.gz'"),
            "writes_data uses_sequence other_effects");
  EXPECT_EQ(flags_of("COPY t TO '/tmp/t.csv'"), "other_effects");
}

TEST(classify_ddl, schema_changes) {
  EXPECT_EQ(flags_of("CREATE TABLE t (id serial PRIMARY KEY, a text)"), "ddl");
  EXPECT_EQ(flags_of("ALTER TABLE t ADD COLUMN b int"), "ddl");
  EXPECT_EQ(flags_of("DROP TABLE IF EXISTS t CASCADE"), "ddl");
  EXPECT_EQ(flags_of("CREATE INDEX CONCURRENTLY i ON t (a)"), "ddl");
  EXPECT_EQ(flags_of("CREATE VIEW v AS SELECT * FROM t FOR UPDATE"), "ddl");
  EXPECT_EQ(flags_of("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'"), "ddl");
  EXPECT_EQ(flags_of("GRANT SELECT ON t TO r"), "ddl");
  EXPECT_EQ(flags_of("COMMENT ON TABLE t IS 'x'"), "ddl");
  EXPECT_EQ(flags_of("CREATE EXTENSION IF NOT EXISTS pgcrypto"), "ddl");
  EXPECT_EQ(flags_of("CREATE TABLE t (a int DEFAULT nextval('s'))"), "ddl");  // runs later
}

TEST(classify_ddl, temporary_objects_are_session_state) {
  EXPECT_EQ(flags_of("CREATE TEMP TABLE t (a int)"), "ddl session_state");
  EXPECT_EQ(flags_of("CREATE TEMPORARY TABLE t (a int) ON COMMIT DROP"), "ddl session_state");
  EXPECT_EQ(flags_of("CREATE TEMP VIEW v AS SELECT 1"), "ddl session_state");
  EXPECT_EQ(flags_of("CREATE TEMP SEQUENCE s"), "ddl session_state");
  EXPECT_EQ(flags_of("CREATE UNLOGGED TABLE t (a int)"), "ddl");
}

TEST(classify_transactions, verbs) {
  EXPECT_EQ(flags_of("BEGIN"), "tx=begin");
  EXPECT_EQ(flags_of("BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY"), "tx=begin");
  EXPECT_EQ(flags_of("START TRANSACTION"), "tx=begin");
  EXPECT_EQ(flags_of("COMMIT"), "tx=commit");
  EXPECT_EQ(flags_of("END"), "tx=commit");
  EXPECT_EQ(flags_of("COMMIT AND CHAIN"), "tx=commit chain");
  EXPECT_EQ(flags_of("ROLLBACK"), "tx=rollback");
  EXPECT_EQ(flags_of("ABORT"), "tx=rollback");
  EXPECT_EQ(flags_of("ROLLBACK AND CHAIN"), "tx=rollback chain");
  EXPECT_EQ(flags_of("SAVEPOINT a"), "tx=savepoint");
  EXPECT_EQ(flags_of("RELEASE SAVEPOINT a"), "tx=release");
  EXPECT_EQ(flags_of("RELEASE a"), "tx=release");
  EXPECT_EQ(flags_of("ROLLBACK TO SAVEPOINT a"), "tx=rollback_to");
  EXPECT_EQ(flags_of("ROLLBACK TO a"), "tx=rollback_to");
  EXPECT_EQ(flags_of("PREPARE TRANSACTION 'x'"), "tx=prepare_transaction");
  EXPECT_EQ(flags_of("COMMIT PREPARED 'x'"), "tx=commit_prepared");
  EXPECT_EQ(flags_of("ROLLBACK PREPARED 'x'"), "tx=rollback_prepared");
}

TEST(classify_session, settings) {
  EXPECT_EQ(flags_of("SET search_path = app, public"), "session_state");
  EXPECT_EQ(flags_of("SET TIME ZONE 'UTC'"), "session_state");
  EXPECT_EQ(flags_of("RESET search_path"), "session_state");
  EXPECT_EQ(flags_of("RESET ALL"), "session_state");
  EXPECT_EQ(flags_of("SET LOCAL statement_timeout = '5s'"), "session_state transaction_scoped");
  EXPECT_EQ(flags_of("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"),
            "session_state transaction_scoped");
  EXPECT_EQ(flags_of("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"), "session_state");
  EXPECT_EQ(flags_of("SET ROLE app_writer"), "session_state");
  EXPECT_EQ(flags_of("SET SESSION AUTHORIZATION bob"), "session_state");
  EXPECT_EQ(flags_of("SET CONSTRAINTS ALL DEFERRED"), "session_state transaction_scoped");
  EXPECT_EQ(flags_of("DISCARD ALL"), "session_state");
  EXPECT_EQ(flags_of("LOAD 'auto_explain'"), "session_state");
}

TEST(classify_session, prepared_statements) {
  EXPECT_EQ(flags_of("PREPARE p (int) AS SELECT * FROM t WHERE id = $1"), "session_state");
  // PREPARE only stores the plan; the UPDATE runs at EXECUTE, which goes to the shadow.
  EXPECT_EQ(flags_of("PREPARE u AS UPDATE t SET a = 1"), "session_state");
  EXPECT_EQ(flags_of("EXECUTE p(1)"), "other_effects");
  EXPECT_EQ(flags_of("EXECUTE p(nextval('s'))"), "volatile_call uses_sequence other_effects");
  EXPECT_EQ(flags_of("DEALLOCATE p"), "session_state");
  EXPECT_EQ(flags_of("DEALLOCATE ALL"), "session_state");
}

TEST(classify_session, cursors) {
  EXPECT_EQ(flags_of("DECLARE c CURSOR FOR SELECT * FROM t"), "session_state transaction_scoped");
  EXPECT_EQ(flags_of("DECLARE c CURSOR WITH HOLD FOR SELECT * FROM t"), "session_state");
  EXPECT_EQ(flags_of("DECLARE c CURSOR FOR SELECT * FROM t FOR UPDATE"),
            "session_state transaction_scoped locking_read");
  EXPECT_EQ(flags_of("FETCH 10 FROM c"), "session_state");
  EXPECT_EQ(flags_of("MOVE FORWARD 5 IN c"), "session_state");
  EXPECT_EQ(flags_of("CLOSE c"), "session_state");
  EXPECT_EQ(flags_of("CLOSE ALL"), "session_state");
}

TEST(classify_session, listen_and_notify) {
  EXPECT_EQ(flags_of("LISTEN chan"), "session_state");
  EXPECT_EQ(flags_of("UNLISTEN *"), "session_state");
  EXPECT_EQ(flags_of("NOTIFY chan, 'payload'"), "other_effects");
}

TEST(classify_explain, only_analyze_runs_the_statement) {
  EXPECT_EQ(flags_of("EXPLAIN SELECT * FROM t"), "read_only");
  EXPECT_EQ(flags_of("EXPLAIN UPDATE t SET a = 1"), "read_only");
  EXPECT_EQ(flags_of("EXPLAIN SELECT nextval('s')"), "read_only");
  EXPECT_EQ(flags_of("EXPLAIN ANALYZE SELECT * FROM t"), "read_only");
  EXPECT_EQ(flags_of("EXPLAIN ANALYZE UPDATE t SET a = 1"), "writes_data");
  EXPECT_EQ(flags_of("EXPLAIN (ANALYZE, BUFFERS) DELETE FROM t"), "writes_data");
  EXPECT_EQ(flags_of("EXPLAIN (ANALYZE true) INSERT INTO t VALUES (1)"),
            "writes_data uses_sequence");
  EXPECT_EQ(flags_of("EXPLAIN (ANALYZE false) UPDATE t SET a = 1"), "read_only");
  EXPECT_EQ(flags_of("EXPLAIN (ANALYZE off, VERBOSE) UPDATE t SET a = 1"), "read_only");
  EXPECT_EQ(flags_of("EXPLAIN (ANALYZE 0) UPDATE t SET a = 1"), "read_only");
  EXPECT_EQ(flags_of("EXPLAIN ANALYZE SELECT * FROM t FOR UPDATE"), "locking_read");
  EXPECT_EQ(flags_of("EXPLAIN ANALYZE CREATE TABLE c AS SELECT 1"), "writes_data ddl");
}

TEST(classify_code, do_blocks_and_procedures) {
  EXPECT_EQ(flags_of("DO $$ BEGIN UPDATE t SET a = 1; END $$"), "volatile_call");
  EXPECT_EQ(flags_of("DO LANGUAGE plpgsql 'BEGIN NULL; END'"), "volatile_call");
  EXPECT_EQ(flags_of("CALL proc()"), "volatile_call");
  EXPECT_EQ(flags_of("CALL app.proc(1, nextval('s'))"), "volatile_call uses_sequence");
}

TEST(classify_utility, maintenance_has_other_effects) {
  EXPECT_EQ(flags_of("VACUUM (ANALYZE) t"), "other_effects");
  EXPECT_EQ(flags_of("ANALYZE t"), "other_effects");
  EXPECT_EQ(flags_of("CHECKPOINT"), "other_effects");
  EXPECT_EQ(flags_of("CLUSTER t USING i"), "other_effects");
  EXPECT_EQ(flags_of("REINDEX TABLE t"), "other_effects");
  EXPECT_EQ(flags_of("ALTER SYSTEM SET work_mem = '64MB'"), "other_effects");
}

TEST(classify_parameters, placeholders_parse) {
  EXPECT_EQ(flags_of("SELECT * FROM t WHERE id = $1"), "read_only");
  EXPECT_EQ(flags_of("UPDATE t SET a = $1 WHERE id = $2"), "writes_data");
  EXPECT_EQ(flags_of("INSERT INTO t VALUES ($1, $2, now())"),
            "writes_data nondeterministic uses_sequence");
}

// pgbench's tpcb-like transaction, the benchmark the acceptance tests run.
TEST(classify_pgbench, tpcb_like) {
  EXPECT_EQ(flags_of("BEGIN;"), "tx=begin");
  EXPECT_EQ(flags_of("UPDATE pgbench_accounts SET abalance = abalance + -4242 WHERE aid = 1;"),
            "writes_data");
  EXPECT_EQ(flags_of("SELECT abalance FROM pgbench_accounts WHERE aid = 1;"), "read_only");
  EXPECT_EQ(flags_of("UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2;"),
            "writes_data");
  EXPECT_EQ(flags_of("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES "
                     "(1, 1, 1, -4242, CURRENT_TIMESTAMP);"),
            "writes_data nondeterministic uses_sequence");
  EXPECT_EQ(flags_of("END;"), "tx=commit");
}

}  // namespace
}  // namespace dw::compare::test

namespace dw::compare::test {
namespace {

bool outside_transaction(std::string_view sql) {
  const classification c = classify(sql);
  EXPECT_EQ(c.statements.size(), 1u) << sql;
  return !c.statements.empty() && c.statements[0].outside_transaction;
}

// The proxy wraps autocommit writes in BEGIN/COMMIT (ordered mode); these must not be wrapped.
TEST(classify_utility, statements_refused_inside_a_transaction_block_are_marked) {
  EXPECT_TRUE(outside_transaction("VACUUM t"));
  EXPECT_TRUE(outside_transaction("CREATE DATABASE d"));
  EXPECT_TRUE(outside_transaction("DROP DATABASE d"));
  EXPECT_TRUE(outside_transaction("ALTER SYSTEM SET work_mem = '8MB'"));
  EXPECT_TRUE(outside_transaction("CREATE INDEX CONCURRENTLY i ON t (a)"));
  EXPECT_TRUE(outside_transaction("DROP INDEX CONCURRENTLY i"));
  EXPECT_TRUE(outside_transaction("REINDEX TABLE t"));
  EXPECT_FALSE(outside_transaction("CREATE INDEX i ON t (a)"));
  EXPECT_FALSE(outside_transaction("DROP INDEX i"));
  EXPECT_FALSE(outside_transaction("UPDATE t SET a = 1"));
  EXPECT_FALSE(outside_transaction("ALTER TABLE t ADD COLUMN b int"));
}

TEST(classify_utility, concurrent_index_builds_are_marked) {
  const auto marked = [](std::string_view sql) {
    const classification c = classify(sql);
    return !c.statements.empty() && c.statements[0].concurrent_index_build;
  };
  EXPECT_TRUE(marked("CREATE INDEX CONCURRENTLY i ON t (a)"));
  EXPECT_TRUE(marked("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)"));
  EXPECT_TRUE(marked("REINDEX INDEX CONCURRENTLY i"));
  EXPECT_TRUE(marked("REINDEX (CONCURRENTLY, VERBOSE) TABLE t"));
  EXPECT_FALSE(marked("REINDEX (VERBOSE) TABLE t"));
  EXPECT_FALSE(marked("CREATE INDEX i ON t (a)"));
  EXPECT_FALSE(marked("DROP INDEX CONCURRENTLY i"));
}

// Found by PostgreSQL's regression suite through a phase-2 proxy (scripts/regress.sh): these
// forms failed with "cannot run inside a transaction block" once wrapped.
TEST(classify_utility, cluster_subscription_discard_all_call_and_committing_do_are_not_wrapped) {
  EXPECT_TRUE(outside_transaction("CLUSTER"));
  EXPECT_TRUE(outside_transaction("CLUSTER clstrpart USING clstrpart_idx"));
  EXPECT_TRUE(outside_transaction("ALTER SUBSCRIPTION s REFRESH PUBLICATION"));
  EXPECT_TRUE(outside_transaction("ALTER SUBSCRIPTION s SET PUBLICATION p"));
  EXPECT_TRUE(outside_transaction("ALTER DATABASE d SET TABLESPACE ts"));
  EXPECT_TRUE(outside_transaction("DISCARD ALL"));
  EXPECT_FALSE(outside_transaction("DISCARD PLANS"));
  // A procedure may COMMIT or ROLLBACK only when called outside a transaction block.
  EXPECT_TRUE(outside_transaction("CALL p(1)"));
  EXPECT_TRUE(outside_transaction("DO $$BEGIN INSERT INTO t VALUES (1); COMMIT; END$$"));
  EXPECT_TRUE(outside_transaction("DO LANGUAGE plpgsql $$BEGIN\nRollBack;\nEND$$"));
  EXPECT_FALSE(outside_transaction("DO $$BEGIN INSERT INTO t VALUES (1); END$$"));
  EXPECT_FALSE(outside_transaction("DO $$BEGIN INSERT INTO committed_rows VALUES (1); END$$"));
  // alter_table
  EXPECT_TRUE(outside_transaction("ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY"));
  EXPECT_FALSE(outside_transaction("ALTER TABLE p DETACH PARTITION p1"));
  EXPECT_FALSE(outside_transaction("ALTER TABLE p DETACH PARTITION p1 FINALIZE"));
  EXPECT_FALSE(outside_transaction("ALTER TABLE p ATTACH PARTITION p1 FOR VALUES IN (1)"));
}

}  // namespace
}  // namespace dw::compare::test
