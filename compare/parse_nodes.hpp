#pragma once
// Reading libpg_query's JSON parse tree. A field whose type is a polymorphic Node is written
// as a one-member object named after the node type ({"FuncCall": {...}}); a field of a fixed
// type (a RangeVar "relation", a SelectStmt's "larg") is written as the bare object. Fields at
// their default value (false, 0, empty) are omitted. Node type names start with an upper-case
// letter and field names never do, which is how as_node tells the two apart.
#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dw::compare::detail {

struct node {
  std::string_view type;              // "SelectStmt", "FuncCall", ...
  const boost::json::object* fields;  // never null
};

[[nodiscard]] inline std::optional<node> as_node(const boost::json::value& v) {
  const auto* o = v.if_object();
  if (o == nullptr || o->size() != 1) return std::nullopt;
  const auto& member = *o->begin();
  const std::string_view key = member.key();
  const auto* fields = member.value().if_object();
  if (key.empty() || key.front() < 'A' || key.front() > 'Z' || fields == nullptr)
    return std::nullopt;
  return node{key, fields};
}

[[nodiscard]] inline const boost::json::object* object_field(const boost::json::object& o,
                                                             std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

[[nodiscard]] inline const boost::json::array* array_field(const boost::json::object& o,
                                                           std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr ? v->if_array() : nullptr;
}

[[nodiscard]] inline std::size_t array_size(const boost::json::object& o, std::string_view key) {
  const auto* a = array_field(o, key);
  return a != nullptr ? a->size() : 0;
}

[[nodiscard]] inline std::string_view string_field(const boost::json::object& o,
                                                   std::string_view key) {
  const auto* v = o.if_contains(key);
  const auto* s = v != nullptr ? v->if_string() : nullptr;
  return s != nullptr ? std::string_view{*s} : std::string_view{};
}

[[nodiscard]] inline bool bool_field(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  const auto* b = v != nullptr ? v->if_bool() : nullptr;
  return b != nullptr && *b;
}

[[nodiscard]] inline std::int64_t int_field(const boost::json::object& o, std::string_view key,
                                            std::int64_t fallback = 0) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return fallback;
  if (const auto* i = v->if_int64()) return *i;
  if (const auto* u = v->if_uint64()) return static_cast<std::int64_t>(*u);
  return fallback;
}

// The text of a {"String": {"sval": "..."}} node, as in name lists; empty for anything else.
[[nodiscard]] inline std::string_view string_node(const boost::json::value& v) {
  const auto n = as_node(v);
  return n && n->type == "String" ? string_field(*n->fields, "sval") : std::string_view{};
}

// EXPLAIN runs its statement only with ANALYZE; an explicit false/off/0 keeps it from running.
[[nodiscard]] inline bool explain_runs(const boost::json::object& explain) {
  const auto* options = array_field(explain, "options");
  if (options == nullptr) return false;
  for (const auto& option : *options) {
    const auto opt = as_node(option);
    if (!opt || opt->type != "DefElem" || string_field(*opt->fields, "defname") != "analyze")
      continue;
    const auto* arg = opt->fields->if_contains("arg");
    const auto value = arg != nullptr ? as_node(*arg) : std::nullopt;
    if (!value) return true;
    if (value->type == "Integer") return int_field(*value->fields, "ival") != 0;
    if (value->type == "Boolean") return bool_field(*value->fields, "boolval");
    if (value->type == "String") {
      std::string text{string_field(*value->fields, "sval")};
      std::transform(text.begin(), text.end(), text.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return text != "false" && text != "off" && text != "no" && text != "0";
    }
    return true;
  }
  return false;
}

}  // namespace dw::compare::detail
