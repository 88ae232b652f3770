// Error codes of the wire codec, registered as a boost::system error category so they
// compose with Asio's error_code. The proxy maps each to a SQLSTATE (proxy/sqlstate_map).
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace dw::protocol {

enum class errc {
  length_too_small = 1,          ///< declared length < 4 (or below the message's minimum)
  message_too_large,             ///< declared length above the limit for this kind
  unknown_startup_code,          ///< startup-family packet with an unknown request code
  unsupported_protocol_version,  ///< StartupMessage with a major version other than 3
  unknown_message_type,          ///< type byte not defined for this direction
  malformed_body,                ///< a field runs past the end, missing NUL, bad count
  trailing_bytes,                ///< body longer than its fields
  auth_failed,                   ///< SCRAM/MD5 proof did not verify
  auth_protocol,                 ///< the peer broke the SASL exchange rules
};

template <class T>
using result = boost::system::result<T>;

[[nodiscard]] const boost::system::error_category& protocol_category() noexcept;

[[nodiscard]] inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), protocol_category()};
}

}  // namespace dw::protocol

template <>
struct boost::system::is_error_code_enum<dw::protocol::errc> : std::true_type {};
