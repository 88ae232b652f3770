// rewrite_nondeterministic(): each function form, where a literal may and may not stand in,
// text outside the calls kept byte for byte, and the reports of what stays uncovered.
#include "compare/nondeterminism.hpp"

#include <gtest/gtest.h>

#include <string>

#include "compare/classifier.hpp"

namespace dw::compare::test {
namespace {

constexpr std::string_view tx_ts = "2026-11-21 10:00:00.123456+00";
constexpr std::string_view st_ts = "2026-11-21 10:00:01.5+00";
const std::string tx = "('2026-11-21 10:00:00.123456+00'::timestamptz)";
const std::string st = "('2026-11-21 10:00:01.5+00'::timestamptz)";

// Deterministic stand-ins for the proxy's random sources: 0.25, 0.5, ... and uuids ...01, ...02.
nondeterministic_values test_values() {
  nondeterministic_values v;
  v.transaction_timestamp = tx_ts;
  v.statement_timestamp = st_ts;
  v.random = [n = 0]() mutable { return 0.25 * ++n; };
  v.uuid = [n = 0]() mutable {
    return "00000000-0000-4000-8000-00000000000" + std::to_string(++n);
  };
  return v;
}

rewrite_result rewrite(std::string_view sql) {
  rewrite_result r = rewrite_nondeterministic(sql, test_values());
  // Whatever comes out must still be one parseable statement list of the same length.
  const classification before = classify(sql);
  const classification after = classify(r.sql);
  EXPECT_FALSE(after.unparseable && !before.unparseable) << r.sql;
  EXPECT_EQ(after.statements.size(), before.statements.size()) << r.sql;
  return r;
}

std::string rewritten(std::string_view sql) {
  const rewrite_result r = rewrite(sql);
  EXPECT_TRUE(r.not_covered.empty())
      << sql << " -> " << (r.not_covered.empty() ? "" : r.not_covered[0]);
  return r.sql;
}

// The statement comes back as it was, with one report whose text contains `why`.
void left_alone(std::string_view sql, std::string_view why) {
  const rewrite_result r = rewrite(sql);
  EXPECT_EQ(r.sql, sql);
  EXPECT_EQ(r.replaced, 0) << sql;
  ASSERT_EQ(r.not_covered.size(), 1u) << sql;
  EXPECT_NE(r.not_covered[0].find(why), std::string::npos) << r.not_covered[0];
}

TEST(rewrite_fast_path, statements_without_candidates_come_back_identical) {
  for (const std::string_view sql :
       {"SELECT 1", "UPDATE t SET a = $1 WHERE id = $2", "BEGIN", "",
        "SELECT known, renown FROM t",  // passes the substring check, parses, has no call
        "SELECT 'now()' -- now()\n", "SELECT current_user", "SELEC now("}) {
    const rewrite_result r = rewrite_nondeterministic(sql, test_values());
    EXPECT_EQ(r.sql, sql);
    EXPECT_EQ(r.replaced, 0);
  }
  EXPECT_FALSE(may_be_nondeterministic("UPDATE pgbench_accounts SET abalance = abalance + 1"));
  EXPECT_TRUE(may_be_nondeterministic("VALUES (CURRENT_TIMESTAMP)"));
  EXPECT_TRUE(may_be_nondeterministic("select NOW()"));
}

TEST(rewrite_times, transaction_time_forms) {
  EXPECT_EQ(rewritten("INSERT INTO h(mtime) VALUES (CURRENT_TIMESTAMP)"),
            "INSERT INTO h(mtime) VALUES (" + tx + ")");
  EXPECT_EQ(rewritten("SELECT now()"), "SELECT " + tx);
  EXPECT_EQ(rewritten("SELECT NOW ( )"), "SELECT " + tx);
  EXPECT_EQ(rewritten("SELECT pg_catalog.now()"), "SELECT " + tx);
  EXPECT_EQ(rewritten("SELECT \"now\"()"), "SELECT " + tx);
  EXPECT_EQ(rewritten("SELECT now/* why */(/* not */)"), "SELECT " + tx);
  EXPECT_EQ(rewritten("SELECT transaction_timestamp()"), "SELECT " + tx);
  EXPECT_EQ(rewritten("SELECT current_timestamp(3)"),
            "SELECT ('2026-11-21 10:00:00.123456+00'::timestamptz(3))");
}

TEST(rewrite_times, date_and_local_forms_cast_the_same_instant) {
  const std::string ts = "'2026-11-21 10:00:00.123456+00'::timestamptz";
  EXPECT_EQ(rewritten("SELECT CURRENT_DATE"), "SELECT (" + ts + "::date)");
  EXPECT_EQ(rewritten("SELECT CURRENT_TIME"), "SELECT (" + ts + "::timetz)");
  EXPECT_EQ(rewritten("SELECT CURRENT_TIME(2)"), "SELECT (" + ts + "::timetz(2))");
  EXPECT_EQ(rewritten("SELECT LOCALTIME"), "SELECT (" + ts + "::time)");
  EXPECT_EQ(rewritten("SELECT localtime ( 0 )"), "SELECT (" + ts + "::time(0))");
  EXPECT_EQ(rewritten("SELECT LOCALTIMESTAMP"), "SELECT (" + ts + "::timestamp)");
  EXPECT_EQ(rewritten("SELECT LOCALTIMESTAMP(6)"), "SELECT (" + ts + "::timestamp(6))");
}

TEST(rewrite_times, statement_and_clock_time) {
  EXPECT_EQ(rewritten("SELECT statement_timestamp()"), "SELECT " + st);
  EXPECT_EQ(rewritten("INSERT INTO log VALUES (clock_timestamp())"),
            "INSERT INTO log VALUES (" + st + ")");
  EXPECT_EQ(rewritten("INSERT INTO log VALUES (timeofday())"),
            "INSERT INTO log VALUES ((to_char('2026-11-21 10:00:01.5+00'::timestamptz, "
            "'Dy Mon DD HH24:MI:SS.US YYYY TZ')))");
}

TEST(rewrite_times, stable_times_are_rewritten_per_row_too) {
  EXPECT_EQ(
      rewritten("UPDATE t SET m = now() WHERE m < CURRENT_DATE"),
      "UPDATE t SET m = " + tx + " WHERE m < ('2026-11-21 10:00:00.123456+00'::timestamptz::date)");
  EXPECT_EQ(rewritten("SELECT * FROM t WHERE created > now() - interval '1 day'"),
            "SELECT * FROM t WHERE created > " + tx + " - interval '1 day'");
}

TEST(rewrite_values, random_and_uuid_once_per_site) {
  EXPECT_EQ(rewritten("INSERT INTO t VALUES (random(), random())"),
            "INSERT INTO t VALUES (('0.25'::float8), ('0.5'::float8))");
  EXPECT_EQ(rewritten("INSERT INTO t (id) VALUES (gen_random_uuid()), (uuid_generate_v4())"),
            "INSERT INTO t (id) VALUES (('00000000-0000-4000-8000-000000000001'::uuid)), "
            "(('00000000-0000-4000-8000-000000000002'::uuid))");
  EXPECT_EQ(rewritten("SELECT random()"), "SELECT ('0.25'::float8)");
  EXPECT_EQ(rewritten("INSERT INTO t SELECT gen_random_uuid(), 1"),
            "INSERT INTO t SELECT ('00000000-0000-4000-8000-000000000001'::uuid), 1");
  EXPECT_EQ(rewritten("CALL p(random(), now())"), "CALL p(('0.25'::float8), " + tx + ")");
  EXPECT_EQ(rewritten("VALUES (random())"), "VALUES (('0.25'::float8))");
}

TEST(rewrite_values, per_row_volatile_calls_are_left_alone) {
  left_alone("UPDATE t SET r = random()", "per row");
  left_alone("UPDATE t SET m = clock_timestamp()", "per row");
  left_alone("INSERT INTO t SELECT gen_random_uuid() FROM generate_series(1, 3)", "per row");
  left_alone("SELECT random() FROM t", "per row");
  left_alone("SELECT random(), generate_series(1, 3)", "per row");  // several rows, no FROM
  left_alone("SELECT random(), f()", "per row");                    // f might return a set
  left_alone("INSERT INTO t VALUES ((SELECT random()))", "per row");
  left_alone("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET r = random()", "per row");
  left_alone("WITH x AS (SELECT random() AS r) INSERT INTO t SELECT r FROM x", "per row");
}

TEST(rewrite_text, nested_calls_strings_comments_and_parameters) {
  EXPECT_EQ(rewritten("SELECT date_trunc('day', now()), extract(epoch FROM now())"),
            "SELECT date_trunc('day', " + tx + "), extract(epoch FROM " + tx + ")");
  EXPECT_EQ(rewritten("SELECT 'now()', now() -- now()\n"), "SELECT 'now()', " + tx + " -- now()\n");
  EXPECT_EQ(rewritten("SELECT $$random()$$, /* now() */ E'now()\\'' || now()::text"),
            "SELECT $$random()$$, /* now() */ E'now()\\'' || " + tx + "::text");
  EXPECT_EQ(rewritten("INSERT INTO t VALUES ($1, now(), $2::int, random())"),
            "INSERT INTO t VALUES ($1, " + tx + ", $2::int, ('0.25'::float8))");
  EXPECT_EQ(rewritten("SELECT * FROM generate_series(now(), now() + '1h', '1m')"),
            "SELECT * FROM generate_series(" + tx + ", " + tx + " + '1h', '1m')");
}

TEST(rewrite_text, multi_statement_strings) {
  EXPECT_EQ(rewritten("BEGIN; INSERT INTO t VALUES (now()); UPDATE u SET m = CURRENT_TIMESTAMP; "
                      "COMMIT"),
            "BEGIN; INSERT INTO t VALUES (" + tx + "); UPDATE u SET m = " + tx + "; COMMIT");
  const rewrite_result r = rewrite("SELECT 1; SELECT now(); SELECT now()");
  EXPECT_EQ(r.replaced, 2);
}

TEST(rewrite_text, pgbench_history_insert) {
  EXPECT_EQ(rewritten("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
                      "VALUES (3, 1, 77, -4242, CURRENT_TIMESTAMP);"),
            "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
            "VALUES (3, 1, 77, -4242, " +
                tx + ");");
}

TEST(rewrite_later, text_that_runs_later_is_not_rewritten) {
  left_alone("CREATE TABLE t (a timestamptz DEFAULT now())", "DDL");
  left_alone("ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()", "DDL");
  left_alone("CREATE VIEW v AS SELECT now()", "DDL");
  left_alone("CREATE MATERIALIZED VIEW m AS SELECT now()", "materialized view");
  left_alone("PREPARE p AS INSERT INTO t VALUES (now())", "PREPARE");
  left_alone("DO $$ BEGIN INSERT INTO t VALUES (now()); END $$", "DO block");
  EXPECT_EQ(rewritten("CREATE TABLE t2 AS SELECT now() AS at"),
            "CREATE TABLE t2 AS SELECT " + tx + " AS at");
  EXPECT_EQ(rewritten("EXPLAIN SELECT now()"), "EXPLAIN SELECT now()");  // runs nothing
  EXPECT_EQ(rewritten("EXPLAIN ANALYZE INSERT INTO t VALUES (now())"),
            "EXPLAIN ANALYZE INSERT INTO t VALUES (" + tx + ")");
  EXPECT_EQ(rewritten("DECLARE c CURSOR FOR SELECT now()"), "DECLARE c CURSOR FOR SELECT " + tx);
  EXPECT_EQ(rewritten("COPY (SELECT now()) TO STDOUT"), "COPY (SELECT " + tx + ") TO STDOUT");
}

TEST(rewrite_reports, what_no_literal_can_replace) {
  left_alone("SELECT * FROM now()", "FROM item");
  left_alone("SELECT * FROM CURRENT_DATE", "FROM item");
  left_alone("INSERT INTO t VALUES (uuid_generate_v1())", "no literal");
  left_alone("SELECT txid_current()", "no literal");
  left_alone("INSERT INTO t VALUES (nextval('s'))", "sequence values");
  left_alone("INSERT INTO t VALUES ('now'::timestamptz)", "own clock");
  left_alone("INSERT INTO t VALUES (' Today ')", "own clock");
  left_alone("SELECT random(1, 10)", "arguments");
  left_alone("SELECT random() OVER ()", "OVER");
  left_alone("SELEC now()", "not parsed");
}

TEST(rewrite_reports, unusable_values_are_not_spliced) {
  nondeterministic_values v = test_values();
  v.transaction_timestamp = "2026-01-01'; DROP TABLE t; --";
  v.random = nullptr;
  const rewrite_result r = rewrite_nondeterministic("INSERT INTO t VALUES (now(), random())", v);
  EXPECT_EQ(r.sql, "INSERT INTO t VALUES (now(), random())");
  EXPECT_EQ(r.replaced, 0);
  ASSERT_EQ(r.not_covered.size(), 2u);
  EXPECT_EQ(r.not_covered[0], "now() at 22: no usable value was supplied");
  EXPECT_EQ(r.not_covered[1], "random() at 29: no usable value was supplied");
}

TEST(rewrite_reports, partial_rewrites_keep_the_rest) {
  const rewrite_result r = rewrite("UPDATE t SET m = now(), r = random()");
  EXPECT_EQ(r.sql, "UPDATE t SET m = " + tx + ", r = random()");
  EXPECT_EQ(r.replaced, 1);
  ASSERT_EQ(r.not_covered.size(), 1u);
  EXPECT_EQ(r.not_covered[0].rfind("random() at 28: evaluated per row", 0), 0u) << r.not_covered[0];
}

}  // namespace
}  // namespace dw::compare::test
