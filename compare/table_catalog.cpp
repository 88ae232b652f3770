// The catalog queries behind table_catalog.hpp. Tables are joined to their columns,
// constraints and indexes by OID within one side; across sides, only names are compared.
#include "compare/table_catalog.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <unordered_map>

namespace dw::compare {
namespace {

// Ordinary tables and partitioned roots outside the system schemas, not owned by an extension.
constexpr std::string_view user_tables = R"(
  SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                    AND d.objid = c.oid AND d.deptype = 'e'))";

std::string tables_sql() {
  return "SELECT c.oid, n.nspname, c.relname, c.reltuples FROM pg_class c "
         "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid IN (" +
         std::string{user_tables} + ") ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"";
}

std::string columns_sql() {
  // FirstNormalObjectId (16384): below it, types ship with PostgreSQL and keep their OIDs,
  // which binary COPY embeds for arrays and records.
  return "SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
         "CASE WHEN a.attcollation <> t.typcollation THEN coalesce(co.collname, '') ELSE '' END, "
         "a.attgenerated, a.attidentity, a.atttypid < 16384 AND t.typelem < 16384 "
         "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
         "LEFT JOIN pg_collation co ON co.oid = a.attcollation "
         "WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attrelid IN (" +
         std::string{user_tables} + ") ORDER BY a.attrelid, a.attnum";
}

std::string primary_keys_sql() {
  return "SELECT c.conrelid, a.attname FROM pg_constraint c "
         "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) "
         "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
         "WHERE c.contype = 'p' AND c.conrelid IN (" +
         std::string{user_tables} + ") ORDER BY c.conrelid, k.ord";
}

std::string constraints_sql() {
  return "SELECT conrelid, conname, contype, pg_get_constraintdef(oid), convalidated "
         "FROM pg_constraint WHERE conrelid IN (" +
         std::string{user_tables} + ") ORDER BY conrelid, conname COLLATE \"C\"";
}

std::string indexes_sql() {
  return "SELECT i.indrelid, c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid "
         "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid IN (" +
         std::string{user_tables} + ") ORDER BY i.indrelid, c.relname COLLATE \"C\"";
}

char first_char(std::string_view s) { return s.empty() ? '\0' : s.front(); }

}  // namespace

std::vector<table_info> read_tables(pg_connection& conn) {
  std::vector<table_info> out;
  std::unordered_map<std::string, std::size_t> by_oid;
  const auto tables = conn.exec(tables_sql());
  for (std::size_t r = 0; r < tables.size(); ++r) {
    by_oid.emplace(std::string{tables.value(r, 0)}, out.size());
    table_info t;
    t.name = {std::string{tables.value(r, 1)}, std::string{tables.value(r, 2)}};
    t.estimated_rows = std::stod(std::string{tables.value(r, 3)});
    out.push_back(std::move(t));
  }
  auto owner = [&](const pg_rows& rows, std::size_t r) -> table_info& {
    return out.at(by_oid.at(std::string{rows.value(r, 0)}));
  };
  const auto columns = conn.exec(columns_sql());
  for (std::size_t r = 0; r < columns.size(); ++r)
    owner(columns, r).columns.push_back(
        {std::string{columns.value(r, 1)}, std::string{columns.value(r, 2)},
         columns.boolean(r, 3), std::string{columns.value(r, 4)}, first_char(columns.value(r, 5)),
         first_char(columns.value(r, 6)), columns.boolean(r, 7)});
  const auto keys = conn.exec(primary_keys_sql());
  for (std::size_t r = 0; r < keys.size(); ++r)
    owner(keys, r).primary_key.emplace_back(keys.value(r, 1));
  const auto constraints = conn.exec(constraints_sql());
  for (std::size_t r = 0; r < constraints.size(); ++r)
    owner(constraints, r)
        .constraints.push_back({std::string{constraints.value(r, 1)},
                                first_char(constraints.value(r, 2)),
                                std::string{constraints.value(r, 3)}, constraints.boolean(r, 4)});
  const auto indexes = conn.exec(indexes_sql());
  for (std::size_t r = 0; r < indexes.size(); ++r)
    owner(indexes, r).indexes.push_back({std::string{indexes.value(r, 1)},
                                         std::string{indexes.value(r, 2)}, indexes.boolean(r, 3)});
  return out;
}

std::vector<sequence_info> read_sequences(pg_connection& conn) {
  // Sequences the role may not read are left out rather than compared as "never used".
  const auto rows = conn.exec(
      "SELECT s.schemaname, s.sequencename, s.increment_by, tn.nspname, tc.relname "
      "FROM pg_sequences s "
      "JOIN pg_namespace n ON n.nspname = s.schemaname "
      "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename "
      "LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid "
      "  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
      "LEFT JOIN pg_class tc ON tc.oid = d.refobjid "
      "LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace "
      "WHERE has_sequence_privilege(c.oid, 'SELECT') "
      "ORDER BY s.schemaname COLLATE \"C\", s.sequencename COLLATE \"C\"");
  std::vector<sequence_info> out;
  std::string positions;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    sequence_info s;
    s.name = {std::string{rows.value(r, 0)}, std::string{rows.value(r, 1)}};
    s.increment = rows.integer(r, 2);
    if (!rows.is_null(r, 4))
      s.owned_by = table_name{std::string{rows.value(r, 3)}, std::string{rows.value(r, 4)}};
    // pg_sequences.last_value is NULL until is_called, also after setval(..., false) moved
    // the sequence: only the sequence itself tells where it stands.
    positions += (positions.empty() ? "" : " UNION ALL ") + std::string{"SELECT "} +
                 std::to_string(r) + ", last_value, is_called FROM " + s.name.sql();
    out.push_back(std::move(s));
  }
  if (out.empty()) return out;
  const auto at = conn.exec(positions);
  for (std::size_t r = 0; r < at.size(); ++r) {
    auto& s = out.at(static_cast<std::size_t>(at.integer(r, 0)));
    const auto last = at.integer(r, 1);
    s.next_value = last;
    if (at.boolean(r, 2) && __builtin_add_overflow(last, s.increment, &s.next_value))
      s.next_value = s.increment > 0 ? INT64_MAX : INT64_MIN;
  }
  return out;
}

std::vector<foreign_key> read_foreign_keys(pg_connection& conn) {
  const auto rows = conn.exec(
      "SELECT c.oid, c.conname, sn.nspname, sc.relname, rn.nspname, rc.relname, a.attname, "
      "ra.attname, c.convalidated FROM pg_constraint c "
      "JOIN pg_class sc ON sc.oid = c.conrelid JOIN pg_namespace sn ON sn.oid = sc.relnamespace "
      "JOIN pg_class rc ON rc.oid = c.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace "
      "CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(col, refcol, ord) "
      "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col "
      "JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refcol "
      "WHERE c.contype = 'f' AND c.conrelid IN (" +
      std::string{user_tables} + ") ORDER BY c.oid, k.ord");
  std::vector<foreign_key> out;
  std::string last_oid;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows.value(r, 0) != last_oid) {
      last_oid = std::string{rows.value(r, 0)};
      out.push_back({std::string{rows.value(r, 1)},
                     {std::string{rows.value(r, 2)}, std::string{rows.value(r, 3)}},
                     {std::string{rows.value(r, 4)}, std::string{rows.value(r, 5)}},
                     {},
                     {},
                     rows.boolean(r, 8)});
    }
    out.back().child_columns.emplace_back(rows.value(r, 6));
    out.back().parent_columns.emplace_back(rows.value(r, 7));
  }
  return out;
}

std::vector<check_constraint> read_check_constraints(pg_connection& conn) {
  const auto rows = conn.exec(
      "SELECT c.conname, n.nspname, t.relname, pg_get_expr(c.conbin, c.conrelid), "
      "c.convalidated FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
      "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE c.contype = 'c' AND c.conrelid IN (" +
      std::string{user_tables} + ") ORDER BY n.nspname, t.relname, c.conname");
  std::vector<check_constraint> out;
  for (std::size_t r = 0; r < rows.size(); ++r)
    out.push_back({std::string{rows.value(r, 0)},
                   {std::string{rows.value(r, 1)}, std::string{rows.value(r, 2)}},
                   std::string{rows.value(r, 3)},
                   rows.boolean(r, 4)});
  return out;
}

std::vector<table_info> select_tables(const std::vector<table_info>& all,
                                      const std::vector<table_pattern>& patterns) {
  if (patterns.empty()) return all;
  std::vector<bool> chosen(all.size(), false);
  for (const auto& p : patterns) {
    std::vector<std::size_t> hits;
    for (std::size_t i = 0; i < all.size(); ++i)
      if (p.matches(all[i].name)) hits.push_back(i);
    const std::string shown = p.schema ? table_name{*p.schema, p.name}.display()
                                       : table_name{"x", p.name}.display().substr(2);
    if (hits.empty()) throw std::invalid_argument{"no table " + shown + " on OLD"};
    if (hits.size() > 1 && !p.schema)
      throw std::invalid_argument{"table " + shown + " exists in several schemas (" +
                                  all[hits[0]].name.display() + ", " +
                                  all[hits[1]].name.display() + ", ...); qualify it"};
    for (const auto i : hits) chosen[i] = true;
  }
  std::vector<table_info> out;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (chosen[i]) out.push_back(all[i]);
  return out;
}

}  // namespace dw::compare
