// SQL identifiers for verify, backfill and repair. Every table, column, index and sequence
// name that reaches SQL text goes through quote_ident(), which always quotes and doubles
// embedded quotes (what PostgreSQL's quote_ident and PQescapeIdentifier do for any name), so
// no name (mixed case, spaces, quotes, keywords) can change a statement. Values never go into
// SQL text at all: they travel as query parameters. Pure code, no libpq.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace dw::compare {

/// `"name"`, with every `"` inside doubled.
[[nodiscard]] std::string quote_ident(std::string_view name);

/// A table (or sequence) as the catalog names it: exact, case-sensitive parts.
struct table_name {
  std::string schema;
  std::string name;

  /// "schema"."name", quoted for SQL.
  [[nodiscard]] std::string sql() const;
  /// schema.name for people and reports; a part is quoted only when it is not a plain
  /// lower-case identifier, so `public.accounts` but `"Sales"."Q1 ""big"" deals"`.
  [[nodiscard]] std::string display() const;

  friend auto operator<=>(const table_name&, const table_name&) = default;
};

/// What `--tables` names: an exact table, or a name in whatever schema holds it.
struct table_pattern {
  std::optional<std::string> schema;  ///< unset: any schema
  std::string name;

  [[nodiscard]] bool matches(const table_name& t) const noexcept {
    return t.name == name && (!schema || *schema == t.schema);
  }
};

/// Parses `accounts`, `sales.accounts`, `"Sales"."Q1 ""big"" deals"` or `"a.b"`. Unquoted
/// parts fold to lower case, as PostgreSQL folds them. std::nullopt for malformed text
/// (unbalanced quotes, empty parts, more than two parts).
[[nodiscard]] std::optional<table_pattern> parse_table_pattern(std::string_view text);

}  // namespace dw::compare
