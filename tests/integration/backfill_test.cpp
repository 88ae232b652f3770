// dwctl backfill (issue 5) against the run's OLD and NEW clusters: a million rows copied and
// verified identical, awkward tables (composite keys, no key, NULLs, bytea, jsonb, arrays,
// enums, generated and identity columns, unicode, quoted names) copied exactly and a re-run
// changing nothing, runs stopped by Ctrl-C and by SIGKILL resuming from their checkpoint, and
// a backfill while 8 sessions write through dwproxy in phase 1 ending with verify passing.
// Each test has its own database; NEW starts with the schema only, as it would in production.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "tests/support/data_tools.hpp"
#include "tests/support/dual_write.hpp"
#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"
#include "tests/support/table_compare.hpp"
#include "tests/support/write_load.hpp"

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// Polls `done` until it holds or `deadline` passes: waiting for an event another process
/// makes visible (a checkpoint file growing), not a guess at how long it takes.
template <class Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds deadline) {
  const auto until = clock_type::now() + deadline;
  while (!done()) {
    if (clock_type::now() >= until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

/// count(*) and a sum of row hashes of the test's own (not dwctl's), on one side.
std::string digest(PGconn* conn, const std::string& table) {
  return pg_value(conn, "SELECT count(*) || '/' || coalesce(sum(hashtext(t::text)), 0) FROM " +
                            table + " t");
}

TEST(backfill, a_million_rows_are_copied_then_verified_identical) {
  const std::string db = "dw_backfill_million";
  create_databases(db,
                   "CREATE TABLE events (id bigint PRIMARY KEY, account int NOT NULL, "
                   "kind text, amount numeric(12,2), at timestamptz, payload jsonb)");
  admin_sides s{db};
  pg_exec(s.old_conn.get(),
          "INSERT INTO events SELECT g, g % 5000, CASE WHEN g % 3 = 0 THEN NULL ELSE 'k' || g % 17 "
          "END, g / 100.0, '2024-01-01'::timestamptz + g * interval '1 second', "
          "CASE WHEN g % 10 = 0 THEN jsonb_build_object('g', g) END "
          "FROM generate_series(1, 1000000) g; ANALYZE events");
  const auto cp = make_work_dir("backfill-million") / "cp.json";

  const auto started = clock_type::now();
  const auto r = run_data_command(db, {"backfill", "--json", "--checkpoint", cp.string()},
                                  {.env = {}, .stdin_data = {}, .timeout = 120s});
  const auto took = std::chrono::duration<double>(clock_type::now() - started).count();
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(json_at(r.out, "rows"), "1000000") << r.out;
  EXPECT_EQ(json_at(r.out, "tables.0.completed"), "true") << r.out;
  EXPECT_EQ(json_at(r.out, "tables.0.method"), "chunks (binary COPY)") << r.out;
  EXPECT_NE(r.err.find("1000000 rows,"), std::string::npos) << "progress: " << r.err;
  EXPECT_NE(r.err.find("rows/s"), std::string::npos) << "progress: " << r.err;
  EXPECT_FALSE(std::filesystem::exists(cp)) << "a finished run removes its checkpoint";

  const auto v = run_data_command(db, {"verify", "--json", "--quiet"},
                                  {.env = {}, .stdin_data = {}, .timeout = 120s});
  ASSERT_EQ(v.exit_code, 0) << v.describe();
  EXPECT_EQ(json_at(v.out, "tables.0.rows_new"), "1000000");
  EXPECT_EQ(digest(s.old_conn.get(), "events"), digest(s.new_conn.get(), "events"));
  std::printf("[ info ] backfill of 1M rows: %.1f s (%.0f rows/s); verify: %s s\n", took,
              1e6 / took, json_at(v.out, "seconds").c_str());
}

const std::string awkward_schema = R"(
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE SCHEMA "Sales Dept";
  CREATE TABLE "Sales Dept"."Order ""Lines""" (
    "Order Id" bigint, "Line" text, qty int, price numeric(12, 2), note text,
    PRIMARY KEY ("Order Id", "Line"));
  CREATE TABLE docs (id uuid PRIMARY KEY, body jsonb, tags text[], grid int[][], blob bytea,
    title text, feeling mood, title_length int GENERATED ALWAYS AS (length(title)) STORED,
    at timestamptz, span interval);
  CREATE TABLE events (n bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload json);
  CREATE TABLE loose (a int, b text);
  CREATE TABLE "select" ("from" text PRIMARY KEY, "x""y" int);
  CREATE TABLE "t""; DROP TABLE loose; --" (id int PRIMARY KEY);
)";

const std::string awkward_data = R"(
  INSERT INTO "Sales Dept"."Order ""Lines"""
    SELECT g / 5, 'línea ' || (g % 5) || ' 日本', g % 9, g * 1.25, CASE WHEN g % 4 = 0 THEN NULL
    ELSE E'quote '' and \\ and tab\t' END FROM generate_series(1, 3000) g;
  INSERT INTO docs (id, body, tags, grid, blob, title, feeling, at, span)
    SELECT md5(g::text)::uuid, CASE WHEN g % 5 = 0 THEN NULL
      ELSE jsonb_build_object('n', g, 'ü', '🙂', 'nested', jsonb_build_array(g, NULL, 'x')) END,
      ARRAY['a' || g, NULL, '"quoted"'], ARRAY[[g, 2], [3, NULL]],
      decode(lpad(to_hex(g), 8, '0') || '00ff', 'hex'), 'título ' || g,
      (ARRAY['sad', 'ok', 'happy'])[g % 3 + 1]::mood,
      '2024-03-01 12:00:00+00'::timestamptz + g * interval '1 minute', g * interval '1 hour'
    FROM generate_series(1, 2000) g;
  INSERT INTO events (payload) SELECT json_build_object('g', g) FROM generate_series(1, 500) g;
  INSERT INTO loose SELECT g % 50, CASE WHEN g % 7 = 0 THEN NULL ELSE 'x' END
    FROM generate_series(1, 700) g;
  INSERT INTO "select" VALUES ('a', 1), ('B', NULL), ('ç', 3);
  INSERT INTO "t""; DROP TABLE loose; --" SELECT generate_series(1, 10);
)";

const std::vector<std::string> awkward_tables{
    "\"Sales Dept\".\"Order \"\"Lines\"\"\"", "docs", "events", "loose", "\"select\"",
    "\"t\"\"; DROP TABLE loose; --\""};

TEST(backfill, awkward_tables_copy_exactly_and_a_rerun_changes_nothing) {
  const std::string db = "dw_backfill_awkward";
  create_databases(db, awkward_schema);
  admin_sides s{db};
  pg_exec(s.old_conn.get(), awkward_data);
  // NEW already holds some rows, as dual-write leaves them: one stale, one NEW-only.
  pg_exec(s.new_conn.get(),
          "INSERT INTO \"select\" VALUES ('a', 100), ('zzz', 0);"
          "INSERT INTO loose VALUES (1, 'stray')");
  const auto cp = (make_work_dir("backfill-awkward") / "cp.json").string();
  const std::vector<std::string> small_chunks{"--chunk-rows", "300", "--chunk-time-ms", "0"};
  // Nothing writes here: --sequences may move NEW's sequences with the rows.
  auto args = std::vector<std::string>{"backfill", "--json", "--quiet", "--sequences",
                                       "--checkpoint", cp};
  args.insert(args.end(), small_chunks.begin(), small_chunks.end());

  const auto first = run_data_command(db, args);
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  EXPECT_EQ(json_at(first.out, "rows"), "6213") << first.out;
  // Text COPY where a type is the database's own (the enum), binary elsewhere.
  EXPECT_NE(first.out.find("\"table\":\"public.docs\",\"method\":\"chunks (text COPY)\""),
            std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find("\"method\":\"whole table (binary COPY)\""), std::string::npos);

  // Backfill never deletes in a keyed table: the NEW-only row is repair's.
  auto verify_args = std::vector<std::string>{"verify", "--json", "--quiet"};
  verify_args.insert(verify_args.end(), small_chunks.begin(), small_chunks.end());
  const auto v = run_data_command(db, verify_args);
  EXPECT_EQ(v.exit_code, 1) << v.describe();
  EXPECT_EQ(listed_rows(v.out), (std::set<std::string>{"public.select extra_on_new from=zzz"}))
      << v.out;
  const auto repaired = run_data_command(db, {"repair", "--apply", "--log",
                                              (make_work_dir("repair-awkward") / "log").string()});
  ASSERT_EQ(repaired.exit_code, 0) << repaired.describe();
  const auto passed = run_data_command(db, verify_args);
  EXPECT_EQ(passed.exit_code, 0) << passed.describe();
  expect_tables_identical(s.old_conn.get(), s.new_conn.get(), awkward_tables);
  EXPECT_EQ(pg_value(s.new_conn.get(), "SELECT nextval('events_n_seq')"), "501")
      << "the identity sequence moved up with the rows";

  // A re-run with no checkpoint copies every chunk again and leaves NEW exactly as it was.
  const auto before = table_fingerprints(s.new_conn.get(), awkward_tables);
  const auto again = run_data_command(db, args);
  ASSERT_EQ(again.exit_code, 0) << again.describe();
  EXPECT_EQ(table_fingerprints(s.new_conn.get(), awkward_tables), before);
  EXPECT_EQ(json_at(again.out, "tables.1.table"), "public.docs");
  EXPECT_EQ(json_at(again.out, "tables.1.staged_chunks"), json_at(again.out, "tables.1.chunks"))
      << "every chunk of public.docs found NEW occupied and was upserted: " << again.out;
  expect_tables_identical(s.old_conn.get(), s.new_conn.get(), awkward_tables);

  // A change by hand on NEW in each keyed table is found by its key and repaired.
  pg_exec(s.new_conn.get(),
          "UPDATE \"Sales Dept\".\"Order \"\"Lines\"\"\" SET note = NULL "
          "  WHERE \"Order Id\" = 7 AND \"Line\" = 'línea 2 日本';"
          "UPDATE docs SET blob = '\\x00' WHERE id = md5('9')::uuid;"
          "DELETE FROM events WHERE n = 250;"
          "DELETE FROM loose WHERE ctid = (SELECT min(ctid) FROM loose WHERE b IS NULL)");
  const auto drift = run_data_command(db, verify_args);
  EXPECT_EQ(drift.exit_code, 1) << drift.describe();
  EXPECT_EQ(listed_rows(drift.out),
            (std::set<std::string>{
                "\"Sales Dept\".\"Order \"\"Lines\"\"\" different Order Id=7,Line=línea 2 日本",
                "public.docs different id=45c48cce-2e2d-7fbd-ea1a-fc51c7c6ad26",
                "public.events missing_on_new n=250"}))
      << drift.out;
  EXPECT_EQ(json_at(drift.out, "tables.3.unkeyed_rows.0.only_on_old"), "1") << drift.out;
  const auto fixed = run_data_command(db, {"repair", "--apply", "--log",
                                           (make_work_dir("repair-awkward") / "log").string()});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.describe();
  EXPECT_EQ(run_data_command(db, verify_args).exit_code, 0);
  expect_tables_identical(s.old_conn.get(), s.new_conn.get(), awkward_tables);
}

/// Starts dwctl on its own thread; the future holds its result, `pid` its process.
struct background_dwctl {
  std::future<command_result> result;
  pid_t pid = -1;
};

background_dwctl start_backfill(const std::string& db, const std::vector<std::string>& args) {
  auto started = std::make_shared<std::promise<pid_t>>();
  background_dwctl b;
  b.result = std::async(std::launch::async, [db, args, started] {
    return run_data_command(db, args, {.env = {}, .stdin_data = {}, .timeout = 60s},
                            [&](pid_t p) { started->set_value(p); });
  });
  b.pid = started->get_future().get();
  return b;
}

long count_rows(PGconn* conn) { return std::stol(pg_value(conn, "SELECT count(*) FROM ledger")); }

TEST(backfill, runs_stopped_by_ctrl_c_and_by_sigkill_resume_and_finish_identical) {
  const std::string db = "dw_backfill_resume";
  create_databases(db,
                   "CREATE TABLE ledger (account int, entry int, amount bigint, memo text, "
                   "PRIMARY KEY (account, entry))");
  admin_sides s{db};
  pg_exec(s.old_conn.get(),
          "INSERT INTO ledger SELECT g / 100, g % 100, g * 7, 'memo ' || g "
          "FROM generate_series(1, 100000) g; ANALYZE ledger");
  const auto cp = make_work_dir("backfill-resume") / "cp.json";
  // Throttled to about 4 s, so there is a middle to stop in.
  const std::vector<std::string> slow{"backfill",     "--json",          "--quiet",
                                      "--checkpoint", cp.string(),       "--chunk-rows",
                                      "1000",         "--chunk-time-ms", "0",
                                      "--max-rate",   "25000"};

  auto first = start_backfill(db, slow);
  ASSERT_TRUE(wait_until([&] { return checkpoint_rows(cp) >= 20000; }, 30s));
  ::kill(first.pid, SIGINT);
  const auto stopped = first.result.get();
  EXPECT_EQ(stopped.exit_code, 130) << stopped.describe();
  EXPECT_EQ(json_at(stopped.out, "interrupted"), "true") << stopped.out;
  const auto after_ctrl_c = checkpoint_rows(cp);
  EXPECT_LT(after_ctrl_c, 100000u) << "Ctrl-C did not stop the run";
  EXPECT_EQ(count_rows(s.new_conn.get()), static_cast<long>(after_ctrl_c))
      << "Ctrl-C stops between chunks: the checkpoint is exact";

  auto second = start_backfill(db, slow);
  ASSERT_TRUE(wait_until([&] { return checkpoint_rows(cp) >= after_ctrl_c + 20000; }, 30s));
  ::kill(second.pid, SIGKILL);
  const auto killed = second.result.get();
  EXPECT_EQ(killed.term_signal, SIGKILL) << killed.describe();
  const auto after_kill = checkpoint_rows(cp);
  EXPECT_LT(after_kill, 100000u) << "SIGKILL came too late to test a resume";
  EXPECT_GE(count_rows(s.new_conn.get()), static_cast<long>(after_kill));

  const auto last = run_data_command(db, {"backfill", "--json", "--quiet", "--checkpoint",
                                          cp.string(), "--chunk-rows", "1000"});
  ASSERT_EQ(last.exit_code, 0) << last.describe();
  EXPECT_EQ(json_at(last.out, "tables.0.resumed"), "true") << last.out;
  EXPECT_NE(last.out.find("resumed from checkpoint"), std::string::npos) << last.out;
  // Only what was left, plus at most the chunks the two workers had in flight.
  EXPECT_LE(std::stoul(json_at(last.out, "rows")), 100000 - after_kill + 2000) << last.out;
  EXPECT_FALSE(std::filesystem::exists(cp));

  const auto v = run_data_command(db, {"verify", "--quiet"});
  EXPECT_EQ(v.exit_code, 0) << v.describe();
  expect_tables_identical(s.old_conn.get(), s.new_conn.get(), {"ledger"});
}

// ---------------------------------------------------------------------------------------
// Live writes, following the runbook: 8 sessions write through dwproxy from phase 0; the
// proxy is paused, NEW's sequences are moved up to OLD's, phase 1 starts, traffic resumes,
// and the backfill runs while the sessions update, delete and insert rows of the tables being
// copied. Relative updates (balance + 1) make a lost or stale write visible as a different
// row; a row deleted while its chunk was copied would come back as an extra one; a serial
// value taken differently on NEW would show as a different journal row.

std::vector<std::string> random_write(std::mt19937& rng, int session) {
  std::uniform_int_distribution<long> id(1, 110'000);
  const auto a = id(rng), b = id(rng);
  const auto one = [&](long k) {
    return "UPDATE accounts SET balance = balance + 1, note = 's" + std::to_string(session) +
           "' WHERE id = " + std::to_string(k);
  };
  switch (std::uniform_int_distribution<int>(0, 9)(rng)) {
    case 0: case 1: case 2: case 3:
      return {one(a)};
    case 4: case 5:
      return {"DELETE FROM accounts WHERE id = " + std::to_string(a)};
    case 6:
      return {"INSERT INTO accounts VALUES (" + std::to_string(a) +
              ", 1, 'new') ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + 10"};
    case 7:  // a serial key: OLD and NEW must hand out the same values
      return {"INSERT INTO journal (account, amount) VALUES (" + std::to_string(a) + ", " +
              std::to_string(session) + ")"};
    default:  // two rows, in key order so sessions cannot deadlock each other
      return {"BEGIN", one(std::min(a, b)), one(std::max(a, b)), "COMMIT"};
  }
}

TEST(backfill, phase_1_writes_through_dwproxy_during_the_copy_end_with_verify_passing) {
  if (direct_mode()) GTEST_SKIP() << "needs dwproxy with OLD and NEW (not DW_IT_DIRECT)";
  const std::string db = "dw_backfill_live";
  create_databases(db,
                   "CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL, "
                   "note text);"
                   "CREATE TABLE journal (id bigserial PRIMARY KEY, account bigint NOT NULL, "
                   "amount int NOT NULL)");
  const std::vector<std::string> tables{"accounts", "journal"};
  admin_sides s{db};
  pg_exec(s.old_conn.get(),
          "INSERT INTO accounts SELECT g, 0, 'initial' FROM generate_series(1, 100000) g;"
          "INSERT INTO journal (account, amount) SELECT g, 0 FROM generate_series(1, 20000) g;"
          "ANALYZE accounts, journal");
  dual_write_options o;
  o.dbname = db;
  o.phase = 0;
  dual_write_proxy p{o};

  write_load load{p.conninfo(), 8, random_write};
  ASSERT_TRUE(wait_until([&] { return load.statements() >= 200; }, 30s))
      << "the write load did not start";

  const auto paused = p.dwctl({"pause"});
  ASSERT_TRUE(paused.ok()) << paused.describe();
  ASSERT_TRUE(wait_until([&] { return json_at(p.status().json, "in_transaction") == "0"; }, 30s));
  const auto moved = run_data_command(db, {"backfill", "--sequences-only", "--json"});
  ASSERT_EQ(moved.exit_code, 0) << moved.describe();
  EXPECT_NE(moved.out.find("1 sequence(s) on NEW moved up to OLD's"), std::string::npos)
      << moved.out;
  const auto phase = p.dwctl({"phase", "1"});
  ASSERT_TRUE(phase.ok()) << phase.describe();
  const auto resumed = p.dwctl({"resume"});
  ASSERT_TRUE(resumed.ok()) << resumed.describe();
  ASSERT_EQ(p.status().phase, 1);

  const auto at_start = load.statements();
  const auto cp = make_work_dir("backfill-live") / "cp.json";
  const auto r = run_data_command(db, {"backfill", "--json", "--quiet", "--checkpoint",
                                       cp.string(), "--chunk-rows", "1000", "--chunk-time-ms",
                                       "0", "--max-rate", "30000"},
                                  {.env = {}, .stdin_data = {}, .timeout = 120s});
  const auto during = load.statements() - at_start;
  // Verify under the same writes: what differs only while a write travels to NEW settles on
  // recheck (rows, sequences), so a consistent pair of databases passes.
  const auto live = run_data_command(db, {"verify", "--json", "--quiet"});
  const auto while_verifying = load.statements() - at_start - during;
  load.stop();
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(live.exit_code, 0) << json_at(live.out, "summary") << "\n" << live.out.substr(0, 3000);
  EXPECT_GE(while_verifying, 100) << "too few writes overlapped the verification";
  EXPECT_GE(during, 500) << "too few writes overlapped the backfill to test anything";
  EXPECT_EQ(load.errors(), 0) << "a client saw an error: " << load.first_error();

  // Whatever the shadows still apply lands within their lag bound; then NEW equals OLD.
  wait_for_identical_fingerprints(s.old_conn.get(), s.new_conn.get(), tables, 20s);
  const auto v = run_data_command(db, {"verify", "--json", "--quiet"});
  EXPECT_EQ(v.exit_code, 0) << json_at(v.out, "summary") << "\n" << v.out.substr(0, 3000);
  expect_tables_identical(s.old_conn.get(), s.new_conn.get(), tables);
  std::printf("[ info ] %ld writes during the backfill; chunks %s, staged %s, retries %s\n",
              during, json_at(r.out, "tables.0.chunks").c_str(),
              json_at(r.out, "tables.0.staged_chunks").c_str(),
              json_at(r.out, "tables.0.retries").c_str());
}

}  // namespace
}  // namespace dw::test
