// The SQL verify, backfill and repair run (compare/table_sql): names quoted, values only ever
// as $n parameters or escaped literals, key ranges as row comparisons.
#include <gtest/gtest.h>

#include "compare/table_sql.hpp"

namespace dw::compare {
namespace {

const table_name evil{"s\"x", "t\"; DROP TABLE u; --"};
const std::vector<std::string> key{"a", "B b"};

TEST(table_sql, range_predicate_binds_values_as_numbered_parameters) {
  value_binder b;
  const auto sql = range_predicate(key, {key_value{"1", "x'y"}, key_value{"2", "z"}}, b);
  EXPECT_EQ(sql, "(\"a\", \"B b\") > ($1, $2) AND (\"a\", \"B b\") <= ($3, $4)");
  ASSERT_EQ(b.params.size(), 4u);
  EXPECT_EQ(b.params[1], "x'y");
  EXPECT_EQ(b.params[3], "z");
}

TEST(table_sql, open_ends_of_a_range_leave_their_side_out) {
  value_binder b;
  EXPECT_EQ(range_predicate(key, {}, b), "TRUE");
  EXPECT_EQ(range_predicate(key, {std::nullopt, key_value{"9", "9"}}, b),
            "(\"a\", \"B b\") <= ($1, $2)");
  EXPECT_EQ(range_predicate(key, {key_value{"1", "1"}, std::nullopt}, b),
            "(\"a\", \"B b\") > ($3, $4)");
}

TEST(table_sql, literals_come_from_the_binders_escaper_for_copy) {
  value_binder b;
  b.literal = [](std::string_view v) { return "E'" + std::string{v} + "'"; };
  EXPECT_EQ(range_predicate({"id"}, {key_value{"5"}, std::nullopt}, b), "(\"id\") > (E'5')");
  EXPECT_TRUE(b.params.empty());
}

TEST(table_sql, next_boundary_offsets_to_the_chunks_last_row) {
  value_binder b;
  const auto sql = next_boundary_sql(evil, key, key_value{"1", "2"}, 1000, b);
  EXPECT_EQ(sql,
            "SELECT \"a\", \"B b\" FROM \"s\"\"x\".\"t\"\"; DROP TABLE u; --\" WHERE (\"a\", "
            "\"B b\") > ($1, $2) ORDER BY \"a\", \"B b\" LIMIT 1 OFFSET 999");
  value_binder first;
  EXPECT_NE(next_boundary_sql(evil, key, std::nullopt, 1, first).find("WHERE TRUE"),
            std::string::npos);
  EXPECT_TRUE(first.params.empty());
}

TEST(table_sql, checksum_hashes_each_rows_text_over_the_quoted_columns) {
  value_binder b;
  const auto sql = checksum_sql(evil, key, {"a", "B b", "c\"d"}, {}, b);
  EXPECT_EQ(sql,
            "SELECT count(*), coalesce(sum(hashtextextended(ROW(\"a\", \"B b\", \"c\"\"d\")::text, "
            "0)), 0) FROM \"s\"\"x\".\"t\"\"; DROP TABLE u; --\" WHERE TRUE");
}

TEST(table_sql, rows_by_key_lists_each_key_as_a_parameter_tuple) {
  value_binder b;
  const auto sql = rows_by_key_sql({"public", "t"}, {"id"}, "\"id\"", {{"1"}, {"2"}}, b);
  EXPECT_EQ(sql, "SELECT \"id\" FROM \"public\".\"t\" WHERE (\"id\") IN (($1), ($2))");
  EXPECT_EQ(b.params.size(), 2u);
}

}  // namespace
}  // namespace dw::compare
