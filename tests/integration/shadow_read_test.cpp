// Shadow reads (issue 4) end to end: dwproxy in phase 2 (or 3) in front of OLD and NEW, where
// NEW deliberately differs from OLD. Reads go through the proxy with every read sampled; the
// verdicts are read back with `dwctl --json diffs`, per query fingerprint. Then the 2->3 gate
// (refused while NEW differs, allowed once it is fixed), the automatic rollback when NEW
// is slow in phase 3, and a slow sample giving way to the write queued behind it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <sstream>

#include "tests/support/client_tools.hpp"
#include "tests/support/dual_write.hpp"
#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"
#include "tests/support/net.hpp"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

const std::string items_schema =
    "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int NOT NULL);"
    "INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 50) g;";

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Every read compared (a queue deep enough that none is skipped because the client ran
/// ahead of NEW); the gates are the test's business where it says so.
std::string sample_everything(const std::string& more = "") {
  return "shadow_reads:\n  sample_rate: 1\n  max_pending: 1000\n" + more;
}

/// `db` on both sides holding items and a view item_names of them. On NEW the view answers
/// the same rows `delay` later: each query of it sleeps there (e.g. "0.02" seconds).
void create_slow_view_databases(const std::string& db, const std::string& delay) {
  create_databases(db, items_schema + "CREATE VIEW item_names AS SELECT id, name FROM items;");
  pg_exec(pg_connect(new_cluster().admin_conninfo(db)).get(),
          "CREATE OR REPLACE VIEW item_names AS SELECT i.id, i.name FROM items i, pg_sleep(" +
              delay + ") s");
}

/// The read-diff statistics `dwctl --json diffs` reports, by statement text.
std::map<std::string, diff_counts> diffs_by_statement(const dual_write_proxy& p) {
  std::map<std::string, diff_counts> out;
  for (auto& d : p.diffs()) out[d.statement] = d;
  return out;
}

/// Waits until the proxy has compared at least `samples` reads (the comparisons run after
/// the client got its answer, and noise checks after that).
::testing::AssertionResult compared_at_least(dual_write_proxy& p, std::uint64_t samples) {
  std::uint64_t seen = 0;
  const bool reached = wait_until(
      [&] {
        seen = 0;
        for (const auto& d : p.diffs()) seen += d.samples;
        return seen >= samples;
      },
      20s, 50ms);
  if (reached) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "only " << seen << " of " << samples
                                       << " sampled reads were compared in 20 s\n"
                                       << p.dwctl({"diffs", "--limit", "100"}).out
                                       << p.proxy().log_tail(60);
}

TEST(shadow_read, reports_each_real_difference_under_its_fingerprint_and_not_order_or_noise) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_shadow_read";
  create_databases(db,
                   items_schema +
                       "CREATE TABLE prices (id int PRIMARY KEY, amount int4 NOT NULL);"
                       "INSERT INTO prices VALUES (1, 100), (2, 200);"
                       "CREATE TABLE words (w text COLLATE \"C\");"
                       "INSERT INTO words VALUES ('apple'), ('Banana'), ('cherry'), ('Date');"
                       // Inserted backwards: a sequential scan returns descending ids, an
                       // index scan ascending ones.
                       "CREATE TABLE events (id int NOT NULL, payload text);"
                       "INSERT INTO events SELECT g, 'e' || g FROM generate_series(20000, 1, -1) g;"
                       "CREATE INDEX events_id ON events (id);"
                       "ANALYZE;");
  {
    // NEW differs: one row changed, a column type widened, a collation that sorts otherwise,
    // an index missing. OLD scans events by index.
    auto fresh = pg_connect(new_cluster().admin_conninfo(db));
    pg_exec(fresh.get(), "UPDATE items SET qty = 999 WHERE id = 7");
    pg_exec(fresh.get(), "ALTER TABLE prices ALTER amount TYPE int8");
    pg_exec(fresh.get(), "ALTER TABLE words ALTER w TYPE text COLLATE \"und-x-icu\"");
    pg_exec(fresh.get(), "DROP INDEX events_id");
    pg_exec(pg_connect(old_cluster().admin_conninfo(db)).get(),
            "ALTER DATABASE " + db + " SET enable_bitmapscan = off");
  }
  const std::string row_read = "SELECT id, name, qty FROM items WHERE id <= 10";
  const std::string type_read = "SELECT id, amount FROM prices ORDER BY id";
  const std::string collation_read = "SELECT w FROM words ORDER BY w";
  const std::string order_only_read = "SELECT id FROM events WHERE id BETWEEN 100 AND 300";
  const std::string clock_read = "SELECT now() AS at, count(*) AS n FROM items";
  const std::string same_read = "SELECT count(*) FROM items WHERE id > 10";
  // The order-only case means something only if the two plans really return another order.
  ASSERT_NE(pg_value(old_cluster().admin_conninfo(db),
                     "SELECT string_agg(id::text, ',') FROM (" + order_only_read + ") s"),
            pg_value(new_cluster().admin_conninfo(db),
                     "SELECT string_agg(id::text, ',') FROM (" + order_only_read + ") s"));

  dual_write_options o;
  o.dbname = db;
  o.phase = 2;
  // Statements are shown as sent (the gate test checks the default, redacted form).
  o.redaction = "none";
  o.extra_yaml = sample_everything();
  dual_write_proxy p{o};
  auto client = pg_connect(p.conninfo());
  constexpr int rounds = 3;
  for (int i = 0; i < rounds; ++i)
    for (const auto* sql : {&row_read, &type_read, &collation_read, &order_only_read, &clock_read,
                            &same_read})
      pg_exec(client.get(), *sql);
  ASSERT_TRUE(compared_at_least(p, 6 * rounds));

  const auto diffs = diffs_by_statement(p);
  const auto verdict = [&](const std::string& sql) {
    auto it = diffs.find(sql);
    return it == diffs.end() ? diff_counts{} : it->second;
  };
  for (const auto* sql : {&row_read, &type_read, &collation_read}) {
    const auto d = verdict(*sql);
    EXPECT_EQ(d.samples, rounds) << *sql;
    EXPECT_EQ(d.mismatches, rounds) << *sql << " differs on NEW but was not reported";
    EXPECT_NE(d.fingerprint, "") << *sql;
  }
  for (const auto* sql : {&order_only_read, &same_read}) {
    const auto d = verdict(*sql);
    EXPECT_EQ(d.samples, rounds) << *sql;
    EXPECT_EQ(d.matches, rounds) << *sql << " answers alike on both sides";
  }
  const auto clock = verdict(clock_read);
  EXPECT_EQ(clock.samples, rounds);
  EXPECT_EQ(clock.mismatches, 0u) << "now() differs between any two runs: noise, not a mismatch\n"
                                 << p.dwctl({"diffs"}).out;
  EXPECT_EQ(clock.noise, rounds);

  // The mismatches reached the divergence log, under their fingerprints; the matches did not.
  const std::string log = file_text(p.divergence_log());
  for (const auto* sql : {&row_read, &type_read, &collation_read})
    EXPECT_NE(log.find(verdict(*sql).fingerprint), std::string::npos) << *sql << "\n" << log;
  EXPECT_EQ(log.find(verdict(order_only_read).fingerprint), std::string::npos) << log;
  // And they never mark the session diverged: that is for writes.
  EXPECT_EQ(p.status().diverged_sessions, 0u);
}

TEST(shadow_read, the_2_to_3_gate_refuses_while_new_differs_and_allows_once_fixed) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_shadow_gate";
  create_databases(db, items_schema);
  const std::string new_admin = new_cluster().admin_conninfo(db);
  pg_exec(pg_connect(new_admin).get(), "UPDATE items SET name = 'changed' WHERE id = 3");

  dual_write_options o;
  o.dbname = db;
  o.phase = 2;
  o.extra_yaml = sample_everything() + "gates:\n  min_read_samples: 20\n  max_mismatch_rate: 0.05\n";
  dual_write_proxy p{o};

  // Too few samples yet.
  auto refused = p.dwctl({"phase", "3"});
  EXPECT_EQ(refused.exit_code, 1) << refused.describe();
  EXPECT_NE(refused.err.find("sampled read(s) compared"), std::string::npos) << refused.describe();

  auto client = pg_connect(p.conninfo());
  for (int i = 1; i <= 20; ++i)
    pg_exec(client.get(), "SELECT name FROM items WHERE id = " + std::to_string(i % 5 + 1));
  ASSERT_TRUE(compared_at_least(p, 20));
  // Literals are data: with the default redaction they never reach the statistics.
  for (const auto& d : p.diffs()) {
    EXPECT_NE(d.statement.find("id = $redacted"), std::string::npos) << d.statement;
    EXPECT_EQ(d.statement.find_first_of("0123456789"), std::string::npos) << d.statement;
  }
  refused = p.dwctl({"phase", "3"});
  EXPECT_EQ(refused.exit_code, 1) << refused.describe();
  EXPECT_NE(refused.err.find("sampled reads differed"), std::string::npos) << refused.describe();
  EXPECT_EQ(p.status().phase, 2);

  // NEW fixed, the counts started afresh: the same reads now match and the flip goes ahead.
  pg_exec(pg_connect(new_admin).get(), "UPDATE items SET name = 'item 3' WHERE id = 3");
  const auto reset = p.dwctl({"diffs", "--reset"});
  ASSERT_EQ(reset.exit_code, 0) << reset.describe();
  for (int i = 1; i <= 20; ++i)
    pg_exec(client.get(), "SELECT name FROM items WHERE id = " + std::to_string(i % 5 + 1));
  ASSERT_TRUE(compared_at_least(p, 20));
  const auto moved = p.dwctl({"phase", "3"});
  EXPECT_EQ(moved.exit_code, 0) << moved.describe();
  EXPECT_EQ(p.status().phase, 3);
}

TEST(shadow_read, a_slow_new_in_phase_3_rolls_back_to_phase_2_without_failing_a_client) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_shadow_rollback";
  create_slow_view_databases(db, "0.02");  // NEW answers 20 ms slower

  dual_write_options o;
  o.dbname = db;
  o.phase = 3;
  o.extra_yaml = sample_everything() +
                 "rollback:\n  automatic: true\n  window_s: 5\n  min_samples: 20\n"
                 "  latency_ratio: 2\n  check_interval_ms: 200\n";
  dual_write_proxy p{o};
  ASSERT_EQ(p.status().phase, 3);

  const auto script = p.dir() / "read.sql";
  std::ofstream{script} << "SELECT id, name FROM item_names WHERE id = 1;\n";
  auto load = std::async(std::launch::async, [&] {
    return run_pgbench(p.client_env(), {"-n", "-c", "4", "-j", "2", "-T", "12", "-f", script.string()},
                       120s);
  });
  dwctl_status st;
  const bool rolled_back = wait_until(
      [&] {
        st = p.status();
        return st.phase == 2;
      },
      30s, 100ms);
  EXPECT_TRUE(rolled_back) << "NEW stayed primary although its p99 was 20 ms over OLD's: " << st.json;
  EXPECT_NE(st.json.find("auto_actions"), std::string::npos) << st.json;
  EXPECT_NE(st.json.find("latency"), std::string::npos) << "the reason is not recorded: " << st.json;
  const auto r = load.get();
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  const auto summary = parse_pgbench(r.out);
  EXPECT_GT(summary.processed, 0) << r.describe();
  EXPECT_EQ(summary.failed, 0) << r.describe();
  // The rollback is persisted like any move.
  EXPECT_NE(file_text(p.state_file()).find("\"phase\":2"), std::string::npos)
      << file_text(p.state_file());
}

// Phase 2 sampling every read, where a read of the view takes 3 s on NEW, and a lag bound so
// long that whatever waits behind such a sample would wait out the whole read, not give up.
dual_write_options slow_sample_setup(const std::string& db) {
  create_slow_view_databases(db, "3");
  dual_write_options o;
  o.dbname = db;
  o.phase = 2;
  o.lag_bound_ms = 20000;
  o.extra_yaml = sample_everything();
  return o;
}

// The statistics of the query shape whose (redacted) text contains `text`; zeros if none.
diff_counts diffs_of(dual_write_proxy& p, std::string_view text) {
  for (const auto& d : p.diffs())
    if (d.statement.find(text) != std::string::npos) return d;
  return diff_counts{};
}

// After a sample gave way or was compared, the session's shadow still mirrors its writes (the
// test set qty 7 on item 100), and nothing diverged.
void expect_qty_7_on_new_and_no_divergence(dual_write_proxy& p, const std::string& new_db) {
  EXPECT_TRUE(wait_until(
      [&] { return pg_value(new_db, "SELECT qty FROM items WHERE id = 100") == "7"; }, 10s, 50ms));
  EXPECT_TRUE(no_divergence(p.status()));
}

TEST(shadow_read, a_slow_sample_a_write_waits_behind_is_cancelled_on_new_not_waited_for) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_shadow_yield";
  dual_write_proxy p{slow_sample_setup(db)};
  const std::string read = "SELECT id, name FROM item_names WHERE id = 1";
  auto client = pg_connect(p.conninfo());
  EXPECT_EQ(pg_value(client.get(), read), "1");

  // Queued on the shadow behind the sampled read, which still sleeps there: the read gives
  // way after shadow_reads.yield_after_ms (50) instead of holding the write for 3 s.
  send_query(client.get(), "INSERT INTO items VALUES (100, 'behind the read', 1)");
  const auto write = await_query(client.get(), 10s);
  ASSERT_TRUE(write.finished && write.ok) << write.message << p.proxy().log_tail(40);
  EXPECT_LT(write.took, 1500ms) << "the write waited for the sampled read on NEW";

  const auto new_db = new_cluster().admin_conninfo(db);
  EXPECT_TRUE(wait_until(
      [&] { return pg_value(new_db, "SELECT count(*) FROM items WHERE id = 100") == "1"; }, 10s,
      50ms))
      << "the write never reached NEW (did the cancel hit it?)";
  // The statistics show the read's text redacted; it is the only query shape here.
  const auto the_read = [&p] {
    const auto all = p.diffs();
    return all.size() == 1 ? all.front() : diff_counts{};
  };
  EXPECT_EQ(the_read().skipped, 1u) << p.dwctl({"diffs"}).out;
  EXPECT_EQ(the_read().mismatches, 0u) << "a cancelled read was judged: " << p.dwctl({"diffs"}).out;

  // A sample nothing waits behind takes its time, and is compared.
  EXPECT_EQ(pg_value(client.get(), read), "1");
  EXPECT_TRUE(wait_until([&] { return the_read().matches == 1; }, 20s, 100ms))
      << p.dwctl({"diffs"}).out;
  pg_exec(client.get(), "UPDATE items SET qty = 7 WHERE id = 100");
  expect_qty_7_on_new_and_no_divergence(p, new_db);
}

TEST(shadow_read, a_slow_sample_inside_a_transaction_gives_way_to_the_commit_not_the_transaction) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_shadow_yield_tx";
  dual_write_proxy p{slow_sample_setup(db)};
  const std::string read = "SELECT id, name FROM item_names WHERE id = 1";
  const auto the_read = [&p] { return diffs_of(p, "item_names"); };
  auto client = pg_connect(p.conninfo());
  const auto new_db = new_cluster().admin_conninfo(db);

  // The read runs on NEW under a savepoint; the commit waits behind it in ordered mode. The
  // read is cancelled there after shadow_reads.yield_after_ms, the savepoint rolled back, and
  // the transaction's write still commits on NEW.
  const auto started = std::chrono::steady_clock::now();
  pg_exec(client.get(), "BEGIN");
  EXPECT_EQ(pg_value(client.get(), read), "1");
  pg_exec(client.get(), "INSERT INTO items VALUES (100, 'in the reading transaction', 1)");
  send_query(client.get(), "COMMIT");
  const auto commit = await_query(client.get(), 10s);
  ASSERT_TRUE(commit.finished && commit.ok) << commit.message << p.proxy().log_tail(40);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms)
      << "the transaction waited for the sampled read on NEW";
  EXPECT_TRUE(wait_until(
      [&] { return pg_value(new_db, "SELECT count(*) FROM items WHERE id = 100") == "1"; }, 10s,
      50ms))
      << "the transaction's write never reached NEW (did the cancel end the transaction?)";
  EXPECT_EQ(the_read().skipped, 1u) << p.dwctl({"diffs"}).out;
  EXPECT_EQ(the_read().mismatches, 0u) << "a cancelled read was judged: " << p.dwctl({"diffs"}).out;

  // Nothing but the savepoint's release behind it (the client idles in its transaction): the
  // read takes its time on NEW and is compared; the transaction then goes on.
  pg_exec(client.get(), "BEGIN");
  EXPECT_EQ(pg_value(client.get(), read), "1");
  EXPECT_TRUE(wait_until([&] { return the_read().matches == 1; }, 20s, 100ms))
      << p.dwctl({"diffs"}).out;
  pg_exec(client.get(), "UPDATE items SET qty = 7 WHERE id = 100");
  pg_exec(client.get(), "COMMIT");
  expect_qty_7_on_new_and_no_divergence(p, new_db);
}

// Inside a transaction, a read that differs because a write committed between the primary's
// answer and the shadow's is told apart from a real difference by a re-run on both sides, as
// autocommit reads are, until the transaction itself changed something: from then on a re-run
// outside it would not see what the read saw, and the difference stays a mismatch.
TEST(shadow_read, a_read_in_a_transaction_that_a_concurrent_write_changed_is_noise_until_it_wrote) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_shadow_tx_noise";
  create_databases(db, items_schema);
  dual_write_options o;
  o.dbname = db;
  o.phase = 2;
  o.extra_yaml = sample_everything();
  dual_write_proxy p{o};
  const std::string read = "SELECT qty FROM items WHERE id = 1";
  const auto counts = [&p] { return diffs_of(p, "qty FROM items"); };
  auto client = pg_connect(p.conninfo());
  auto old_admin = pg_connect(old_cluster().admin_conninfo(db));
  auto new_admin = pg_connect(new_cluster().admin_conninfo(db));

  // The shadow's read waits on NEW behind a table lock while qty changes on both sides.
  const auto lock_new = [&] {
    pg_exec(new_admin.get(), "BEGIN");
    pg_exec(new_admin.get(), "LOCK TABLE items IN ACCESS EXCLUSIVE MODE");
  };
  const auto move_qty_to = [&](const std::string& qty) {
    pg_exec(old_admin.get(), "UPDATE items SET qty = " + qty + " WHERE id = 1");
    pg_exec(new_admin.get(), "UPDATE items SET qty = " + qty + " WHERE id = 1");
    pg_exec(new_admin.get(), "COMMIT");
  };

  lock_new();
  pg_exec(client.get(), "BEGIN");
  EXPECT_EQ(pg_value(client.get(), read), "1");  // the primary's answer, before the change
  move_qty_to("100");
  EXPECT_TRUE(wait_until([&] { return counts().noise + counts().mismatches == 1; }, 20s, 50ms))
      << p.dwctl({"diffs"}).out;
  EXPECT_EQ(counts().noise, 1u) << "re-run on both sides, they agree: " << p.dwctl({"diffs"}).out;
  EXPECT_EQ(counts().mismatches, 0u);
  pg_exec(client.get(), "COMMIT");

  lock_new();
  pg_exec(client.get(), "BEGIN");
  pg_exec(client.get(), "UPDATE items SET name = 'changed' WHERE id = 2");
  EXPECT_EQ(pg_value(client.get(), read), "100");
  move_qty_to("200");
  EXPECT_TRUE(wait_until([&] { return counts().noise + counts().mismatches == 2; }, 20s, 50ms))
      << p.dwctl({"diffs"}).out;
  EXPECT_EQ(counts().mismatches, 1u) << "after a write in the transaction, no re-run decides: "
                                     << p.dwctl({"diffs"}).out;
  pg_exec(client.get(), "COMMIT");
  EXPECT_TRUE(no_divergence(p.status()));
}

}  // namespace
}  // namespace dw::test
