// Identifier quoting and --tables names (compare/pg_identifier): every name that reaches SQL
// is quoted whatever it contains, and the command-line parser folds and unquotes as
// PostgreSQL's scanner does.
#include <gtest/gtest.h>

#include "compare/pg_identifier.hpp"

namespace dw::compare {
namespace {

TEST(quote_ident, always_quotes_and_doubles_embedded_quotes) {
  EXPECT_EQ(quote_ident("accounts"), "\"accounts\"");
  EXPECT_EQ(quote_ident("Mixed Case"), "\"Mixed Case\"");
  EXPECT_EQ(quote_ident("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(quote_ident("\""), "\"\"\"\"");
  EXPECT_EQ(quote_ident("日本"), "\"日本\"");
  // An injection attempt stays one identifier: the quote that would end it is doubled.
  EXPECT_EQ(quote_ident("x\"; DROP TABLE t; --"), "\"x\"\"; DROP TABLE t; --\"");
}

TEST(table_name, sql_quotes_both_parts_and_display_quotes_only_what_needs_it) {
  const table_name plain{"public", "accounts"};
  EXPECT_EQ(plain.sql(), "\"public\".\"accounts\"");
  EXPECT_EQ(plain.display(), "public.accounts");
  const table_name odd{"Sales", "Q1 \"big\" deals"};
  EXPECT_EQ(odd.sql(), "\"Sales\".\"Q1 \"\"big\"\" deals\"");
  EXPECT_EQ(odd.display(), "\"Sales\".\"Q1 \"\"big\"\" deals\"");
  EXPECT_EQ((table_name{"public", "select"}).display(), "public.select");
  EXPECT_EQ((table_name{"public", "1st"}).display(), "public.\"1st\"");
}

TEST(parse_table_pattern, folds_unquoted_parts_and_keeps_quoted_ones_verbatim) {
  auto p = parse_table_pattern("Accounts");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->schema);
  EXPECT_EQ(p->name, "accounts");

  p = parse_table_pattern("Sales.\"Q1 \"\"big\"\" deals\"");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->schema, "sales");
  EXPECT_EQ(p->name, "Q1 \"big\" deals");

  p = parse_table_pattern("\"a.b\"");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->schema);
  EXPECT_EQ(p->name, "a.b");
}

TEST(parse_table_pattern, refuses_malformed_names) {
  for (const char* bad : {"", ".", "a.", ".b", "a.b.c", "\"open", "\"\"", "a b", "a\"b\"",
                          "\"a\"b"})
    EXPECT_FALSE(parse_table_pattern(bad)) << bad;
}

TEST(table_pattern, matches_by_exact_name_and_optional_schema) {
  const table_name t{"sales", "Orders"};
  EXPECT_TRUE((table_pattern{std::nullopt, "Orders"}).matches(t));
  EXPECT_TRUE((table_pattern{"sales", "Orders"}).matches(t));
  EXPECT_FALSE((table_pattern{std::nullopt, "orders"}).matches(t));
  EXPECT_FALSE((table_pattern{"public", "Orders"}).matches(t));
}

}  // namespace
}  // namespace dw::compare
