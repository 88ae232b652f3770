// The SQL the data tools run against a table, built from names and key values. Pure: every
// name is quoted with quote_ident(), and every value goes through a value_binder, which makes
// it a $n parameter or, where PostgreSQL takes no parameters (COPY), a literal escaped by
// libpq. Key ranges use row comparison on the primary key, `(a, b) > ($1, $2)`, which a btree
// on (a, b) serves directly; parameter types are left for the server to infer from the columns.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compare/table_model.hpp"

namespace dw::compare {

/// Turns values into SQL: `$n` parameters collected in `params`, or literals when `literal`
/// is set (PQescapeLiteral through pg_connection::literal). Build the SQL into a variable
/// before passing `params`: in `exec(make_sql(b), b.params)` the order in which the two
/// arguments are evaluated is unspecified, and `params` may be read while still empty.
struct value_binder {
  std::vector<std::optional<std::string>> params;
  std::function<std::string(std::string_view)> literal;

  std::string bind(const std::string& value);
};

/// Rows of a table whose key lies in (after, up_to]; either end open when unset.
struct key_range {
  std::optional<key_value> after;
  std::optional<key_value> up_to;

  friend bool operator==(const key_range&, const key_range&) = default;
};

/// `"a", "b"`.
[[nodiscard]] std::string column_list(const std::vector<std::string>& columns);

/// A 64-bit hash of the row's text, `hashtextextended(ROW("a", "b")::text, 0)`. Text, because
/// both sides render values alike (pinned settings) even when a type differs in width.
[[nodiscard]] std::string row_hash_expr(const std::vector<std::string>& columns);

/// `("a", "b") > ($1, $2) AND ("a", "b") <= ($3, $4)`, or `TRUE` for an open range.
[[nodiscard]] std::string range_predicate(const std::vector<std::string>& key,
                                          const key_range& range, value_binder& values);

/// The key of the row `rows` positions after `after` (the last row of the next chunk), in key
/// order; no row: fewer remain and the chunk runs to the end.
[[nodiscard]] std::string next_boundary_sql(const table_name& table,
                                            const std::vector<std::string>& key,
                                            const std::optional<key_value>& after,
                                            std::uint64_t rows, value_binder& values);

/// count(*) and the sum of row hashes over a range: one row, two columns.
[[nodiscard]] std::string checksum_sql(const table_name& table,
                                       const std::vector<std::string>& key,
                                       const std::vector<std::string>& columns,
                                       const key_range& range, value_binder& values);

/// Each row's key columns, then its hash, over a range.
[[nodiscard]] std::string row_hashes_sql(const table_name& table,
                                         const std::vector<std::string>& key,
                                         const std::vector<std::string>& columns,
                                         const key_range& range, value_binder& values);

/// The rows with these keys: `select_list` over `WHERE (key) IN ((...), (...))`.
[[nodiscard]] std::string rows_by_key_sql(const table_name& table,
                                          const std::vector<std::string>& key,
                                          std::string_view select_list,
                                          const std::vector<key_value>& keys,
                                          value_binder& values);

/// For a table without a key: each distinct row's hash, how often it occurs, and its text.
[[nodiscard]] std::string row_multiset_sql(const table_name& table,
                                           const std::vector<std::string>& columns);

}  // namespace dw::compare
