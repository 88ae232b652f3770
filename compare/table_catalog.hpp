// Reads one side's catalog into table_model values: every user table (ordinary tables and
// partitioned roots; partitions are reached through their root, extension-owned tables and
// system schemas are left out), and every sequence. A handful of catalog queries for the whole
// database, not a query per table. Also the table selection that --tables drives.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compare/pg_connection.hpp"
#include "compare/table_model.hpp"

namespace dw::compare {

/// Every user table, ordered by schema and name.
[[nodiscard]] std::vector<table_info> read_tables(pg_connection& conn);

/// Every sequence the connection may read (others are left out), ordered by name.
[[nodiscard]] std::vector<sequence_info> read_sequences(pg_connection& conn);

/// A foreign key as the orphan check needs it: child columns and the parent's, in order.
struct foreign_key {
  std::string name;
  table_name child;
  table_name parent;
  std::vector<std::string> child_columns;
  std::vector<std::string> parent_columns;
  bool validated = true;
};
[[nodiscard]] std::vector<foreign_key> read_foreign_keys(pg_connection& conn);

/// A CHECK constraint's expression (pg_get_expr), for counting rows that break it.
struct check_constraint {
  std::string name;
  table_name table;
  std::string expression;
  bool validated = true;
};
[[nodiscard]] std::vector<check_constraint> read_check_constraints(pg_connection& conn);

/// The tables `patterns` name among `all` (every table when `patterns` is empty), in `all`'s
/// order. Throws std::invalid_argument naming a pattern that matches nothing, or an
/// unqualified name found in several schemas.
[[nodiscard]] std::vector<table_info> select_tables(const std::vector<table_info>& all,
                                                    const std::vector<table_pattern>& patterns);

}  // namespace dw::compare
