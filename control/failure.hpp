// The error type of control/: a human-readable message, carried in boost::system::result.
// Control errors end up in front of an operator (dwctl, the startup log), never in a wire
// protocol, so a message says what happened and what to do; there is no code to map.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <stdexcept>
#include <string>
#include <utility>

namespace dw::control {

/// Why a control operation did not happen, written for the operator.
struct failure {
  std::string message;
};

/// Lets result<T, failure>::value() throw at the edges (startup, CLI) where exceptions are fine.
[[noreturn]] inline void throw_exception_from_error(const failure& f,
                                                    const boost::source_location& /*loc*/) {
  throw std::runtime_error(f.message);
}

/// A string T is returned with `outcome<T>{boost::system::in_place_value, v}`: failure is
/// constructible from a string too, which makes a plain `return v;` ambiguous.
template <class T>
using outcome = boost::system::result<T, failure>;

/// Shorthand for the error side: `return fail("...")`.
[[nodiscard]] inline failure fail(std::string message) { return failure{std::move(message)}; }

}  // namespace dw::control
