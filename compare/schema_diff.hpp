// Schema comparison of OLD and NEW for the verify report: tables, columns (type, NOT NULL,
// collation, generated, identity), constraints and indexes, matched by name. Pure.
//
// Severity says what blocks a cutover. Anything NEW lacks or has differently is an error;
// what NEW has in addition is a warning (an extra index, or an extra column that is nullable
// or has a default) unless it would break the application's writes (an extra NOT NULL column
// without a default, an extra CHECK, UNIQUE or foreign key).
#pragma once

#include <string>
#include <vector>

#include "compare/table_model.hpp"

namespace dw::compare {

enum class severity { warning, error };

struct schema_difference {
  table_name table;
  severity level = severity::error;
  std::string message;  ///< "column \"b\": integer on OLD, bigint on NEW"

  friend bool operator==(const schema_difference&, const schema_difference&) = default;
};

/// Differences of each table in `old_tables` from its namesake in `new_tables`, then the
/// tables only NEW has (a warning each). Only tables named in `old_tables` are compared, so a
/// --tables selection limits the comparison.
[[nodiscard]] std::vector<schema_difference> diff_schemas(
    const std::vector<table_info>& old_tables, const std::vector<table_info>& new_tables,
    bool report_extra_tables);

/// Differences of one table.
[[nodiscard]] std::vector<schema_difference> diff_table(const table_info& old_table,
                                                        const table_info& new_table);

/// The columns both sides have, in OLD's order: what checksums hash and backfill copies.
/// Generated columns are left out (NEW computes its own), and so are columns only one side
/// has (the schema diff reports those).
[[nodiscard]] std::vector<std::string> shared_columns(const table_info& old_table,
                                                      const table_info& new_table);

}  // namespace dw::compare
