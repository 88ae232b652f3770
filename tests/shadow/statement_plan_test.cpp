// plan_statement(): the per-text decisions the session makes from the classifier and the shadow
// options: to the shadow or not, cross-session order, per-table serialisation keys, transaction
// control, replayable session state, statement parts.
#include "shadow/statement_plan.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dw::shadow {
namespace {

statement_plan plan(std::string_view sql, const plan_options& o = {}) {
  return plan_statement(sql, o);
}

using keys = std::vector<std::string>;

TEST(statement_plan, reads_stay_on_the_primary) {
  const auto p = plan("SELECT a FROM t WHERE id = 1");
  EXPECT_FALSE(p.to_shadow);
  EXPECT_FALSE(p.needs_order);
  EXPECT_FALSE(p.replayable);
  EXPECT_TRUE(p.serialize_keys.empty());
  ASSERT_EQ(p.parts.size(), 1u);
  EXPECT_FALSE(p.parts[0].compare_rows);
  EXPECT_FALSE(p.ddl);
}

// Computed only when a divergence is recorded: equal for texts that differ only in literals.
TEST(statement_plan, fingerprint_groups_statements_by_shape) {
  EXPECT_NE(statement_fingerprint("SELECT a FROM t WHERE id = 1"), 0u);
  EXPECT_EQ(statement_fingerprint("SELECT a FROM t WHERE id = 1"),
            statement_fingerprint("SELECT a FROM t WHERE id = 42"));
  EXPECT_NE(statement_fingerprint("SELECT a FROM t WHERE id = 1"),
            statement_fingerprint("SELECT b FROM t WHERE id = 1"));
  EXPECT_EQ(statement_fingerprint("SELEC nonsense"), 0u);
  EXPECT_TRUE(plan("ALTER TABLE t ADD COLUMN c int").ddl);
}

TEST(statement_plan, insert_is_serialised_per_table_with_serialize_sequences) {
  const auto on = plan("INSERT INTO orders (item) VALUES ('x')");
  EXPECT_TRUE(on.to_shadow);
  EXPECT_TRUE(on.needs_order);
  EXPECT_EQ(on.serialize_keys, keys{"orders"});
  ASSERT_EQ(on.parts.size(), 1u);
  EXPECT_TRUE(on.parts[0].compare_rows);

  plan_options off;
  off.serialize_sequences = false;
  const auto p = plan("INSERT INTO orders (item) VALUES ('x')", off);
  EXPECT_TRUE(p.to_shadow);
  EXPECT_TRUE(p.needs_order);
  EXPECT_TRUE(p.serialize_keys.empty());
}

TEST(statement_plan, keys_are_sorted_deduplicated_and_schema_qualified) {
  const auto p =
      plan("INSERT INTO z VALUES (1); INSERT INTO app.a VALUES (1); INSERT INTO z VALUES (2)");
  EXPECT_EQ(p.serialize_keys, (keys{"app.a", "z"}));
  EXPECT_EQ(p.parts.size(), 3u);
}

TEST(statement_plan, updates_are_serialised_only_for_listed_tables) {
  EXPECT_TRUE(plan("UPDATE accounts SET n = n + 1").serialize_keys.empty());
  const std::vector<std::string> listed{"accounts", "app.ledger"};
  plan_options o;
  o.serialize_tables = listed;
  EXPECT_EQ(plan("UPDATE accounts SET n = n + 1", o).serialize_keys, keys{"accounts"});
  EXPECT_EQ(plan("DELETE FROM app.ledger", o).serialize_keys, keys{"app.ledger"});
  EXPECT_TRUE(plan("DELETE FROM ledger", o).serialize_keys.empty());  // another key
  EXPECT_TRUE(plan("UPDATE other SET n = 1", o).serialize_keys.empty());
  // A listed table is serialised even with serialize_sequences off.
  o.serialize_sequences = false;
  EXPECT_EQ(plan("INSERT INTO accounts VALUES (1)", o).serialize_keys, keys{"accounts"});
  EXPECT_TRUE(plan("INSERT INTO other VALUES (1)", o).serialize_keys.empty());
}

TEST(statement_plan, session_state_needs_no_order) {
  const auto set = plan("SET search_path TO app");
  EXPECT_TRUE(set.to_shadow);
  EXPECT_FALSE(set.needs_order);
  EXPECT_TRUE(set.replayable);
  EXPECT_FALSE(set.tx_control);

  const auto local = plan("SET LOCAL statement_timeout = 0");
  EXPECT_TRUE(local.to_shadow);
  EXPECT_FALSE(local.needs_order);
  EXPECT_FALSE(local.replayable);

  const auto mixed = plan("SET a.b = 1; INSERT INTO t VALUES (1); SET LOCAL a.c = 2; RESET a.d");
  EXPECT_TRUE(mixed.replayable);
  ASSERT_EQ(mixed.parts.size(), 4u);
  EXPECT_TRUE(mixed.parts[0].replayable);
  EXPECT_FALSE(mixed.parts[1].replayable);
  EXPECT_FALSE(mixed.parts[2].replayable);
  EXPECT_TRUE(mixed.parts[3].replayable);

  EXPECT_TRUE(plan("PREPARE p AS SELECT 1").replayable);
  EXPECT_TRUE(plan("LISTEN ch").replayable);
}

TEST(statement_plan, texts_with_transaction_control_are_never_wrapped) {
  for (const std::string_view sql :
       {"BEGIN", "COMMIT", "BEGIN; UPDATE t SET a = 1; COMMIT", "UPDATE t SET a = 1; COMMIT",
        "SAVEPOINT s; INSERT INTO t VALUES (1)", "ROLLBACK"}) {
    const auto p = plan(sql);
    EXPECT_TRUE(p.to_shadow) << sql;
    EXPECT_TRUE(p.tx_control) << sql;
    EXPECT_FALSE(p.needs_order) << sql;
  }
  EXPECT_TRUE(plan("COMMIT").commits);
  EXPECT_TRUE(plan("END").commits);
  EXPECT_TRUE(plan("PREPARE TRANSACTION 'x'").commits);
  EXPECT_TRUE(plan("COMMIT PREPARED 'x'").commits);
  EXPECT_FALSE(plan("ROLLBACK").commits);
  EXPECT_FALSE(plan("BEGIN").commits);
}

TEST(statement_plan, parts_mark_where_transactions_end) {
  const std::string sql = "BEGIN; UPDATE t SET a = 1; COMMIT; ROLLBACK TO SAVEPOINT s; ROLLBACK";
  const auto p = plan(sql);
  ASSERT_EQ(p.parts.size(), 5u);
  EXPECT_FALSE(p.parts[0].ends_transaction);
  EXPECT_FALSE(p.parts[1].ends_transaction);
  EXPECT_TRUE(p.parts[1].compare_rows);
  EXPECT_TRUE(p.parts[2].ends_transaction);
  EXPECT_FALSE(p.parts[3].ends_transaction);  // to a savepoint
  EXPECT_TRUE(p.parts[4].ends_transaction);
  // Each part starts right after the previous semicolon.
  EXPECT_EQ(p.parts[0].location, 0u);
  EXPECT_EQ(p.parts[1].location, sql.find(';') + 1);
}

TEST(statement_plan, vacuum_runs_outside_transactions) {
  const auto p = plan("VACUUM t");
  EXPECT_TRUE(p.to_shadow);
  EXPECT_TRUE(p.outside_transaction);
  EXPECT_FALSE(plan("UPDATE t SET a = 1").outside_transaction);
  EXPECT_TRUE(plan("CREATE INDEX CONCURRENTLY i ON t (a)").outside_transaction);
}

TEST(statement_plan, nondeterminism_and_read_only_functions) {
  EXPECT_TRUE(plan("INSERT INTO t VALUES (now())").nondeterministic);
  EXPECT_FALSE(plan("INSERT INTO t VALUES (1)").nondeterministic);

  EXPECT_TRUE(plan("SELECT my_report(1)").to_shadow);  // a user function may write
  const std::vector<std::string> ro{"my_report"};
  plan_options o;
  o.read_only_functions = ro;
  EXPECT_FALSE(plan("SELECT my_report(1)", o).to_shadow);
}

TEST(statement_plan, locking_reads_and_ddl_need_order) {
  EXPECT_TRUE(plan("SELECT * FROM t FOR UPDATE").needs_order);
  EXPECT_TRUE(plan("ALTER TABLE t ADD COLUMN b int").needs_order);
  EXPECT_TRUE(plan("SELECT nextval('s')").needs_order);
  const auto bad = plan("SELEC 1");
  EXPECT_TRUE(bad.to_shadow);
  EXPECT_TRUE(bad.needs_order);
}

}  // namespace
}  // namespace dw::shadow
