// classify() on whole strings: several statements, tables written, what does not parse and
// why, the size and depth limits, and the fingerprint.
#include <gtest/gtest.h>

#include <string>

#include "tests/compare/classify_test_util.hpp"

namespace dw::compare::test {
namespace {

std::string_view text_of(std::string_view sql, const statement_info& s) {
  return sql.substr(s.location, s.length);
}

TEST(classify_strings, one_entry_per_statement_in_order) {
  const std::string_view sql = "BEGIN; UPDATE a SET x = 1; SELECT 1; COMMIT";
  const classification c = classify(sql);
  ASSERT_EQ(c.statements.size(), 4u);
  EXPECT_EQ(flags(c.statements[0]), "tx=begin");
  EXPECT_EQ(flags(c.statements[1]), "writes_data");
  EXPECT_EQ(flags(c.statements[2]), "read_only");
  EXPECT_EQ(flags(c.statements[3]), "tx=commit");
  EXPECT_EQ(text_of(sql, c.statements[0]), "BEGIN");
  EXPECT_EQ(text_of(sql, c.statements[1]), " UPDATE a SET x = 1");
  EXPECT_EQ(text_of(sql, c.statements[3]), " COMMIT");  // the last one runs to the end
  EXPECT_FALSE(c.unparseable);
  EXPECT_TRUE(c.goes_to_shadow());
}

TEST(classify_strings, semicolons_inside_literals_and_comments_do_not_split) {
  const classification c = classify("SELECT ';' -- ; not here\n; SELECT $$;$$ /* ; */");
  ASSERT_EQ(c.statements.size(), 2u);
  EXPECT_EQ(flags(c.statements[0]), "read_only");
  EXPECT_EQ(flags(c.statements[1]), "read_only");
  EXPECT_FALSE(c.goes_to_shadow());
}

TEST(classify_strings, empty_strings_hold_no_statement) {
  for (const std::string_view sql : {"", "   ", "-- just a comment", ";", ";;", "/* x */ ;"}) {
    const classification c = classify(sql);
    EXPECT_TRUE(c.statements.empty()) << sql;
    EXPECT_FALSE(c.unparseable) << sql;
    EXPECT_FALSE(c.goes_to_shadow()) << sql;
  }
}

TEST(classify_strings, garbage_is_unparseable_and_goes_to_the_shadow) {
  for (const std::string_view sql :
       {"SELEC 1", "UPDATE t SET", "SELECT 'unterminated", "\x01\x02", "BEGIN; UPDAT t; COMMIT"}) {
    const classification c = classify(sql);
    EXPECT_TRUE(c.unparseable) << sql;
    EXPECT_EQ(c.reason, unparseable_reason::syntax_error) << sql;
    ASSERT_EQ(c.statements.size(), 1u) << sql;
    EXPECT_EQ(flags(c.statements[0]), "unparseable") << sql;
    EXPECT_EQ(c.statements[0].length, sql.size());
    EXPECT_TRUE(c.goes_to_shadow()) << sql;
    EXPECT_EQ(c.fingerprint, 0u);
  }
}

TEST(classify_strings, bytes_outside_utf8_in_literals_still_parse) {
  EXPECT_EQ(flags_of("SELECT 'caf\xe9' FROM t"), "read_only");  // a LATIN1 client
}

TEST(classify_tables, written_tables_with_schemas_and_quoting) {
  EXPECT_EQ(tables_of("INSERT INTO t VALUES (1)"), "t");
  EXPECT_EQ(tables_of("UPDATE app.accounts SET a = 1"), "app.accounts");
  EXPECT_EQ(tables_of("DELETE FROM \"App\".\"MyTable\""), "\"App\".\"MyTable\"");
  EXPECT_EQ(tables_of("INSERT INTO \"odd.name\" VALUES (1)"), "\"odd.name\"");
  EXPECT_EQ(tables_of("INSERT INTO \"say \"\"hi\"\"\" VALUES (1)"), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(tables_of("INSERT INTO UPPER_CASE VALUES (1)"), "upper_case");  // folded
  EXPECT_EQ(tables_of("MERGE INTO m.t USING s ON true WHEN MATCHED THEN DELETE"), "m.t");
  EXPECT_EQ(tables_of("TRUNCATE a, s.b"), "a s.b");
  EXPECT_EQ(tables_of("COPY s.t FROM STDIN"), "s.t");
  EXPECT_EQ(tables_of("SELECT * INTO new_t FROM t"), "new_t");
  EXPECT_EQ(tables_of("CREATE TABLE c AS SELECT 1"), "c");
  EXPECT_EQ(tables_of("REFRESH MATERIALIZED VIEW m"), "m");
  EXPECT_EQ(tables_of("SELECT * FROM t"), "");
  EXPECT_EQ(tables_of("CREATE TABLE t (a int)"), "");  // no data written
}

TEST(classify_tables, in_order_of_appearance_without_duplicates) {
  EXPECT_EQ(tables_of("WITH a AS (INSERT INTO log VALUES (1)), b AS (UPDATE t SET x = 1) "
                      "INSERT INTO log VALUES (2)"),
            "log t");
  EXPECT_EQ(tables_of("BEGIN; UPDATE a SET x = 1; UPDATE b SET x = 1; COMMIT"), "a b");
}

TEST(classify_tables, key_quotes_only_what_needs_it) {
  EXPECT_EQ((table_name{"", "plain_1"}).key(), "plain_1");
  EXPECT_EQ((table_name{"s", "t$x"}).key(), "s.t$x");
  EXPECT_EQ((table_name{"", "1abc"}).key(), "\"1abc\"");
  EXPECT_EQ((table_name{"Sch", "tbl"}).key(), "\"Sch\".tbl");
  EXPECT_EQ((table_name{"", "a\"b"}).key(), "\"a\"\"b\"");
}

TEST(classify_limits, longer_than_the_cap_is_not_parsed) {
  std::string sql = "SELECT 1 -- ";
  sql.resize((std::size_t{1} << 20) + 1, 'x');
  const classification c = classify(sql);
  EXPECT_TRUE(c.unparseable);
  EXPECT_EQ(c.reason, unparseable_reason::too_long);
  ASSERT_EQ(c.statements.size(), 1u);
  EXPECT_TRUE(c.statements[0].goes_to_shadow());

  sql.pop_back();  // exactly the cap: parsed
  EXPECT_FALSE(classify(sql).unparseable);
}

TEST(classify_limits, the_cap_is_configurable) {
  classify_options options;
  options.max_sql_bytes = 8;
  EXPECT_EQ(classify("SELECT 1", options).reason, unparseable_reason::none);
  EXPECT_EQ(classify("SELECT 12", options).reason, unparseable_reason::too_long);
}

TEST(classify_limits, nul_bytes_are_refused) {
  const classification c = classify(std::string_view{"SELECT 1\0; DROP TABLE t", 24});
  EXPECT_TRUE(c.unparseable);
  EXPECT_EQ(c.reason, unparseable_reason::contains_nul);
}

// libpg_query writes its tree recursively: a long enough operator chain would overflow the
// stack. Such input is refused before it reaches the parser (a crash here fails the test).
TEST(classify_limits, deep_nesting_is_refused_not_crashed) {
  std::string chain = "SELECT 1";
  for (int i = 0; i < 200000; ++i) chain += "+1";
  EXPECT_EQ(classify(chain).reason, unparseable_reason::too_deep);

  std::string short_chain = "SELECT 1";  // under the size that is scanned first
  for (int i = 0; i < 3000; ++i) short_chain += "+1";
  EXPECT_EQ(classify(short_chain).reason, unparseable_reason::too_deep);

  std::string nested = "SELECT ";
  for (int i = 0; i < 3000; ++i) nested += "abs(";
  nested += "1";
  for (int i = 0; i < 3000; ++i) nested += ")";
  EXPECT_TRUE(classify(nested).unparseable);

  std::string fine = "SELECT 1";
  for (int i = 0; i < 200; ++i) fine += "+1";
  EXPECT_EQ(flags_of(fine), "read_only");
}

TEST(classify_limits, big_but_flat_statements_parse) {
  std::string sql = "INSERT INTO t VALUES (0, 'x')";
  for (int i = 1; i < 20000; ++i) sql += ", (" + std::to_string(i) + ", 'x')";
  const classification c = classify(sql);
  ASSERT_FALSE(c.unparseable);
  EXPECT_EQ(flags(c.statements[0]), "writes_data uses_sequence");
  EXPECT_GT(sql.size(), 8192u);  // went through the nesting check
}

TEST(classify_fingerprint, ignores_constants_and_layout) {
  const auto a = classify("SELECT * FROM t WHERE id = 1").fingerprint;
  const auto b = classify("select *\n  from t where id = 42").fingerprint;
  const auto c = classify("SELECT * FROM u WHERE id = 1").fingerprint;
  EXPECT_NE(a, 0u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  classify_options options;
  options.fingerprint = false;
  EXPECT_EQ(classify("SELECT * FROM t WHERE id = 1", options).fingerprint, 0u);
}

}  // namespace
}  // namespace dw::compare::test
