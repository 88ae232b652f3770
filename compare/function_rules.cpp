// Function-name tables behind lookup_function (rules in function_rules.hpp).
#include "compare/function_rules.hpp"

#include <algorithm>
#include <array>

#include "compare/parse_nodes.hpp"

namespace dw::compare::detail {
namespace {

constexpr std::string_view builtin_functions[] = {
#include "compare/builtin_functions.inc"
};
constexpr std::string_view builtin_set_returning[] = {
#include "compare/builtin_set_returning.inc"
};
static_assert(std::is_sorted(std::begin(builtin_functions), std::end(builtin_functions)));
static_assert(std::is_sorted(std::begin(builtin_set_returning), std::end(builtin_set_returning)));

struct nondeterministic_function {
  std::string_view name;
  volatile_value value;
  call_effect effect;
  bool any_schema;  // an extension's function (uuid-ossp), installed in a schema of the user's
};

constexpr nondeterministic_function nondeterministic_functions[] = {
    {"clock_timestamp", volatile_value::clock_time, call_effect::none, false},
    {"gen_random_uuid", volatile_value::uuid, call_effect::none, false},
    {"now", volatile_value::transaction_time, call_effect::none, false},
    // Both assign a transaction id, which is why the catalog's "stable" is not trusted here.
    {"pg_current_xact_id", volatile_value::other, call_effect::may_change, false},
    {"random", volatile_value::random, call_effect::none, false},
    {"statement_timestamp", volatile_value::statement_time, call_effect::none, false},
    {"timeofday", volatile_value::timeofday, call_effect::none, false},
    {"transaction_timestamp", volatile_value::transaction_time, call_effect::none, false},
    {"txid_current", volatile_value::other, call_effect::may_change, false},
    {"uuid_generate_v1", volatile_value::other, call_effect::none, true},
    {"uuid_generate_v1mc", volatile_value::other, call_effect::none, true},
    {"uuid_generate_v4", volatile_value::uuid, call_effect::none, true},
};

// Volatile in the catalog but without any effect a later statement could see. psql's \d+
// of a partitioned table calls the pg_partition_* ones; taken for writes, they made the shadow
// run psql's describe queries, whose OID literals match nothing on the other server (found by
// the regression suite). The transaction-status ones only read, and answer per server.
constexpr std::array<std::string_view, 7> volatile_without_effect = {
    "pg_sleep",       "pg_sleep_for",   "pg_sleep_until", "pg_partition_ancestors",
    "pg_partition_tree", "pg_xact_status", "txid_status"};

bool sorted_contains(std::span<const std::string_view> sorted, std::string_view name) {
  return std::binary_search(sorted.begin(), sorted.end(), name);
}

// "f" names f in any schema; "s.f" names only s.f.
bool declared_read_only(function_name f, std::span<const std::string> read_only_functions) {
  return std::any_of(read_only_functions.begin(), read_only_functions.end(),
                     [&](const std::string& entry) {
                       const auto dot = entry.find('.');
                       if (dot == std::string::npos) return entry == f.name;
                       return std::string_view{entry}.substr(0, dot) == f.schema &&
                              std::string_view{entry}.substr(dot + 1) == f.name;
                     });
}

}  // namespace

function_name call_name(const boost::json::object& call) {
  const auto* parts = array_field(call, "funcname");
  if (parts == nullptr || parts->empty()) return {};
  function_name f;
  f.name = string_node(parts->back());
  if (parts->size() >= 2) f.schema = string_node((*parts)[parts->size() - 2]);
  return f;
}

function_facts lookup_function(function_name f, std::span<const std::string> read_only_functions) {
  const bool builtin_schema = f.schema.empty() || f.schema == "pg_catalog";
  for (const auto& n : nondeterministic_functions) {
    if (n.name == f.name && (builtin_schema || n.any_schema)) return {n.effect, n.value, false};
  }
  if (builtin_schema) {
    if (f.name == "nextval" || f.name == "setval")
      return {call_effect::sequence_change, volatile_value::none, false};
    if (f.name == "set_config" || f.name == "setseed")
      return {call_effect::session_change, volatile_value::none, false};
    if (sorted_contains(builtin_functions, f.name) ||
        std::find(volatile_without_effect.begin(), volatile_without_effect.end(), f.name) !=
            volatile_without_effect.end())
      return {call_effect::none, volatile_value::none,
              sorted_contains(builtin_set_returning, f.name)};
  }
  if (declared_read_only(f, read_only_functions))
    return {call_effect::none, volatile_value::none, true};
  return {};
}

}  // namespace dw::compare::detail
