// analyze_read(): the top-level ORDER BY keys from the statement's SortBy nodes, and the tables
// from every RangeVar, with the CTE names in scope left out (WITH ... AS scoping: a CTE is
// visible in the main query, in later CTEs, and in all of them when RECURSIVE).
#include "compare/read_shape.hpp"

#include <algorithm>
#include <optional>

#include "compare/classifier.hpp"
#include "compare/parse_nodes.hpp"
#include "compare/sql_parser.hpp"

namespace dw::compare {
namespace {

namespace json = boost::json;
using detail::array_field;
using detail::as_node;
using detail::node;
using detail::object_field;
using detail::string_field;

using cte_scope = std::vector<std::string_view>;

class table_walk {
 public:
  explicit table_walk(std::vector<std::string>& tables) : tables_{tables} {}

  void visit(const json::value& v, const cte_scope& scope) {
    if (const auto* list = v.if_array()) {
      for (const auto& item : *list) visit(item, scope);
    } else if (const auto n = as_node(v)) {
      on_node(*n, scope);
    } else if (const auto* o = v.if_object()) {
      visit_fields(*o, scope);
    }
  }

 private:
  void on_node(const node& n, const cte_scope& scope) {
    if (n.type == "RangeVar") {
      add_table(*n.fields, scope);
      return;
    }
    visit_fields(*n.fields, scope);
  }

  void visit_fields(const json::object& o, const cte_scope& scope) {
    const auto* with = object_field(o, "withClause");
    if (with == nullptr) {
      for (const auto& member : o) visit(member.value(), scope);
      return;
    }
    const cte_scope inner = with_scope(*with, scope);
    for (const auto& member : o) {
      if (member.key() != "withClause") visit(member.value(), inner);
    }
  }

  /// Visits the CTE bodies, each with the names it can see; returns the main query's scope.
  cte_scope with_scope(const json::object& with, const cte_scope& outer) {
    cte_scope scope = outer;
    const auto* ctes = array_field(with, "ctes");
    if (ctes == nullptr) return scope;
    const bool recursive = detail::bool_field(with, "recursive");
    const auto name_of = [](const json::value& v) {
      const auto n = as_node(v);
      return n && n->type == "CommonTableExpr" ? string_field(*n->fields, "ctename")
                                               : std::string_view{};
    };
    if (recursive) {
      for (const auto& cte : *ctes) scope.push_back(name_of(cte));
    }
    for (const auto& cte : *ctes) {
      if (const auto n = as_node(cte)) {
        if (const auto* body = n->fields->if_contains("ctequery")) visit(*body, scope);
      }
      if (!recursive) scope.push_back(name_of(cte));
    }
    return scope;
  }

  void add_table(const json::object& range_var, const cte_scope& scope) {
    table_name t{std::string{string_field(range_var, "schemaname")},
                 std::string{string_field(range_var, "relname")}};
    if (t.name.empty()) return;
    if (t.schema.empty() && std::find(scope.begin(), scope.end(), t.name) != scope.end()) return;
    add(t.key());
    add(t.name);
  }

  void add(std::string spelling) {
    if (std::find(tables_.begin(), tables_.end(), spelling) == tables_.end())
      tables_.push_back(std::move(spelling));
  }

  std::vector<std::string>& tables_;
};

/// The key of one SortBy's expression; nullopt for anything but a column or a position.
std::optional<order_key> key_of(const json::object& sort_by) {
  const auto* expr = sort_by.if_contains("node");
  const auto n = expr != nullptr ? as_node(*expr) : std::nullopt;
  if (!n) return std::nullopt;
  if (n->type == "ColumnRef") {
    const auto* fields = array_field(*n->fields, "fields");
    if (fields == nullptr || fields->empty()) return std::nullopt;
    const std::string_view last = detail::string_node(fields->back());
    if (last.empty()) return std::nullopt;  // t.*
    return order_key{std::string{last}, 0};
  }
  if (n->type == "A_Const") {
    const auto* ival = object_field(*n->fields, "ival");
    if (ival == nullptr) return std::nullopt;  // a string or float constant
    const std::int64_t position = detail::int_field(*ival, "ival");
    if (position < 1 || position > 1600) return std::nullopt;  // PostgreSQL's column limit
    return order_key{{}, static_cast<int>(position)};
  }
  return std::nullopt;
}

void order_of(const node& stmt, read_shape& out) {
  if (stmt.type != "SelectStmt") return;
  const auto* sort = array_field(*stmt.fields, "sortClause");
  if (sort == nullptr || sort->empty()) return;
  out.ordered = true;
  for (const auto& item : *sort) {
    const auto sort_by = as_node(item);
    auto key = sort_by && sort_by->type == "SortBy" ? key_of(*sort_by->fields) : std::nullopt;
    if (!key) {
      out.order_keys.clear();
      return;
    }
    out.order_keys.push_back(std::move(*key));
  }
}

}  // namespace

read_shape analyze_read(std::string_view sql) {
  read_shape out;
  const detail::parse_tree tree{sql, classify_options{}.max_sql_bytes};
  if (tree.failure() != detail::parse_failure::none) return out;
  const json::array& statements = tree.statements();
  out.single_statement = statements.size() == 1;
  table_walk tables{out.tables};
  for (const json::value& raw : statements) {
    const auto* fields = raw.if_object();
    const auto* stmt = fields != nullptr ? fields->if_contains("stmt") : nullptr;
    if (stmt == nullptr) continue;
    tables.visit(*stmt, {});
    if (const auto n = as_node(*stmt); n && out.single_statement) order_of(*n, out);
  }
  return out;
}

}  // namespace dw::compare
