// dwctl verify and dwctl repair (issue 5) against the run's OLD and NEW clusters, straight
// (no proxy): rows changed, deleted and added on NEW by hand are each found with their key,
// a dry run changes nothing, --apply fixes exactly those rows and logs each change, --reverse
// makes OLD match NEW (phase 3); schema, sequence and business-rule differences fail the
// verification, through a dwproxy configuration file, and no password is ever printed.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
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

const std::string items_schema =
    "CREATE TABLE items (id int PRIMARY KEY, name text, qty int, tags text[]);"
    "CREATE TABLE pairs (a int, b text, v jsonb, PRIMARY KEY (a, b));";

const std::string items_data =
    "INSERT INTO items SELECT g, 'item ' || g, g % 7, ARRAY['t' || g, NULL] "
    "FROM generate_series(1, 20000) g;"
    "INSERT INTO pairs SELECT g / 10, 'k' || (g % 10), jsonb_build_object('g', g) "
    "FROM generate_series(1, 3000) g;";

/// The same rows on both sides (loaded on each, so the test starts from a verified state).
void identical_items(const std::string& db) {
  create_databases(db, items_schema);
  admin_sides s{db};
  pg_exec(s.old_conn.get(), items_data);
  pg_exec(s.new_conn.get(), items_data);
}

std::string fingerprint(PGconn* conn) {
  return table_fingerprints(conn, {"items", "pairs"}).front() + " " +
         table_fingerprints(conn, {"items", "pairs"}).back();
}

TEST(verify_repair, rows_changed_deleted_and_added_on_new_are_found_by_key_and_repaired) {
  const std::string db = "dw_verify_repair";
  identical_items(db);
  admin_sides s{db};
  const auto clean = run_data_command(db, {"verify", "--json", "--quiet", "--chunk-rows", "1000",
                                           "--chunk-time-ms", "0"});
  ASSERT_EQ(clean.exit_code, 0) << clean.describe();
  EXPECT_EQ(json_at(clean.out, "summary.tables"), "2") << clean.out;

  // --max-rate holds the run to 20 000 rows/s: items' 20 000 rows take a second at least.
  const auto started = std::chrono::steady_clock::now();
  const auto throttled = run_data_command(db, {"verify", "--quiet", "--tables", "items",
                                               "--max-rate", "20000", "--chunk-rows", "1000",
                                               "--chunk-time-ms", "0"});
  EXPECT_EQ(throttled.exit_code, 0) << throttled.describe();
  EXPECT_GE(std::chrono::steady_clock::now() - started, 900ms) << "--max-rate did not slow it";

  pg_exec(s.new_conn.get(),
          "UPDATE items SET qty = 99 WHERE id IN (5, 15001);"
          "UPDATE items SET tags = NULL WHERE id = 7777;"
          "DELETE FROM items WHERE id IN (1, 20000);"
          "INSERT INTO items VALUES (20001, 'only on NEW', 1, NULL), (0, 'before all', 1, NULL);"
          "UPDATE pairs SET v = '{\"g\": -1}' WHERE a = 42 AND b = 'k3';"
          "DELETE FROM pairs WHERE a = 100 AND b = 'k0';");
  const std::set<std::string> differences{
      "public.items different id=5",         "public.items different id=15001",
      "public.items different id=7777",      "public.items missing_on_new id=1",
      "public.items missing_on_new id=20000", "public.items extra_on_new id=20001",
      "public.items extra_on_new id=0",      "public.pairs different a=42,b=k3",
      "public.pairs missing_on_new a=100,b=k0"};

  const auto report = make_work_dir("verify") / "report.json";
  const auto found = run_data_command(db, {"verify", "--json", "--quiet", "--report",
                                           report.string(), "--chunk-rows", "1000",
                                           "--chunk-time-ms", "0"});
  ASSERT_EQ(found.exit_code, 1) << found.describe();
  EXPECT_EQ(listed_rows(found.out), differences) << found.out;
  EXPECT_EQ(json_at(found.out, "passed"), "false");
  EXPECT_EQ(json_at(found.out, "summary.rows_missing_on_new"), "3");
  std::ifstream in{report};
  const std::string saved{std::istreambuf_iterator<char>{in}, {}};
  EXPECT_EQ(listed_rows(saved), differences) << "the report file says what stdout said";

  const auto table = run_data_command(db, {"verify", "--quiet", "--tables", "items"});
  EXPECT_EQ(table.exit_code, 1) << table.describe();
  EXPECT_NE(table.out.find("public.items missing_on_new id=20000"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("public.pairs"), std::string::npos) << "--tables limits the run";

  // A dry run lists what it would do and changes nothing.
  const auto before = fingerprint(s.new_conn.get());
  const auto log = make_work_dir("repair") / "changes.jsonl";
  const auto dry = run_data_command(db, {"repair", "--json", "--log", log.string()});
  EXPECT_EQ(dry.exit_code, 1) << dry.describe();
  EXPECT_EQ(listed_rows(dry.out),
            (std::set<std::string>{
                "public.items update id=5", "public.items update id=15001",
                "public.items update id=7777", "public.items insert id=1",
                "public.items insert id=20000", "public.items delete id=20001",
                "public.items delete id=0", "public.pairs update a=42,b=k3",
                "public.pairs insert a=100,b=k0"}))
      << dry.out;
  EXPECT_EQ(json_at(dry.out, "applied"), "false");
  EXPECT_EQ(fingerprint(s.new_conn.get()), before) << "a dry run changed NEW";
  EXPECT_FALSE(std::filesystem::exists(log)) << "a dry run wrote a change log";

  const auto applied = run_data_command(db, {"repair", "--apply", "--log", log.string()});
  ASSERT_EQ(applied.exit_code, 0) << applied.describe();
  EXPECT_NE(applied.out.find("APPLIED: 9 change(s)"), std::string::npos) << applied.out;
  const auto lines = read_lines(log);
  ASSERT_EQ(lines.size(), 9u);
  for (const auto& l : lines) EXPECT_EQ(json_at(l, "direction"), "old_to_new") << l;
  EXPECT_EQ(std::filesystem::status(log).permissions() & std::filesystem::perms::others_all,
            std::filesystem::perms::none)
      << "the log holds row data: private to its owner";

  const auto after = run_data_command(db, {"verify", "--json", "--quiet"});
  EXPECT_EQ(after.exit_code, 0) << after.describe();
  EXPECT_TRUE(listed_rows(after.out).empty()) << after.out;
  expect_tables_identical(s.old_conn.get(), s.new_conn.get(), {"items", "pairs"});

  const auto nothing = run_data_command(db, {"repair", "--apply", "--log", log.string()});
  EXPECT_EQ(nothing.exit_code, 0) << nothing.describe();
  EXPECT_NE(nothing.out.find("NOTHING TO REPAIR"), std::string::npos) << nothing.out;
  EXPECT_EQ(read_lines(log).size(), 9u);
}

TEST(verify_repair, reverse_makes_old_match_new_for_phase_3) {
  const std::string db = "dw_repair_reverse";
  identical_items(db);
  admin_sides s{db};
  // In phase 3 NEW is the primary: OLD is the side that drifted.
  pg_exec(s.old_conn.get(),
          "UPDATE items SET name = 'stale' WHERE id = 10; DELETE FROM items WHERE id = 11;"
          "INSERT INTO items VALUES (30000, 'only on OLD', 0, NULL)");
  const auto dry = run_data_command(db, {"repair", "--reverse", "--json", "--tables", "items"});
  EXPECT_EQ(dry.exit_code, 1) << dry.describe();
  EXPECT_EQ(listed_rows(dry.out),
            (std::set<std::string>{"public.items update id=10", "public.items insert id=11",
                                   "public.items delete id=30000"}))
      << dry.out;
  const auto log = make_work_dir("repair-reverse") / "changes.jsonl";
  const auto applied =
      run_data_command(db, {"repair", "--reverse", "--apply", "--log", log.string()});
  ASSERT_EQ(applied.exit_code, 0) << applied.describe();
  EXPECT_EQ(pg_value(s.old_conn.get(), "SELECT name FROM items WHERE id = 10"), "item 10");
  EXPECT_EQ(pg_value(s.old_conn.get(), "SELECT count(*) FROM items WHERE id IN (11, 30000)"), "1");
  for (const auto& l : read_lines(log)) EXPECT_EQ(json_at(l, "direction"), "new_to_old") << l;
  expect_tables_identical(s.old_conn.get(), s.new_conn.get(), {"items", "pairs"});
}

// Repair while 8 sessions write through dwproxy in phase 1: the rows it fixes are being
// updated, deleted and inserted at the same time, and afterwards OLD and NEW are identical.
std::vector<std::string> item_write(std::mt19937& rng, int session) {
  std::uniform_int_distribution<long> id(1, 22'000);
  const auto k = std::to_string(id(rng));
  switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
    case 0:
      return {"DELETE FROM items WHERE id = " + k};
    case 1:
      return {"INSERT INTO items VALUES (" + k + ", 'w', 1, NULL) ON CONFLICT (id) DO UPDATE "
              "SET qty = items.qty + 10"};
    default:
      return {"UPDATE items SET qty = qty + 1, name = 's" + std::to_string(session) +
              "' WHERE id = " + k};
  }
}

TEST(verify_repair, repair_under_phase_1_writes_through_dwproxy_leaves_old_and_new_identical) {
  if (direct_mode()) GTEST_SKIP() << "needs dwproxy with OLD and NEW (not DW_IT_DIRECT)";
  const std::string db = "dw_repair_live";
  identical_items(db);
  admin_sides s{db};
  // Drift that only repair can fix: dual-write keeps it, however the rows are written later.
  // The load writes ids up to 22 000 and overwrites some of the drift before repair gets
  // there (more of it, the faster the proxy), so the 100 extra rows past its range are what
  // guarantee repair real work to do.
  pg_exec(s.new_conn.get(),
          "UPDATE items SET name = 'drift' WHERE id % 200 = 0;"
          "DELETE FROM items WHERE id % 500 = 7;"
          "INSERT INTO items SELECT g, 'extra', 0, NULL FROM generate_series(20001, 20030) g;"
          "INSERT INTO items SELECT g, 'extra', 0, NULL FROM generate_series(30001, 30100) g");
  dual_write_options o;
  o.dbname = db;
  o.phase = 1;
  dual_write_proxy p{o};
  write_load load{p.conninfo(), 8, item_write};
  const auto log = make_work_dir("repair-live") / "changes.jsonl";
  const auto at_start = load.statements();
  const auto r = run_data_command(db, {"repair", "--apply", "--tables", "items", "--log",
                                       log.string(), "--chunk-rows", "2000", "--chunk-time-ms",
                                       "0"});
  const auto during = load.statements() - at_start;
  load.stop();
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_GE(read_lines(log).size(), 100u) << r.out;
  EXPECT_GE(during, 100) << "too few writes overlapped the repair to test anything";
  EXPECT_EQ(load.errors(), 0) << "a client saw an error: " << load.first_error();

  wait_for_identical_fingerprints(s.old_conn.get(), s.new_conn.get(), {"items"}, 20s);
  const auto v = run_data_command(db, {"verify", "--json", "--quiet", "--tables", "items"});
  EXPECT_EQ(v.exit_code, 0) << json_at(v.out, "summary") << "\n" << v.out.substr(0, 3000);
  expect_tables_identical(s.old_conn.get(), s.new_conn.get(), {"items"});
}

/// A superuser of its own with a password no output may contain, on both clusters.
std::string make_verifier_role() {
  const std::string secret = "pw-" + std::to_string(::getpid()) + "-never-printed";
  for (const pg_cluster* c : {&old_cluster(), &new_cluster()}) {
    auto admin = pg_connect(c->admin_conninfo("postgres"));
    pg_exec(admin.get(),
            "DO $$ BEGIN CREATE ROLE dw_verifier LOGIN SUPERUSER; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    pg_exec(admin.get(), "ALTER ROLE dw_verifier PASSWORD '" + secret + "'");
  }
  return secret;
}

std::string write_config(const std::filesystem::path& dir, const std::string& db,
                         const std::string& new_password) {
  std::ofstream{dir / "dwproxy.yaml"}
      << "backends:\n"
      << "  old: { host: 127.0.0.1, port: " << old_cluster().port() << ", dbname: " << db
      << ", user: dw_verifier, password_file: old.pw, tls: disable }\n"
      << "  new: { host: 127.0.0.1, port: " << new_cluster().port() << ", dbname: " << db
      << ", user: dw_verifier, password: \"" << new_password << "\", tls: disable }\n"
      << "gates: { verify_report: verify.json, verify_max_age_minutes: 30 }\n"
      << "business_rules:\n"
      << "  - name: order total\n"
      << "    sql: SELECT count(*), sum(amount) FROM orders\n";
  return (dir / "dwproxy.yaml").string();
}

TEST(verify_repair, schema_sequences_and_business_rules_fail_verify_through_a_config_file) {
  const std::string db = "dw_verify_checks";
  create_databases(db,
                   "CREATE TABLE orders (id serial PRIMARY KEY, amount numeric NOT NULL, "
                   "  customer text);"
                   "CREATE INDEX orders_customer ON orders (customer);");
  admin_sides s{db};
  pg_exec(s.old_conn.get(),
          "INSERT INTO orders (amount, customer) SELECT g, 'c' || g % 10 "
          "FROM generate_series(1, 500) g");
  pg_exec(s.new_conn.get(),
          "DROP INDEX orders_customer; ALTER TABLE orders ALTER customer TYPE varchar(20)");
  const auto secret = make_verifier_role();
  const auto dir = make_work_dir("verify-config");
  std::ofstream{dir / "old.pw"} << secret << "\n";
  const auto config = write_config(dir, db, secret);
  const auto report = dir / "verify.json";

  // Backfill copies the rows and, nothing writing, moves NEW's sequence up to OLD's.
  const auto copied = run_command(DW_CTL_BINARY, {"backfill", "--config", config, "--sequences",
                                                  "--checkpoint", (dir / "cp.json").string()});
  ASSERT_EQ(copied.exit_code, 0) << copied.describe();
  EXPECT_EQ(pg_value(s.new_conn.get(), "SELECT nextval('orders_id_seq')"), "501");
  pg_exec(s.new_conn.get(), "SELECT setval('orders_id_seq', 10)");
  pg_exec(s.new_conn.get(), "UPDATE orders SET amount = amount + 1 WHERE id = 3");

  const auto r = run_command(DW_CTL_BINARY, {"verify", "--config", config});
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.out.find("public.orders different id=3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("index \"orders_customer\" missing on NEW"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("column \"customer\": text on OLD, character varying(20)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("sequence public.orders_id_seq: NEW's next value 11 lags OLD's 501"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("rule order total: OLD gives [500 | 125250], NEW gives [500 | 125251]"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("report: " + report.string()), std::string::npos) << r.out;
  ASSERT_TRUE(std::filesystem::exists(report));
  const auto saved = read_lines(report);
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(json_at(saved.front(), "passed"), "false");
  EXPECT_EQ(json_at(saved.front(), "summary.sequences_lagging"), "1");
  EXPECT_EQ(json_at(saved.front(), "summary.rules_failed"), "1");
  for (const auto* text : {&copied.out, &copied.err, &r.out, &r.err, &saved.front()})
    EXPECT_EQ(text->find(secret), std::string::npos) << "a password was printed:\n" << *text;

  const auto wrong = run_command(DW_CTL_BINARY,
                                 {"verify", "--config", write_config(dir, db, "not-" + secret)});
  EXPECT_EQ(wrong.exit_code, 3) << "NEW refuses a wrong password: " << wrong.describe();
  EXPECT_NE(wrong.err.find("NEW"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find("not-" + secret), std::string::npos) << wrong.err;
}

}  // namespace
}  // namespace dw::test
