// The pure decisions of backfill and repair: how a table is copied (binary or text COPY,
// which columns), the upsert that makes a re-run write nothing, what repair does per row in
// each direction, and the progress line.
#include <gtest/gtest.h>

#include "migrate/chunk_copy.hpp"
#include "migrate/progress.hpp"
#include "migrate/repair.hpp"
#include "migrate/retry.hpp"

namespace dw::migrate {
namespace {

using namespace std::chrono_literals;

compare::table_info table(std::vector<compare::column_info> columns,
                          std::vector<std::string> key) {
  compare::table_info t;
  t.name = {"public", "T \"q\""};
  t.columns = std::move(columns);
  t.primary_key = std::move(key);
  return t;
}

compare::column_info column(std::string name, std::string type, bool builtin = true) {
  compare::column_info c;
  c.name = std::move(name);
  c.type = std::move(type);
  c.builtin_type = builtin;
  return c;
}

TEST(plan_copy, copies_shared_written_columns_in_binary_when_types_allow) {
  auto src = table({column("id", "integer"), column("v", "jsonb"), column("gone", "text")}, {"id"});
  auto tgt = table({column("id", "integer"), column("v", "jsonb"), column("g", "integer")}, {"id"});
  tgt.columns[2].generated = 's';
  const auto p = plan_copy(src, tgt);
  EXPECT_EQ(p.columns, (std::vector<std::string>{"id", "v"}));
  EXPECT_TRUE(p.binary);
  EXPECT_NE(p.upsert_sql.find("ON CONFLICT (\"id\")"), std::string::npos) << p.upsert_sql;
}

TEST(plan_copy, falls_back_to_text_for_differing_or_user_defined_types) {
  const auto widened = plan_copy(table({column("id", "integer")}, {"id"}),
                                 table({column("id", "bigint")}, {"id"}));
  EXPECT_FALSE(widened.binary) << "a binary int4 does not read as int8";
  const auto mood = plan_copy(table({column("id", "integer"), column("m", "mood", false)}, {"id"}),
                              table({column("id", "integer"), column("m", "mood", false)}, {"id"}));
  EXPECT_FALSE(mood.binary) << "an enum's OID differs between databases";
  EXPECT_TRUE(plan_copy(table({column("x", "text")}, {}), table({column("x", "text")}, {}))
                  .upsert_sql.empty())
      << "keyless tables are replaced, never upserted";
}

TEST(upsert_sql, updates_only_rows_whose_text_differs_and_never_identity_always_columns) {
  auto t = table({column("id", "bigint"), column("Val", "text"), column("n", "integer")}, {"id"});
  t.columns[2].identity = 'a';
  EXPECT_EQ(upsert_sql(t, {"id", "Val", "n"}, "SELECT 1"),
            "INSERT INTO \"public\".\"T \"\"q\"\"\" AS dst (\"id\", \"Val\", \"n\") OVERRIDING "
            "SYSTEM VALUE SELECT 1 ON CONFLICT (\"id\") DO UPDATE SET \"Val\" = EXCLUDED.\"Val\" "
            "WHERE ROW(dst.\"Val\")::text IS DISTINCT FROM ROW(EXCLUDED.\"Val\")::text");
  const auto key_only = table({column("a", "int"), column("b", "int")}, {"a", "b"});
  EXPECT_EQ(upsert_sql(key_only, {"a", "b"}, "VALUES ($1, $2)"),
            "INSERT INTO \"public\".\"T \"\"q\"\"\" AS dst (\"a\", \"b\") OVERRIDING SYSTEM VALUE "
            "VALUES ($1, $2) ON CONFLICT (\"a\", \"b\") DO NOTHING");
}

TEST(plan_fixes, turns_each_difference_into_the_change_the_target_needs) {
  using k = compare::row_difference_kind;
  const std::vector<compare::row_difference> rows{
      {k::missing_on_new, {"1"}}, {k::extra_on_new, {"2"}}, {k::different, {"3"}}};
  EXPECT_EQ(plan_fixes(rows, repair_direction::old_to_new),
            (std::vector<planned_fix>{{repair_action::insert, {"1"}},
                                      {repair_action::remove, {"2"}},
                                      {repair_action::update, {"3"}}}));
  EXPECT_EQ(plan_fixes(rows, repair_direction::new_to_old),
            (std::vector<planned_fix>{{repair_action::remove, {"1"}},
                                      {repair_action::insert, {"2"}},
                                      {repair_action::update, {"3"}}}));
  EXPECT_EQ(to_string(repair_action::remove), "delete");
}

TEST(progress, formats_rows_bytes_rate_and_eta) {
  EXPECT_EQ(format_bytes(999), "999 B");
  EXPECT_EQ(format_bytes(1'500'000), "1.5 MB");
  EXPECT_EQ(format_bytes(15'000'000'000), "15.0 GB");
  EXPECT_EQ(format_progress({400'000, 1'000'000, 38'200'000, 2000ms}),
            "400000/~1000000 rows (40%), 38.2 MB, 200000 rows/s, ETA 3 s");
  EXPECT_EQ(format_progress({1'200'000, 1'000'000, 1000, 1000ms}),
            "1200000/~1000000 rows (99%), 1.0 kB, 1200000 rows/s")
      << "the planner's estimate may be low: never claim 100 % or a negative ETA";
  EXPECT_EQ(format_progress({10, 0, 0, 1000ms}), "10 rows, 0 B, 10 rows/s");
  EXPECT_EQ(format_done({1'000'000, 999'000, 91'100'000, 2500ms}),
            "1000000 rows, 91.1 MB in 2.5 s (400000 rows/s)");
}

TEST(retry_backoff, doubles_from_20_ms_up_to_a_second) {
  EXPECT_EQ(retry_backoff(0), 20ms);
  EXPECT_EQ(retry_backoff(1), 40ms);
  EXPECT_EQ(retry_backoff(5), 640ms);
  EXPECT_EQ(retry_backoff(6), 1000ms);
  EXPECT_EQ(retry_backoff(60), 1000ms);
}

}  // namespace
}  // namespace dw::migrate
