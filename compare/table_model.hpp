// What the data tools know about a table, as read from one side's catalog (table_catalog):
// columns, primary key, constraints, indexes; and sequences. Plain values, so the schema diff
// and the SQL builders are pure functions tested without a server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compare/pg_identifier.hpp"

namespace dw::compare {

/// A table's key value, one text per key column, in key order (the server's text output).
using key_value = std::vector<std::string>;

struct column_info {
  std::string name;
  std::string type;       ///< format_type(): "integer", "character varying(20)", "text[]"
  bool not_null = false;
  std::string collation;  ///< only when it is not the type's default; "" otherwise
  char generated = '\0';  ///< 's' for GENERATED ALWAYS AS (...) STORED: never written
  char identity = '\0';   ///< 'a' ALWAYS, 'd' BY DEFAULT, '\0' none
  bool builtin_type = true;  ///< type (and element type) shipped with PostgreSQL: same OID anywhere

  friend bool operator==(const column_info&, const column_info&) = default;
};

struct constraint_info {
  std::string name;
  char type = 'c';         ///< p primary key, u unique, f foreign key, c check, x exclusion
  std::string definition;  ///< pg_get_constraintdef()
  bool validated = true;   ///< false: added NOT VALID and never validated

  friend bool operator==(const constraint_info&, const constraint_info&) = default;
};

struct index_info {
  std::string name;
  std::string definition;  ///< pg_get_indexdef()
  bool valid = true;       ///< false: a failed CREATE INDEX CONCURRENTLY; it enforces nothing

  friend bool operator==(const index_info&, const index_info&) = default;
};

struct table_info {
  table_name name;
  std::vector<column_info> columns;       ///< in attnum order, dropped columns left out
  std::vector<std::string> primary_key;   ///< column names in key order; empty: no key
  std::vector<constraint_info> constraints;
  std::vector<index_info> indexes;
  double estimated_rows = 0;              ///< pg_class.reltuples (-1: never analyzed)

  [[nodiscard]] const column_info* column(std::string_view n) const noexcept {
    for (const auto& c : columns)
      if (c.name == n) return &c;
    return nullptr;
  }
};

struct sequence_info {
  table_name name;
  std::int64_t increment = 1;
  /// The value nextval() returns next: last_value + increment once called, else start.
  std::int64_t next_value = 1;
  std::optional<table_name> owned_by;  ///< the table of its owning column, if any
};

}  // namespace dw::compare
