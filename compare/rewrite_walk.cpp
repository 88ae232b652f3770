// Which nondeterministic calls a statement runs, and whether each may become a literal
// (rules in nondeterminism.hpp).
#include "compare/rewrite_walk.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

#include "compare/function_rules.hpp"

namespace dw::compare::detail {
namespace {

namespace json = boost::json;

constexpr std::string_view per_row =
    "evaluated per row, and one literal would give every row the same value";

// Values end up inside '...' literals, so anything but plain timestamp or uuid characters is
// refused rather than escaped: the proxy chose them, and a quote there is a bug to surface.
bool safe_value(std::string_view v, std::string_view extra) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [&](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           extra.find(c) != std::string_view::npos;
  });
}

std::string timestamp_literal(std::string_view ts, std::string_view casts) {
  if (!safe_value(ts, " :.+-")) return {};
  return "('" + std::string{ts} + "'::timestamptz" + std::string{casts} + ")";
}

std::string random_literal(const nondeterministic_values& v) {
  if (!v.random) return {};
  const double r = v.random();
  if (!std::isfinite(r)) return {};
  std::array<char, 32> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), r);
  if (ec != std::errc{}) return {};
  return "('" + std::string{buf.data(), end} + "'::float8)";
}

std::string uuid_literal(const nondeterministic_values& v) {
  if (!v.uuid) return {};
  const std::string u = v.uuid();
  if (!safe_value(u, "-")) return {};
  return "('" + u + "'::uuid)";
}

// timeofday() is clock time as text in this fixed format, in the session's time zone.
std::string timeofday_literal(std::string_view ts) {
  if (!safe_value(ts, " :.+-")) return {};
  return "(to_char('" + std::string{ts} + "'::timestamptz, 'Dy Mon DD HH24:MI:SS.US YYYY TZ'))";
}

// The cast that turns the transaction's instant into what a SQL time keyword returns.
struct time_keyword {
  std::string_view op;    // SQLValueFunction op without the _N suffix
  std::string_view what;  // as written
  std::string_view cast;  // after ::timestamptz; empty for CURRENT_TIMESTAMP itself
  std::string_view type;  // the type that takes the (n) precision
};
constexpr std::array<time_keyword, 5> time_keywords{{
    {"SVFOP_CURRENT_DATE", "CURRENT_DATE", "::date", ""},
    {"SVFOP_CURRENT_TIME", "CURRENT_TIME", "::timetz", "timetz"},
    {"SVFOP_CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP", "", "timestamptz"},
    {"SVFOP_LOCALTIME", "LOCALTIME", "::time", "time"},
    {"SVFOP_LOCALTIMESTAMP", "LOCALTIMESTAMP", "::timestamp", "timestamp"},
}};

bool has_decorations(const json::object& call) {
  return array_size(call, "args") > 0 || array_size(call, "agg_order") > 0 ||
         call.contains("agg_filter") || call.contains("over") || bool_field(call, "agg_star") ||
         bool_field(call, "agg_distinct") || bool_field(call, "func_variadic");
}

// A call in this list that may return a set makes the target list yield several rows.
bool may_return_set(const json::value& v) {
  if (const auto* list = v.if_array()) {
    return std::any_of(list->begin(), list->end(),
                       [](const json::value& e) { return may_return_set(e); });
  }
  const auto n = as_node(v);
  if (n && n->type == "FuncCall" && lookup_function(call_name(*n->fields), {}).may_return_set)
    return true;
  const auto* o = n ? n->fields : v.if_object();
  if (o == nullptr) return false;
  return std::any_of(o->begin(), o->end(),
                     [](const json::key_value_pair& m) { return may_return_set(m.value()); });
}

// A SELECT that yields exactly one row, so its target list runs once.
bool single_row(const json::object& select) {
  const auto op = string_field(select, "op");
  const auto* targets = select.if_contains("targetList");
  return array_size(select, "fromClause") == 0 && (op.empty() || op == "SETOP_NONE") &&
         array_size(select, "groupClause") == 0 && !select.contains("havingClause") &&
         array_size(select, "windowClause") == 0 &&
         (targets == nullptr || !may_return_set(*targets));
}

}  // namespace

void rewrite_walk::statement(const node& n) {
  const json::object& f = *n.fields;
  context top;
  top.top_select = true;
  if (n.type == "SelectStmt" || n.type == "InsertStmt" || n.type == "UpdateStmt" ||
      n.type == "DeleteStmt" || n.type == "MergeStmt") {
    on_node(n, top);
  } else if (n.type == "ExplainStmt") {
    const auto* query = f.if_contains("query");
    const auto inner = query != nullptr ? as_node(*query) : std::nullopt;
    if (inner && explain_runs(f)) statement(*inner);  // plain EXPLAIN runs nothing
  } else if (n.type == "CopyStmt" || n.type == "DeclareCursorStmt") {
    visit_fields(f, top);
  } else if (n.type == "CreateTableAsStmt" && string_field(f, "objtype") != "OBJECT_MATVIEW") {
    visit_fields(f, top);
  } else if (n.type == "CallStmt" || n.type == "ExecuteStmt") {
    context args;
    args.once = true;
    visit_fields(f, args);
  } else if (n.type == "DoStmt") {
    const auto* args = array_field(f, "args");  // DefElem "as": the block's code as a string
    for (std::size_t i = 0; args != nullptr && i < args->size(); ++i) {
      const auto arg = as_node((*args)[i]);
      const auto* code = arg ? arg->fields->if_contains("arg") : nullptr;
      if (code != nullptr && may_be_nondeterministic(string_node(*code))) {
        not_covered_.push_back("DO block: the code inside is not rewritten");
        break;
      }
    }
  } else {
    context later;
    later.runs = false;
    later.later = n.type == "PrepareStmt" ? "inside PREPARE, evaluated at each EXECUTE"
                  : n.type == "CreateTableAsStmt"
                      ? "in a materialized view's query, evaluated at each refresh"
                      : "in a DDL statement, evaluated by each server (a column DEFAULT, a view, "
                        "ADD COLUMN filling existing rows)";
    visit_fields(f, later);
  }
}

void rewrite_walk::visit(const json::value& v, context c) {
  if (const auto* list = v.if_array()) {
    for (const auto& item : *list) visit(item, c);
  } else if (const auto n = as_node(v)) {
    on_node(*n, c);
  } else if (const auto* o = v.if_object()) {
    visit_fields(*o, c);
  }
}

void rewrite_walk::visit_fields(const json::object& o, context c) {
  for (const auto& member : o) visit(member.value(), c);
}

void rewrite_walk::on_node(const node& n, context c) {
  const json::object& f = *n.fields;
  const bool top = c.top_select;
  c.top_select = false;
  if (n.type == "FuncCall") {
    on_function_call(f, c, false);
  } else if (n.type == "SQLValueFunction") {
    on_time_keyword(f, c, false);
  } else if (n.type == "A_Const") {
    on_string_constant(f);
  } else if (n.type == "SelectStmt") {
    on_select(f, c, top);
  } else if (n.type == "InsertStmt") {
    on_insert(f, c, top);
  } else if (n.type == "RangeFunction") {
    on_range_function(f, c);
  } else {
    // UPDATE/DELETE/MERGE run their expressions per row; a sub-select or CTE may run per
    // row of its outer query.
    if (n.type == "UpdateStmt" || n.type == "DeleteStmt" || n.type == "MergeStmt" ||
        n.type == "SubLink" || n.type == "CommonTableExpr")
      c.once = false;
    visit_fields(f, c);
  }
}

void rewrite_walk::on_select(const json::object& select, context c, bool top) {
  const bool values = array_size(select, "valuesLists") > 0;
  const bool once_here = top && c.runs && (values || single_row(select));
  for (const auto& member : select) {
    context field = c;
    const std::string_view key = member.key();
    field.once =
        once_here && (values ? key == "valuesLists" : key == "targetList" || key == "whereClause");
    visit(member.value(), field);
  }
}

void rewrite_walk::on_insert(const json::object& insert, context c, bool top) {
  for (const auto& member : insert) {
    context field = c;
    field.once = false;  // RETURNING and ON CONFLICT run per row
    field.top_select = top && member.key() == "selectStmt";
    visit(member.value(), field);
  }
}

// FROM now() or FROM CURRENT_DATE cannot take a parenthesised literal in its place.
void rewrite_walk::on_range_function(const json::object& range_function, context c) {
  c.once = false;
  for (const auto& member : range_function) {
    const auto* functions = member.key() == "functions" ? member.value().if_array() : nullptr;
    if (functions == nullptr) {
      visit(member.value(), c);
      continue;
    }
    for (const auto& entry : *functions) {  // each a List: the call, then its column list
      const auto list = as_node(entry);
      const auto* items = list ? array_field(*list->fields, "items") : nullptr;
      if (items == nullptr) {
        visit(entry, c);
        continue;
      }
      for (std::size_t i = 0; i < items->size(); ++i) {
        const auto item = as_node((*items)[i]);
        if (i == 0 && item && item->type == "FuncCall") {
          on_function_call(*item->fields, c, true);
        } else if (i == 0 && item && item->type == "SQLValueFunction") {
          on_time_keyword(*item->fields, c, true);
        } else {
          visit((*items)[i], c);
        }
      }
    }
  }
}

void rewrite_walk::on_function_call(const json::object& call, context c, bool from_item) {
  const auto name = call_name(call);
  const auto facts = lookup_function(name, {});
  const auto location = int_field(call, "location", -1);
  const std::string what = std::string{name.name} + "()";
  if (facts.effect == call_effect::sequence_change) {
    report(location, what,
           "sequence values are not rewritten; the proxy orders sequence use per table");
  } else if (facts.value != volatile_value::none) {
    std::string literal;
    const bool stable = facts.value == volatile_value::transaction_time ||
                        facts.value == volatile_value::statement_time;
    if (!c.runs) {
      report(location, what, c.later);
    } else if (from_item) {
      report(location, what, "used as a FROM item");
    } else if (has_decorations(call)) {
      report(location, what, "called with arguments, FILTER or OVER");
    } else if (facts.value == volatile_value::other) {
      report(location, what, "no literal can stand in for it");
    } else if (!stable && !c.once) {
      report(location, what, per_row);
    } else {
      switch (facts.value) {
        case volatile_value::transaction_time:
          literal = timestamp_literal(values_.transaction_timestamp, "");
          break;
        case volatile_value::statement_time:
        case volatile_value::clock_time:
          literal = timestamp_literal(values_.statement_timestamp, "");
          break;
        case volatile_value::timeofday:
          literal = timeofday_literal(values_.statement_timestamp);
          break;
        case volatile_value::random:
          literal = random_literal(values_);
          break;
        case volatile_value::uuid:
          literal = uuid_literal(values_);
          break;
        case volatile_value::none:
        case volatile_value::other:
          break;
      }
      if (literal.empty() || location < 0) {
        report(location, what, "no usable value was supplied");
      } else {
        sites_.push_back(
            {static_cast<std::size_t>(location), site_shape::call, std::move(literal), what});
      }
    }
  }
  visit_fields(call, c);  // arguments: generate_series(now(), ...) as a FROM item is fine
}

void rewrite_walk::on_time_keyword(const json::object& svf, context c, bool from_item) {
  std::string_view op = string_field(svf, "op");
  const bool precision = op.ends_with("_N");
  if (precision) op.remove_suffix(2);
  const auto* k = std::find_if(time_keywords.begin(), time_keywords.end(),
                               [&](const time_keyword& t) { return t.op == op; });
  if (k == time_keywords.end()) return;  // CURRENT_USER and the like
  const auto location = int_field(svf, "location", -1);
  if (!c.runs) return report(location, k->what, c.later);
  if (from_item) return report(location, k->what, "used as a FROM item");
  std::string casts{k->cast};
  if (precision) {
    casts = (k->cast.empty() ? "(" : "::" + std::string{k->type} + "(") +
            std::to_string(int_field(svf, "typmod")) + ")";
  }
  std::string literal = timestamp_literal(values_.transaction_timestamp, casts);
  if (literal.empty() || location < 0)
    return report(location, k->what, "no usable value was supplied");
  sites_.push_back({static_cast<std::size_t>(location),
                    precision ? site_shape::keyword_with_precision : site_shape::keyword,
                    std::move(literal), std::string{k->what}});
}

// 'now', 'today', 'tomorrow' and 'yesterday' are read as the server's clock when the
// constant becomes a date or time: in a cast, or in a column of such a type.
void rewrite_walk::on_string_constant(const json::object& a_const) {
  const auto* sval = object_field(a_const, "sval");
  if (sval == nullptr) return;
  std::string text{string_field(*sval, "sval")};
  if (text.size() > 16) return;
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  const auto first = text.find_first_not_of(" \t\n\r");
  const auto last = text.find_last_not_of(" \t\n\r");
  if (first == std::string::npos) return;
  text = text.substr(first, last - first + 1);
  if (text == "now" || text == "today" || text == "tomorrow" || text == "yesterday")
    report(int_field(a_const, "location", -1), "'" + text + "'",
           "read as a date or time it is each server's own clock");
}

void rewrite_walk::report(std::int64_t location, std::string_view what, std::string_view why) {
  std::string line{what};
  if (location >= 0) line += " at " + std::to_string(location);
  line += ": ";
  line += why;
  not_covered_.push_back(std::move(line));
}

}  // namespace dw::compare::detail
