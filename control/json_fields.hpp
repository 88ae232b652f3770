// Typed field access on Boost.JSON objects for the decoders in control/ (internal). Each
// accessor names the field in its error, so "field 'phase' must be an integer" reaches the
// operator instead of a bare type error.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "control/failure.hpp"

/// Propagates the error of an outcome<T> (from a function returning outcome<U>), else binds
/// its value to `var`.
#define DW_TRY(var, expr)               \
  auto var##_r = (expr);                \
  if (!var##_r) return var##_r.error(); \
  auto var = std::move(*var##_r)

namespace dw::control::json_fields {

namespace json = boost::json;

inline bool convert(const json::value& v, bool& out) {
  if (!v.is_bool()) return false;
  out = v.get_bool();
  return true;
}

inline bool convert(const json::value& v, std::int64_t& out) {
  if (const auto* i = v.if_int64()) {
    out = *i;
    return true;
  }
  return false;
}

inline bool convert(const json::value& v, std::uint64_t& out) {
  if (const auto* i = v.if_int64(); i && *i >= 0) {
    out = static_cast<std::uint64_t>(*i);
    return true;
  }
  if (const auto* u = v.if_uint64()) {
    out = *u;
    return true;
  }
  return false;
}

inline bool convert(const json::value& v, double& out) {
  if (!v.is_number()) return false;
  out = v.to_number<double>();
  return true;
}

inline bool convert(const json::value& v, std::string& out) {
  if (!v.is_string()) return false;
  out.assign(v.get_string().data(), v.get_string().size());
  return true;
}

inline bool convert(const json::value& v, const json::object*& out) {
  out = v.if_object();
  return out != nullptr;
}

inline bool convert(const json::value& v, const json::array*& out) {
  out = v.if_array();
  return out != nullptr;
}

template <class T>
constexpr std::string_view type_name() {
  if constexpr (std::is_same_v<T, bool>)
    return "true or false";
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return "an integer";
  else if constexpr (std::is_same_v<T, std::uint64_t>)
    return "a non-negative integer";
  else if constexpr (std::is_same_v<T, double>)
    return "a number";
  else if constexpr (std::is_same_v<T, std::string>)
    return "a string";
  else if constexpr (std::is_same_v<T, const json::object*>)
    return "an object";
  else
    return "an array";
}

/// Absent or null: std::nullopt. Present with the wrong type: an error naming the field.
template <class T>
[[nodiscard]] outcome<std::optional<T>> optional_field(const json::object& o,
                                                       std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<T>{};
  T out{};
  if (!convert(*v, out))
    return fail("field '" + std::string(key) + "' must be " + std::string(type_name<T>()));
  return std::optional<T>{std::move(out)};
}

/// Absent, null or the wrong type: an error naming the field.
template <class T>
[[nodiscard]] outcome<T> field(const json::object& o, std::string_view key) {
  auto r = optional_field<T>(o, key);
  if (!r) return r.error();
  if (!*r) return fail("field '" + std::string(key) + "' is missing");
  // in_place: failure is constructible from a string, so plain `return` would be ambiguous.
  return outcome<T>{boost::system::in_place_value, std::move(**r)};
}

}  // namespace dw::control::json_fields
