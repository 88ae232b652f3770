#include "compare/table_sql.hpp"

namespace dw::compare {
namespace {

std::string tuple(const std::vector<std::string>& sql_items) {
  std::string s = "(";
  for (std::size_t i = 0; i < sql_items.size(); ++i) s += (i ? ", " : "") + sql_items[i];
  return s + ")";
}

std::string bound(const key_value& key, value_binder& values) {
  std::vector<std::string> items;
  for (const auto& v : key) items.push_back(values.bind(v));
  return tuple(items);
}

std::string quoted_tuple(const std::vector<std::string>& names) {
  return "(" + column_list(names) + ")";
}

}  // namespace

std::string value_binder::bind(const std::string& value) {
  if (literal) return literal(value);
  params.emplace_back(value);
  return "$" + std::to_string(params.size());
}

std::string column_list(const std::vector<std::string>& columns) {
  std::string s;
  for (std::size_t i = 0; i < columns.size(); ++i) s += (i ? ", " : "") + quote_ident(columns[i]);
  return s;
}

std::string row_hash_expr(const std::vector<std::string>& columns) {
  return "hashtextextended(ROW(" + column_list(columns) + ")::text, 0)";
}

std::string range_predicate(const std::vector<std::string>& key, const key_range& range,
                            value_binder& values) {
  const std::string k = quoted_tuple(key);
  std::string s;
  if (range.after) s = k + " > " + bound(*range.after, values);
  if (range.up_to) s += (s.empty() ? "" : " AND ") + k + " <= " + bound(*range.up_to, values);
  return s.empty() ? "TRUE" : s;
}

std::string next_boundary_sql(const table_name& table, const std::vector<std::string>& key,
                              const std::optional<key_value>& after, std::uint64_t rows,
                              value_binder& values) {
  const key_range range{after, std::nullopt};
  return "SELECT " + column_list(key) + " FROM " + table.sql() + " WHERE " +
         range_predicate(key, range, values) + " ORDER BY " + column_list(key) +
         " LIMIT 1 OFFSET " + std::to_string(rows == 0 ? 0 : rows - 1);
}

std::string checksum_sql(const table_name& table, const std::vector<std::string>& key,
                         const std::vector<std::string>& columns, const key_range& range,
                         value_binder& values) {
  return "SELECT count(*), coalesce(sum(" + row_hash_expr(columns) + "), 0) FROM " + table.sql() +
         " WHERE " + range_predicate(key, range, values);
}

std::string row_hashes_sql(const table_name& table, const std::vector<std::string>& key,
                           const std::vector<std::string>& columns, const key_range& range,
                           value_binder& values) {
  return "SELECT " + column_list(key) + ", " + row_hash_expr(columns) + " FROM " + table.sql() +
         " WHERE " + range_predicate(key, range, values);
}

std::string rows_by_key_sql(const table_name& table, const std::vector<std::string>& key,
                            std::string_view select_list, const std::vector<key_value>& keys,
                            value_binder& values) {
  std::string in;
  for (const auto& k : keys) in += (in.empty() ? "" : ", ") + bound(k, values);
  return "SELECT " + std::string{select_list} + " FROM " + table.sql() + " WHERE " +
         quoted_tuple(key) + " IN (" + in + ")";
}

std::string row_multiset_sql(const table_name& table, const std::vector<std::string>& columns) {
  const std::string row = "ROW(" + column_list(columns) + ")::text";
  return "SELECT hashtextextended(" + row + ", 0), count(*), min(" + row + ") FROM " +
         table.sql() + " GROUP BY 1";
}

}  // namespace dw::compare
