#include "proxy/sqlstate.hpp"

#include "protocol/errc.hpp"

namespace dw::proxy::sqlstate {

mapped for_error(const boost::system::error_code& ec) noexcept {
  using protocol::errc;
  if (ec.category() == protocol::protocol_category()) {
    switch (static_cast<errc>(ec.value())) {
      case errc::message_too_large: return {program_limit_exceeded, "message exceeds the size limit"};
      case errc::unsupported_protocol_version:
        return {feature_not_supported,
                "unsupported frontend protocol: dwproxy supports 3.0"};
      case errc::unknown_startup_code: return {protocol_violation, "invalid startup packet layout"};
      case errc::auth_failed: return {invalid_password, "password authentication failed"};
      case errc::auth_protocol:
        return {protocol_violation, "malformed SCRAM message"};
      case errc::length_too_small: return {protocol_violation, "invalid message length"};
      case errc::unknown_message_type: return {protocol_violation, "invalid frontend message type"};
      case errc::malformed_body: return {protocol_violation, "malformed message"};
      case errc::trailing_bytes: return {protocol_violation, "message has trailing bytes"};
    }
  }
  return {connection_failure, "connection failure"};
}

}  // namespace dw::proxy::sqlstate
