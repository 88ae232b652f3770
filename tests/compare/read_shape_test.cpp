// analyze_read(): top-level ORDER BY keys (columns, aliases, positions, expressions), ORDER BY
// in subqueries and set operations, and the tables a read names.
#include "compare/read_shape.hpp"

#include <gtest/gtest.h>

namespace dw::compare::test {
namespace {

using keys = std::vector<order_key>;
using names = std::vector<std::string>;

order_key col(std::string name) { return {std::move(name), 0}; }
order_key pos(int n) { return {{}, n}; }

TEST(read_shape, no_order_by) {
  const auto s = analyze_read("SELECT id, name FROM t WHERE id = $1");
  EXPECT_TRUE(s.single_statement);
  EXPECT_FALSE(s.ordered);
  EXPECT_TRUE(s.order_keys.empty());
  EXPECT_EQ(s.tables, names{"t"});
}

TEST(read_shape, plain_columns_qualified_or_not) {
  const auto s = analyze_read("SELECT t.id, t.name FROM t ORDER BY t.name DESC, id");
  EXPECT_TRUE(s.ordered);
  EXPECT_EQ(s.order_keys, (keys{col("name"), col("id")}));
  EXPECT_EQ(analyze_read("SELECT * FROM public.t ORDER BY public.t.id").order_keys,
            keys{col("id")});
}

TEST(read_shape, aliases_and_positions) {
  EXPECT_EQ(analyze_read("SELECT count(*) AS n, city FROM t GROUP BY city ORDER BY n, 2")
                .order_keys,
            (keys{col("n"), pos(2)}));
  EXPECT_EQ(analyze_read("SELECT a, b FROM t ORDER BY 2 NULLS FIRST, 1 USING <").order_keys,
            (keys{pos(2), pos(1)}));
}

TEST(read_shape, expressions_leave_no_keys) {
  for (const char* sql : {"SELECT a FROM t ORDER BY lower(a)", "SELECT a FROM t ORDER BY a + 1",
                          "SELECT a FROM t ORDER BY a, random()",
                          "SELECT a FROM t ORDER BY a COLLATE \"C\"",
                          "SELECT t.* FROM t ORDER BY 'x'"}) {
    const auto s = analyze_read(sql);
    EXPECT_TRUE(s.ordered) << sql;
    EXPECT_TRUE(s.order_keys.empty()) << sql;
  }
}

TEST(read_shape, only_the_top_level_order_by_counts) {
  const auto sub = analyze_read("SELECT * FROM (SELECT a FROM t ORDER BY a LIMIT 5) s");
  EXPECT_FALSE(sub.ordered);
  EXPECT_FALSE(analyze_read("SELECT a, row_number() OVER (ORDER BY a) FROM t").ordered);
  EXPECT_FALSE(analyze_read("WITH x AS (SELECT a FROM t ORDER BY a) SELECT a FROM x").ordered);
  EXPECT_FALSE(analyze_read("SELECT array_agg(a ORDER BY a) FROM t").ordered);
  EXPECT_FALSE(analyze_read("(SELECT a FROM t ORDER BY a) UNION SELECT b FROM u").ordered);

  const auto with = analyze_read("WITH x AS (SELECT a FROM t) SELECT a FROM x ORDER BY a");
  EXPECT_TRUE(with.ordered);
  EXPECT_EQ(with.order_keys, keys{col("a")});
  const auto paren = analyze_read("(SELECT a FROM t ORDER BY a)");
  EXPECT_TRUE(paren.ordered);
}

TEST(read_shape, union_order_by_counts) {
  const auto s = analyze_read("SELECT a FROM t UNION ALL SELECT b FROM u ORDER BY 1");
  EXPECT_TRUE(s.ordered);
  EXPECT_EQ(s.order_keys, keys{pos(1)});
  EXPECT_EQ(s.tables, (names{"t", "u"}));
}

TEST(read_shape, values_and_table) {
  EXPECT_EQ(analyze_read("VALUES (2, 'b'), (1, 'a') ORDER BY 1").order_keys, keys{pos(1)});
  const auto table = analyze_read("TABLE orders");
  EXPECT_FALSE(table.ordered);
  EXPECT_EQ(table.tables, names{"orders"});
  EXPECT_TRUE(analyze_read("SHOW search_path").tables.empty());
}

TEST(read_shape, tables_everywhere) {
  const auto s = analyze_read(
      "SELECT * FROM sales.orders o JOIN customers c ON c.id = o.customer "
      "LEFT JOIN LATERAL (SELECT 1 FROM items i WHERE i.order_id = o.id) x ON true "
      "WHERE EXISTS (SELECT 1 FROM \"Audit\" a WHERE a.id = o.id) "
      "AND o.id IN (SELECT order_id FROM public.refunds)");
  EXPECT_EQ(s.tables, (names{"sales.orders", "orders", "customers", "items", "\"Audit\"",
                             "Audit", "public.refunds", "refunds"}));
}

TEST(read_shape, cte_names_are_not_tables) {
  EXPECT_EQ(analyze_read("WITH x AS (SELECT * FROM t) SELECT * FROM x JOIN u USING (id)").tables,
            (names{"t", "u"}));
  // A non-recursive CTE's body sees the table of the same name; later uses see the CTE.
  EXPECT_EQ(analyze_read("WITH orders AS (SELECT * FROM orders WHERE open) "
                         "SELECT * FROM orders")
                .tables,
            names{"orders"});
  EXPECT_EQ(analyze_read("WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b").tables,
            names{});
  EXPECT_EQ(analyze_read("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r "
                         "WHERE n < 3) SELECT * FROM r, s.r")
                .tables,
            (names{"s.r", "r"}));
  // A CTE is visible only inside the query that defines it.
  EXPECT_EQ(analyze_read("SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) s, x").tables,
            names{"x"});
}

TEST(read_shape, not_one_statement) {
  const auto two = analyze_read("SELECT 1 FROM a; SELECT 2 FROM b ORDER BY 1");
  EXPECT_FALSE(two.single_statement);
  EXPECT_FALSE(two.ordered);
  EXPECT_EQ(two.tables, (names{"a", "b"}));
  const auto bad = analyze_read("SELEC 1");
  EXPECT_EQ(bad, read_shape{});
  EXPECT_FALSE(analyze_read("").single_statement);
}

}  // namespace
}  // namespace dw::compare::test
