// Dual-write (issue 3) end to end: dwproxy in front of the OLD and NEW clusters, real
// clients (pgbench, libpq threads), phase moves through dwctl. After each load, the tables on
// OLD and NEW must be identical row for row (tests/support/table_compare.hpp). Every test
// works in a database of its own, created on both clusters, so tests do not see each other's
// rows; the clusters themselves are shared by the whole run (integration_env.hpp).
//
// Load durations are short by default to keep CI fast; the acceptance runs use 30 s:
//   DW_IT_DUAL_WRITE_SECONDS=30  pgbench in phase 1 (default 10)
//   DW_IT_FLIP_SECONDS=30        pgbench while the phase moves 1 -> 2 -> 3 -> 2 (default 12)
//
// Most of these tests need the proxy and skip in DW_IT_DIRECT mode; the table comparison's
// own test and the OLD-stopped test also run against PostgreSQL itself.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <latch>
#include <mutex>
#include <thread>

#include "tests/support/client_tools.hpp"
#include "tests/support/dual_write.hpp"
#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"
#include "tests/support/net.hpp"
#include "tests/support/table_compare.hpp"

namespace dw::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// Superuser connections straight to OLD and NEW, for the tests' own checks.
struct both_sides {
  explicit both_sides(const std::string& db)
      : old_conn{pg_connect(old_cluster().admin_conninfo(db))},
        new_conn{pg_connect(new_cluster().admin_conninfo(db))},
        old_info{old_cluster().admin_conninfo(db)},
        new_info{new_cluster().admin_conninfo(db)} {}
  pg_conn old_conn, new_conn;
  std::string old_info, new_info;
};

std::future<command_result> start_pgbench(const env_overrides& env, std::vector<std::string> args,
                                          std::chrono::milliseconds timeout) {
  return std::async(std::launch::async, [env, args = std::move(args), timeout] {
    return run_pgbench(env, args, timeout);
  });
}

const std::string history_count = "SELECT count(*) FROM pgbench_history";

long count_on(const std::string& conninfo, const std::string& sql) {
  return std::stol(pg_value(conninfo, sql));
}

/// Waits until `more` further pgbench transactions committed on `conninfo`'s side; the
/// event the flip test waits for between moves, so each phase carries real load.
::testing::AssertionResult commits_grow(const std::string& conninfo, long more, const char* where) {
  const long start = count_on(conninfo, history_count);
  const long seen = wait_for_count(conninfo, history_count, start + more, 20s);
  if (seen >= start + more) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "pgbench_history on " << where << " grew from " << start
                                       << " to " << seen << " in 20 s; expected +" << more;
}

/// The proxy configuration every test here starts from: `phase: 1` in the file, NEW set.
dual_write_options phase_1_options(const std::string& db) {
  dual_write_options o;
  o.dbname = db;
  o.phase = 1;
  return o;
}

std::string show_port(const std::string& conninfo) { return pg_value(conninfo, "SHOW port"); }

// ---------------------------------------------------------------------------------------
// The comparison helper itself: identical after pgbench -i, and a difference is reported
// with the rows that differ. Runs in DW_IT_DIRECT mode too (no proxy involved).

TEST(table_compare, reports_the_rows_that_differ_between_old_and_new) {
  const std::string db = "dw_table_compare";
  create_pgbench_databases(db);
  both_sides s{db};
  ASSERT_TRUE(tables_identical(s.old_conn.get(), s.new_conn.get(), pgbench_tables()));
  ASSERT_TRUE(
      wait_for_identical_fingerprints(s.old_conn.get(), s.new_conn.get(), pgbench_tables(), 0ms));

  pg_exec(s.new_conn.get(), "UPDATE pgbench_accounts SET abalance = 7 WHERE aid = 4242");
  pg_exec(s.old_conn.get(),
          "INSERT INTO pgbench_history VALUES (1, 2, 3, 5, '2024-01-02 03:04:05.123456')");
  const auto r = tables_identical(s.old_conn.get(), s.new_conn.get(), pgbench_tables());
  ASSERT_FALSE(r);
  const std::string m = r.message();
  EXPECT_NE(m.find("2 of 4 table(s) differ"), std::string::npos) << m;
  EXPECT_NE(m.find("only on OLD: (4242,1,0,"), std::string::npos) << m;
  EXPECT_NE(m.find("only on NEW: (4242,1,7,"), std::string::npos) << m;
  EXPECT_NE(m.find("only on OLD: (1,2,3,5,\"2024-01-02 03:04:05.123456\",)"), std::string::npos)
      << m;
  EXPECT_EQ(m.find("pgbench_branches"), std::string::npos) << m;
  EXPECT_FALSE(
      wait_for_identical_fingerprints(s.old_conn.get(), s.new_conn.get(), pgbench_tables(), 0ms));

  pg_exec(s.new_conn.get(), "ALTER TABLE pgbench_branches ADD COLUMN extra int DEFAULT 7");
  const auto cols = tables_identical(s.old_conn.get(), s.new_conn.get(), {"pgbench_branches"});
  ASSERT_FALSE(cols);
  EXPECT_NE(std::string(cols.message()).find("columns differ"), std::string::npos)
      << cols.message();

  const auto missing = tables_identical(s.old_conn.get(), s.new_conn.get(), {"no_such_table"});
  EXPECT_FALSE(missing);
}

// ---------------------------------------------------------------------------------------
// 1. pgbench (TPC-B like, 8 clients) in phase 1: every write reaches NEW in OLD's order, and
// nondeterministic values (pgbench_history.mtime is CURRENT_TIMESTAMP) are the same.

TEST(dual_write, pgbench_in_phase_1_leaves_old_and_new_identical_row_for_row) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_phase1_pgbench";
  create_pgbench_databases(db);
  both_sides s{db};
  ASSERT_TRUE(tables_identical(s.old_conn.get(), s.new_conn.get(), pgbench_tables()))
      << "setup: pgbench -i must leave OLD and NEW identical";

  dual_write_proxy p{phase_1_options(db)};
  ASSERT_EQ(p.status().phase, 1);
  const auto seconds = env_seconds("DW_IT_DUAL_WRITE_SECONDS", 10s);
  const auto r = run_pgbench(
      p.client_env(), {"-c", "8", "-j", "2", "-T", std::to_string(seconds.count()), "--no-vacuum"},
      seconds + 90s);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto summary = parse_pgbench(r.out);
  EXPECT_GT(summary.processed, 0) << r.describe();
  EXPECT_EQ(summary.failed, 0) << r.describe();
  // The load really ran on the primary: one history row per transaction.
  EXPECT_EQ(count_on(s.old_info, history_count), summary.processed);

  // The shadow may still be applying the last COMMITs when pgbench returns.
  wait_for_identical_fingerprints(s.old_conn.get(), s.new_conn.get(), pgbench_tables(), 10s);
  expect_tables_identical(s.old_conn.get(), s.new_conn.get(), pgbench_tables());
  EXPECT_TRUE(no_divergence(p.status()));
}

// ---------------------------------------------------------------------------------------
// 2. Contention: 16 sessions hit the same 8 rows with different constants (last writer wins,
// so NEW must apply them in OLD's order), take serial and identity values concurrently,
// delete, use savepoints, roll back, fail statements inside transactions, run DDL mid-run,
// in autocommit and explicit transactions, over the simple and the extended protocol.

constexpr int contention_sessions = 16;
constexpr int contention_iterations = 100;
constexpr int hot_rows = 8;

class contention_session {
 public:
  contention_session(const std::string& conninfo, int id) : conn_{pg_connect(conninfo)}, id_{id} {
    prepare("upd_hot", "UPDATE hot SET v = $1, who = $2, hits = hits + 1 WHERE id = $3", 3);
    prepare("ins_ident", "INSERT INTO ident (session, n) VALUES ($1, $2)", 2);
  }

  void run(int iterations, std::latch& start) {
    start.arrive_and_wait();
    for (int i = 0; i < iterations && errors_.size() < 5; ++i) {
      if (PQstatus(conn_.get()) != CONNECTION_OK) {
        errors_.push_back("connection lost: " + std::string(PQerrorMessage(conn_.get())));
        return;
      }
      if (i == iterations / 2) ddl();
      step(i);
    }
  }

  [[nodiscard]] long hits() const noexcept { return hits_; }
  [[nodiscard]] const std::vector<std::string>& errors() const noexcept { return errors_; }

 private:
  void step(int i) {
    const int row = 1 + (id_ * 7 + i) % hot_rows;
    const std::string s = std::to_string(id_), n = std::to_string(i), r = std::to_string(row);
    const std::string val = std::to_string(id_ * 1000 + i), who = "s" + s;
    switch ((id_ + i) % 8) {
      case 0:  // autocommit, simple protocol; or a whole transaction in one Query string
        if (i % 16 < 8) {
          ok("UPDATE hot SET v = " + val + ", who = '" + who + "', hits = hits + 1 WHERE id = " + r);
        } else {
          ok("BEGIN; UPDATE hot SET v = " + val + ", who = '" + who +
             "', hits = hits + 1 WHERE id = " + r + "; INSERT INTO ser (session, n, note) VALUES (" +
             s + ", " + n + ", 'one string'); COMMIT");
        }
        ++hits_;
        break;
      case 1:  // explicit transaction, extended protocol (unnamed statements)
        ok("BEGIN");
        params("UPDATE hot SET v = $1, who = $2, hits = hits + 1 WHERE id = $3", {val, who, r});
        params("INSERT INTO ser (session, n, note) VALUES ($1, $2, $3)", {s, n, "extended"});
        params("DELETE FROM doomed WHERE session = $1 AND id % 10 = $2",
               {s, std::to_string(i % 10)});
        ok("COMMIT");
        ++hits_;
        break;
      case 2:  // ROLLBACK TO SAVEPOINT undoes part of a transaction
        ok("BEGIN");
        ok("INSERT INTO ident (session, n) VALUES (" + s + ", " + n + ")");
        ok("SAVEPOINT a");
        ok("UPDATE hot SET v = -1, hits = hits + 1000 WHERE id = " + r);
        ok("INSERT INTO ser (session, n, note) VALUES (" + s + ", -" + n + ", 'rolled back')");
        ok("ROLLBACK TO SAVEPOINT a");
        ok("INSERT INTO ser (session, n, note) VALUES (" + s + ", " + n + ", 'after savepoint')");
        ok("COMMIT");
        break;
      case 3:  // the whole transaction rolls back
        ok("BEGIN");
        ok("UPDATE hot SET v = -2, hits = hits + 1000 WHERE id = " + r);
        ok("INSERT INTO ident (session, n) VALUES (" + s + ", -" + n + ")");
        ok("DELETE FROM doomed WHERE session = " + s);
        ok("ROLLBACK");
        break;
      case 4: {  // a failing statement aborts the transaction; COMMIT answers ROLLBACK
        ok("BEGIN");
        ok("UPDATE hot SET v = -3, hits = hits + 1000 WHERE id = " + r);
        fails("SELECT 1 / (" + n + " - " + n + ")", "22012");
        const auto tag = ok("COMMIT");
        if (tag != "ROLLBACK")
          errors_.push_back("COMMIT of an aborted transaction answered " + tag);
        break;
      }
      case 5:  // a failing statement undone by ROLLBACK TO SAVEPOINT, then a prepared update
        ok("BEGIN");
        ok("SAVEPOINT b");
        fails("INSERT INTO hot (id, v, who) VALUES (" + r + ", 0, 'duplicate')", "23505");
        ok("ROLLBACK TO SAVEPOINT b");
        prepared("upd_hot", {val, who, r});
        ok("COMMIT");
        ++hits_;
        break;
      case 6:  // autocommit prepared insert (identity), autocommit delete
        prepared("ins_ident", {s, n});
        ok("DELETE FROM doomed WHERE id = " + std::to_string(id_ * contention_iterations + i + 1));
        break;
      case 7:  // an autocommit statement that fails, then an autocommit extended insert
        fails("INSERT INTO hot (id, v, who) VALUES (" + r + ", 0, 'duplicate')", "23505");
        params("INSERT INTO side (id, session, n) VALUES ($1, $2, $3)",
               {std::to_string(id_ * contention_iterations + i), s, n});
        break;
    }
  }

  // DDL while the other sessions keep writing to the same tables.
  void ddl() {
    if (id_ == 0) ok("ALTER TABLE side ADD COLUMN extra int NOT NULL DEFAULT 7");
    if (id_ == 1) ok("BEGIN; ALTER TABLE ser ADD COLUMN flag text DEFAULT 'added mid-run'; COMMIT");
  }

  std::string record(PGresult* raw, const std::string& what, const char* expected_sqlstate) {
    const pg_result r{raw};
    const auto st = PQresultStatus(r.get());
    const bool succeeded = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (expected_sqlstate == nullptr && !succeeded) {
      errors_.push_back("session " + std::to_string(id_) + ": [" + what +
                        "] failed: " + PQresultErrorMessage(r.get()) + PQerrorMessage(conn_.get()));
    } else if (expected_sqlstate != nullptr && sqlstate_of(r.get()) != expected_sqlstate) {
      errors_.push_back("session " + std::to_string(id_) + ": [" + what + "] should fail with " +
                        expected_sqlstate + ", got status " + PQresStatus(st) + " " +
                        sqlstate_of(r.get()) + " " + PQresultErrorMessage(r.get()));
    }
    return PQcmdStatus(r.get());
  }

  std::string ok(const std::string& sql) {
    return record(PQexec(conn_.get(), sql.c_str()), sql, nullptr);
  }

  void fails(const std::string& sql, const char* sqlstate) {
    record(PQexec(conn_.get(), sql.c_str()), sql, sqlstate);
  }

  static std::vector<const char*> pointers(const std::vector<std::string>& values) {
    std::vector<const char*> out;
    for (const auto& v : values) out.push_back(v.c_str());
    return out;
  }

  void params(const std::string& sql, const std::vector<std::string>& values) {
    const auto p = pointers(values);
    record(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(p.size()), nullptr, p.data(),
                        nullptr, nullptr, 0),
           sql, nullptr);
  }

  void prepared(const char* name, const std::vector<std::string>& values) {
    const auto p = pointers(values);
    record(PQexecPrepared(conn_.get(), name, static_cast<int>(p.size()), p.data(), nullptr, nullptr,
                          0),
           name, nullptr);
  }

  void prepare(const char* name, const char* sql, int nparams) {
    record(PQprepare(conn_.get(), name, sql, nparams, nullptr), std::string("PREPARE ") + name,
           nullptr);
  }

  pg_conn conn_;
  int id_;
  long hits_ = 0;
  std::vector<std::string> errors_;
};

std::string contention_schema() {
  std::string sql;
  sql += "CREATE TABLE hot (id int PRIMARY KEY, v int NOT NULL, who text NOT NULL, ";
  sql += "hits int NOT NULL DEFAULT 0);";
  sql += "INSERT INTO hot SELECT g, 0, 'init', 0 FROM generate_series(1, ";
  sql += std::to_string(hot_rows) + ") g;";
  sql += "CREATE TABLE ser (id serial PRIMARY KEY, session int NOT NULL, n int NOT NULL, ";
  sql += "note text);";
  sql += "CREATE TABLE ident (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ";
  sql += "session int NOT NULL, n int NOT NULL);";
  sql += "CREATE TABLE side (id int PRIMARY KEY, session int NOT NULL, n int NOT NULL);";
  // Rows 1..N, the ones with (id - 1) / iterations = s belonging to session s.
  sql += "CREATE TABLE doomed (id int PRIMARY KEY, session int NOT NULL);";
  sql += "INSERT INTO doomed SELECT g, (g - 1) / " + std::to_string(contention_iterations);
  sql += " FROM generate_series(1, ";
  sql += std::to_string(contention_sessions * contention_iterations) + ") g;";
  return sql;
}

TEST(dual_write, contended_writes_savepoints_rollbacks_and_ddl_leave_old_and_new_identical) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_contention";
  create_databases(db, contention_schema());
  const std::vector<std::string> tables{"hot", "ser", "ident", "side", "doomed"};
  both_sides s{db};
  ASSERT_TRUE(tables_identical(s.old_conn.get(), s.new_conn.get(), tables));

  dual_write_proxy p{phase_1_options(db)};
  std::vector<std::unique_ptr<contention_session>> sessions;
  for (int i = 0; i < contention_sessions; ++i)
    sessions.push_back(std::make_unique<contention_session>(p.conninfo(), i));
  std::latch start{contention_sessions};
  std::vector<std::thread> threads;
  for (auto& session : sessions)
    threads.emplace_back([&start, &session] { session->run(contention_iterations, start); });
  for (auto& t : threads) t.join();

  long hits = 0;
  for (const auto& session : sessions) {
    hits += session->hits();
    for (const auto& e : session->errors()) ADD_FAILURE() << e;
  }
  // The workload did what it meant to on the primary: only committed increments count.
  ASSERT_EQ(count_on(s.old_info, "SELECT sum(hits) FROM hot"), hits);

  wait_for_identical_fingerprints(s.old_conn.get(), s.new_conn.get(), tables, 10s);
  expect_tables_identical(s.old_conn.get(), s.new_conn.get(), tables);
  // NEW must not hand out serial or identity values OLD already used after a cutover.
  for (const char* seq :
       {"pg_get_serial_sequence('ser', 'id')", "pg_get_serial_sequence('ident', 'id')"}) {
    const std::string q = std::string("SELECT last_value FROM ") +
                          "pg_catalog.pg_sequences WHERE "
                          "schemaname || '.' || sequencename = " +
                          seq;
    EXPECT_EQ(pg_value(s.old_conn.get(), q), pg_value(s.new_conn.get(), q)) << q;
  }
  const auto st = p.status();
  EXPECT_EQ(st.divergences, 0u) << st.json;
}

// ---------------------------------------------------------------------------------------
// 3. Phase moves 1 -> 2 -> 3 -> 2 under pgbench load: no client sees an error, the primary
// really changes (SHOW port answers the primary's port, also on a session opened before the
// flips), and OLD and NEW end identical.

TEST(dual_write, phase_flips_under_pgbench_fail_no_transaction_and_move_the_primary) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_flips";
  create_pgbench_databases(db);
  both_sides s{db};
  const std::string old_port = std::to_string(old_cluster().port());
  const std::string new_port = std::to_string(new_cluster().port());

  auto options = phase_1_options(db);
  // The flips are the subject here; the read-diff gate of 2 -> 3 has tests of its own.
  options.extra_yaml = "gates:\n  min_read_samples: 0\n";
  dual_write_proxy p{options};
  auto watcher = pg_connect(p.conninfo());  // one session open across every flip
  ASSERT_EQ(pg_value(watcher.get(), "SHOW port"), old_port);

  const auto seconds = env_seconds("DW_IT_FLIP_SECONDS", 12s);
  auto load = start_pgbench(
      p.client_env(), {"-c", "8", "-j", "2", "-T", std::to_string(seconds.count()), "--no-vacuum"},
      seconds + 90s);
  ASSERT_TRUE(commits_grow(s.old_info, 100, "OLD (phase 1)"));

  auto move = [&](int target) {
    const auto r = p.dwctl({"phase", std::to_string(target)});
    EXPECT_EQ(r.exit_code, 0) << "dwctl phase " << target << ": " << r.describe();
    const auto st = p.status();
    EXPECT_EQ(st.phase, target) << st.json;
    return r.exit_code == 0 && st.phase == target;
  };
  // No SHOW port in phase 2 before the cutover: it differs between the backends, so a
  // sampled read of it would count as a read diff and hold the 2 -> 3 gate shut.
  ASSERT_TRUE(move(2));
  ASSERT_TRUE(commits_grow(s.old_info, 100, "OLD (phase 2)"));
  ASSERT_TRUE(move(3));
  EXPECT_EQ(pg_value(watcher.get(), "SHOW port"), new_port)
      << "phase 3: an open session still reaches OLD";
  EXPECT_EQ(show_port(p.conninfo()), new_port) << "phase 3: a new session reaches OLD";
  EXPECT_TRUE(commits_grow(s.new_info, 100, "NEW (phase 3, primary)"));
  ASSERT_TRUE(move(2));
  EXPECT_EQ(pg_value(watcher.get(), "SHOW port"), old_port) << "back in phase 2: still on NEW";
  EXPECT_EQ(show_port(p.conninfo()), old_port) << "back in phase 2: a new session reaches NEW";
  EXPECT_TRUE(commits_grow(s.old_info, 100, "OLD (phase 2 again)"));
  EXPECT_EQ(load.wait_for(0s), std::future_status::timeout)
      << "pgbench ended before the last move; raise DW_IT_FLIP_SECONDS so the moves happen under "
         "load";

  const auto r = load.get();
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  const auto summary = parse_pgbench(r.out);
  EXPECT_GT(summary.processed, 0) << r.describe();
  EXPECT_EQ(summary.failed, 0) << r.describe();

  wait_for_identical_fingerprints(s.old_conn.get(), s.new_conn.get(), pgbench_tables(), 10s);
  expect_tables_identical(s.old_conn.get(), s.new_conn.get(), pgbench_tables());
  // Every committed transaction is on the final primary (OLD): none was lost in a flip.
  // (No divergence count here: the SHOW port probes differ between the backends on purpose.)
  EXPECT_EQ(count_on(s.old_info, history_count), summary.processed);
}

// ---------------------------------------------------------------------------------------
// 4. NEW dies (pg_ctl -m immediate) under phase-1 load: clients never notice, the sessions'
// shadows are marked diverged, the shadow reconnects once NEW is back, and the forward gate
// stays shut until an operator acknowledges the divergences.

TEST(dual_write, new_stopped_under_load_marks_divergence_and_blocks_phase_2_until_ack) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_new_down";
  create_pgbench_databases(db);
  both_sides s{db};
  for (PGconn* c : {s.old_conn.get(), s.new_conn.get()})
    pg_exec(c, "CREATE TABLE dw_marker (source text NOT NULL, n int NOT NULL)");
  restart_on_exit restart_new{new_cluster()};

  auto options = phase_1_options(db);
  options.lag_bound_ms = 1000;  // keeps the outage's stalls short
  dual_write_proxy p{options};
  auto long_lived = pg_connect(p.conninfo());  // open before, during and after the outage
  pg_exec(long_lived.get(), "INSERT INTO dw_marker VALUES ('before', 0)");
  // The rest means nothing unless phase 1 writes to NEW in the first place.
  ASSERT_EQ(
      wait_for_count(s.new_info, "SELECT count(*) FROM dw_marker WHERE source = 'before'", 1, 10s),
      1)
      << "phase 1 does not write to NEW";

  const auto seconds = 8s;
  auto load = start_pgbench(
      p.client_env(), {"-c", "8", "-j", "2", "-T", std::to_string(seconds.count()), "--no-vacuum"},
      seconds + 90s);
  ASSERT_TRUE(commits_grow(s.old_info, 100, "OLD (before NEW stops)"));
  s.new_conn.reset();
  new_cluster().stop("immediate");

  dwctl_status st;
  const bool marked = wait_until(
      [&] {
        st = p.status();
        return st.divergences > 0 && st.diverged_sessions > 0;
      },
      10s, 100ms);
  EXPECT_TRUE(marked) << "no divergence recorded after NEW stopped: " << st.json;
  new_cluster().start();

  const auto r = load.get();
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  const auto summary = parse_pgbench(r.out);
  EXPECT_GT(summary.processed, 0) << r.describe();
  EXPECT_EQ(summary.failed, 0) << r.describe();

  // The shadow reconnects: new writes reach NEW again, from the session that lived through
  // the outage and from a new one. A write made before the reconnect may be lost to NEW
  // (its session is diverged anyway), so keep writing until both sources show up.
  int n = 0;
  const std::string markers =
      "SELECT count(DISTINCT source) FROM dw_marker WHERE source IN ('old session', 'new session')";
  const bool reached = wait_until(
      [&] {
        ++n;
        pg_exec(long_lived.get(),
                "INSERT INTO dw_marker VALUES ('old session', " + std::to_string(n) + ")");
        pg_exec(pg_connect(p.conninfo()).get(),
                "INSERT INTO dw_marker VALUES ('new session', " + std::to_string(n) + ")");
        return count_on(new_cluster().admin_conninfo(db), markers) == 2;
      },
      15s, 200ms);
  EXPECT_TRUE(reached) << "after NEW came back, writes through the proxy never reached it again";

  std::ifstream log{p.divergence_log()};
  std::string first_record;
  EXPECT_TRUE(std::getline(log, first_record) && !first_record.empty())
      << "nothing in the divergence log " << p.divergence_log();

  const auto refused = p.dwctl({"phase", "2"});
  EXPECT_EQ(refused.exit_code, 1) << "phase 2 must be refused while sessions are diverged: "
                                  << refused.describe();
  EXPECT_NE((refused.out + refused.err).find("diverged"), std::string::npos) << refused.describe();
  EXPECT_EQ(p.status().phase, 1);

  const auto ack = p.dwctl({"ack"});
  EXPECT_EQ(ack.exit_code, 0) << ack.describe();
  st = p.status();
  EXPECT_EQ(st.diverged_sessions, 0u) << st.json;
  const auto allowed = p.dwctl({"phase", "2"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.describe();
  EXPECT_EQ(p.status().phase, 2);
}

// One shadow connection killed on NEW (pg_terminate_backend) while its session lives on:
// the loss is recorded, and so is the reconnect that ends the gap, after reconnect_min_ms.
TEST(dual_write, a_terminated_shadow_connection_is_recorded_lost_and_then_reconnected) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_shadow_killed";
  create_databases(db, "CREATE TABLE dw_marker (n int NOT NULL)");
  dual_write_proxy p{phase_1_options(db)};
  auto client = pg_connect(p.conninfo());
  pg_exec(client.get(), "INSERT INTO dw_marker VALUES (0)");
  const auto new_info = new_cluster().admin_conninfo(db);
  ASSERT_EQ(wait_for_count(new_info, "SELECT count(*) FROM dw_marker", 1, 10s), 1)
      << "phase 1 does not write to NEW";
  // The session's shadow is the only other connection to this database on NEW.
  EXPECT_EQ(pg_value(new_info,
                     "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                     "datname = current_database() AND pid <> pg_backend_pid()"),
            "1");

  const auto records = [&p](const std::string& kind) {
    std::ifstream log{p.divergence_log()};
    int found = 0;
    for (std::string line; std::getline(log, line);)
      if (line.find("\"kind\":\"" + kind + "\"") != std::string::npos) ++found;
    return found;
  };
  int n = 0;
  const bool reconnected = wait_until(
      [&] {
        pg_exec(client.get(), "INSERT INTO dw_marker VALUES (" + std::to_string(++n) + ")");
        return records("reconnect") > 0;
      },
      15s, 100ms);
  EXPECT_TRUE(reconnected) << "no reconnect record after the shadow connection was lost\n"
                           << p.proxy().log_tail(30);
  EXPECT_GE(records("shadow_unreachable"), 1);
  // Writes reach NEW again from the same session.
  pg_exec(client.get(), "INSERT INTO dw_marker VALUES (-1)");
  EXPECT_EQ(wait_for_count(new_info, "SELECT count(*) FROM dw_marker WHERE n = -1", 1, 10s), 1);
}

// A shadow stalled by a row lock held on NEW. The first client's autocommit UPDATE waits a
// lag bound for its shadow, holding the row on OLD; the others queue behind it there, and
// then wait shadow.stalled_bound_ms each for their shadows, not a lag bound each.
TEST(dual_write, clients_queued_behind_a_stalled_shadow_wait_one_lag_bound_not_one_each) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_stalled_shadow";
  create_databases(db, "CREATE TABLE hot (id int PRIMARY KEY, v int NOT NULL);"
                       "INSERT INTO hot VALUES (1, 0);");
  auto options = phase_1_options(db);
  options.lag_bound_ms = 2000;
  dual_write_proxy p{options};
  constexpr int clients = 4;
  std::vector<pg_conn> conns;
  for (int i = 0; i < clients; ++i) conns.push_back(pg_connect(p.conninfo()));

  auto holder = pg_connect(new_cluster().admin_conninfo(db));
  pg_exec(holder.get(), "BEGIN");
  pg_exec(holder.get(), "SELECT v FROM hot WHERE id = 1 FOR UPDATE");
  const auto start = std::chrono::steady_clock::now();
  for (auto& c : conns) send_query(c.get(), "UPDATE hot SET v = v + 1 WHERE id = 1");
  std::chrono::milliseconds last{0};
  for (auto& c : conns) {
    const auto r = await_query(c.get(), 30s);
    EXPECT_TRUE(r.finished && r.ok) << r.sqlstate << " " << r.message;
    last = std::max(last, std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start));
  }
  pg_exec(holder.get(), "ROLLBACK");
  // One lag bound (2 s) plus 200 ms for each of the other three (about 2.6 s); a lag bound
  // each would be 8 s.
  EXPECT_LT(last, 4000ms) << "clients queued behind a stalled shadow waited a lag bound each\n"
                          << p.proxy().log_tail(30);
  EXPECT_EQ(pg_value(old_cluster().admin_conninfo(db), "SELECT v FROM hot"),
            std::to_string(clients));
  EXPECT_GE(p.status().diverged_sessions, 1u);
}

// ---------------------------------------------------------------------------------------
// 5. OLD (the primary) dies under phase-1 load: the failure is not hidden. Clients get an
// error within a bound instead of hanging, new clients are refused, and once OLD is back
// the proxy serves again.

TEST(dual_write, old_stopped_under_load_fails_clients_within_a_bound) {
  // Runs in DW_IT_DIRECT mode too (against OLD itself), which validates the test.
  const std::string db = "dw_old_down";
  create_pgbench_databases(db);
  restart_on_exit restart_old{old_cluster()};
  const auto bound = 10s;

  dual_write_proxy p{phase_1_options(db)};
  auto idle = pg_connect(p.conninfo());
  ASSERT_EQ(pg_value(idle.get(), "SELECT 1"), "1");
  auto busy = pg_connect(p.conninfo());
  send_query(busy.get(), "SELECT pg_sleep(25)");
  auto load = start_pgbench(p.client_env(), {"-c", "8", "-j", "2", "-T", "25", "--no-vacuum"}, 60s);
  ASSERT_TRUE(commits_grow(old_cluster().admin_conninfo(db), 100, "OLD"));

  old_cluster().stop("immediate");
  const auto stopped_at = clock_type::now();

  // A statement in flight ends with an ErrorResponse carrying a SQLSTATE. (PostgreSQL's
  // immediate shutdown only sends a WARNING before closing, so DW_IT_DIRECT skips that part.)
  const auto b = await_query(busy.get(), bound);
  ASSERT_TRUE(b.finished) << "a query in flight hung for " << bound.count()
                          << " s after OLD stopped";
  EXPECT_FALSE(b.ok);
  if (!direct_mode()) {
    EXPECT_TRUE(b.sqlstate.starts_with("08") || b.sqlstate.starts_with("57"))
        << "SQLSTATE '" << b.sqlstate << "': " << b.message;
  }

  // pgbench's clients fail (pgbench exits non-zero when clients abort) instead of hanging.
  ASSERT_EQ(load.wait_until(stopped_at + bound), std::future_status::ready)
      << "pgbench still running " << bound.count() << " s after OLD stopped";
  const auto r = load.get();
  EXPECT_NE(r.exit_code, 0) << r.describe();
  EXPECT_FALSE(r.timed_out) << r.describe();

  // An idle session's next statement fails too, within the bound.
  const auto a = timed_query(idle.get(), "SELECT 1", bound);
  EXPECT_TRUE(a.finished) << "an idle session's query hung after OLD stopped";
  EXPECT_FALSE(a.ok) << "SELECT 1 succeeded with OLD down";

  // A new client gets an ErrorResponse, not a hang or a bare disconnect. (A stopped
  // PostgreSQL refuses the TCP connection instead, so DW_IT_DIRECT skips the SQLSTATE.)
  const auto c = pg_try_connect(p.conninfo(), bound);
  EXPECT_FALSE(c.connected);
  EXPECT_EQ(c.message.find("timed out"), std::string::npos) << c.message;
  if (!direct_mode()) {
    EXPECT_FALSE(c.sqlstate.empty()) << c.message;
  }

  // OLD back: the same proxy serves new sessions again.
  old_cluster().start();
  EXPECT_TRUE(wait_until([&] { return pg_try_connect(p.conninfo(), 2s).connected; }, 15s, 100ms))
      << p.proxy().log_tail();
  EXPECT_EQ(pg_value(p.conninfo(), "SELECT 42"), "42");
  EXPECT_TRUE(p.proxy().alive());
}

// ---------------------------------------------------------------------------------------
// 6. A proxy restarted in phase 3 comes back in phase 3 from its state file (its
// configuration still says phase 1) with NEW as the primary.

// A session opened in phase 0 gets its shadow at its first write after 0 -> 1, with its
// state replayed first (DESIGN.md). The replay's answers must not be taken for the write's.
TEST(dual_write, state_made_in_phase_0_is_replayed_when_the_shadow_attaches) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_replay";
  create_databases(db, "CREATE TABLE t (id int PRIMARY KEY, note text)");
  dual_write_options o = phase_1_options(db);
  o.phase = 0;
  dual_write_proxy p{o};
  auto conn = pg_connect(p.conninfo());
  pg_exec(conn.get(), "SET application_name = 'replayed'");
  pg_exec(conn.get(), "PREPARE add_row(int, text) AS INSERT INTO t VALUES ($1, $2)");
  const auto moved = p.dwctl({"phase", "1"});
  ASSERT_EQ(moved.exit_code, 0) << moved.describe();

  // The prepared statement exists on NEW only through the replay.
  pg_exec(conn.get(), "EXECUTE add_row(1, 'one')");
  pg_exec(conn.get(), "UPDATE t SET note = 'uno' WHERE id = 1");
  pg_exec(conn.get(), "BEGIN; EXECUTE add_row(2, 'two'); COMMIT");
  EXPECT_EQ(wait_for_count(new_cluster().admin_conninfo(db),
                           "SELECT count(*) FROM t WHERE note IN ('uno', 'two')", 2, 10s),
            2);
  EXPECT_TRUE(no_divergence(p.status()));
}

TEST(dual_write, restart_in_phase_3_comes_back_in_phase_3_with_new_as_primary) {
  DW_SKIP_WITHOUT_PROXY();
  const std::string db = "dw_restart";
  create_databases(db, "CREATE TABLE t (id int PRIMARY KEY, note text)");
  const std::string new_port = std::to_string(new_cluster().port());

  auto options = phase_1_options(db);
  options.extra_yaml = "gates:\n  min_read_samples: 0\n";  // no reads to compare here
  dual_write_proxy p{options};
  for (const char* target : {"2", "3"}) {
    const auto r = p.dwctl({"phase", target});
    ASSERT_EQ(r.exit_code, 0) << "dwctl phase " << target << ": " << r.describe();
  }
  ASSERT_EQ(p.status().phase, 3);
  EXPECT_EQ(show_port(p.conninfo()), new_port);

  p.restart();
  const auto st = p.status();
  EXPECT_EQ(st.phase, 3) << st.json;
  EXPECT_EQ(show_port(p.conninfo()), new_port) << "after the restart the primary is not NEW";
  // Writes go to NEW as the primary and to OLD as the shadow.
  pg_exec(pg_connect(p.conninfo()).get(), "INSERT INTO t VALUES (1, 'after restart')");
  EXPECT_EQ(count_on(new_cluster().admin_conninfo(db), "SELECT count(*) FROM t"), 1);
  EXPECT_EQ(wait_for_count(old_cluster().admin_conninfo(db), "SELECT count(*) FROM t", 1, 10s), 1);
}

}  // namespace
}  // namespace dw::test
