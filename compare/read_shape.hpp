#pragma once
// What the result differ needs to know about a read statement before its answers arrive
// (issue 4): whether the answer's order is defined (a top-level ORDER BY), by which output
// columns, and which tables the statement reads (for per-table ignore rules). Pure: one parse
// with libpg_query, no I/O.
//
// Only the top level counts: ORDER BY inside a subquery, a CTE or a window does not order the
// answer, while a UNION's trailing ORDER BY does. Tables are every relation a FROM or JOIN
// names, in subqueries and CTEs too; references to a CTE of the statement are not tables.
#include <string>
#include <string_view>
#include <vector>

namespace dw::compare {

/// One ORDER BY key, as an output column of the answer.
struct order_key {
  std::string column;  ///< ORDER BY t.col or col: "col"; ORDER BY alias: "alias"
  int position = 0;    ///< ORDER BY n: n (1-based); otherwise 0

  friend bool operator==(const order_key&, const order_key&) = default;
};

struct read_shape {
  bool single_statement = false;  ///< parsed, and exactly one statement
  bool ordered = false;           ///< a top-level ORDER BY
  /// Empty when some sort key is an expression that is neither a plain column nor an output
  /// position (the differ then checks the order of whole rows).
  std::vector<order_key> order_keys;
  /// Relations read anywhere, spelt as table_name::key() does ("public.orders", "\"Orders\"")
  /// and also by their bare names ("orders", "Orders"); each spelling once.
  std::vector<std::string> tables;

  friend bool operator==(const read_shape&, const read_shape&) = default;
};

/// The shape of `sql`; everything false and empty when it does not parse.
[[nodiscard]] read_shape analyze_read(std::string_view sql);

}  // namespace dw::compare
