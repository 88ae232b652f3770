#pragma once
// What a function call in a statement means for routing and for nondeterminism. The rules,
// in order (classifier.hpp states them for users):
//  1. nextval/setval: changes a sequence.  currval/lastval, pg_advisory_*, txid_current,
//     pg_current_xact_id, set_config and every other name not listed below: may change state.
//  2. Time, random and uuid functions: no side effect, but each server computes its own value.
//  3. PostgreSQL 15's pg_catalog functions labelled immutable or stable in every overload
//     (builtin_functions.inc, generated from the catalog): no side effect.
//  4. Names the user declared read-only (config): no side effect.
// Unqualified names and pg_catalog-qualified names both count as the built-in; any other
// schema means a user function. uuid-ossp's functions count in whatever schema they live.
#include <boost/json/object.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace dw::compare::detail {

enum class call_effect : std::uint8_t {
  none,             // rules 2-4
  sequence_change,  // nextval, setval
  session_change,   // set_config: a setting later statements see
  may_change,       // anything else: advisory locks, xid assignment, unknown functions
};

// Which value a nondeterministic call takes, and so what the rewriter may put in its place.
enum class volatile_value : std::uint8_t {
  none,
  transaction_time,  // now(), transaction_timestamp()
  statement_time,    // statement_timestamp()
  clock_time,        // clock_timestamp(): changes during the statement
  timeofday,         // timeofday(): clock time as text
  random,            // random()
  uuid,              // gen_random_uuid(), uuid_generate_v4()
  other,             // uuid_generate_v1/v1mc, txid_current, pg_current_xact_id: not rewritable
};

struct function_facts {
  call_effect effect = call_effect::may_change;
  volatile_value value = volatile_value::none;
  bool may_return_set = true;  // known set-returning or unknown
};

struct function_name {
  std::string_view schema;  // empty when unqualified
  std::string_view name;
};

// The name of a FuncCall node's fields ("funcname": a list of String nodes).
[[nodiscard]] function_name call_name(const boost::json::object& call);

[[nodiscard]] function_facts lookup_function(function_name f,
                                             std::span<const std::string> read_only_functions);

}  // namespace dw::compare::detail
