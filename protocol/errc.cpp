#include "protocol/errc.hpp"

#include <string>

namespace dw::protocol {
namespace {

// boost::system::error_category has a protected non-virtual destructor by design; instances
// are never deleted through a base pointer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "dw.protocol"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::length_too_small: return "invalid message length";
      case errc::message_too_large: return "message exceeds the size limit";
      case errc::unknown_startup_code: return "unknown startup request code";
      case errc::unsupported_protocol_version: return "unsupported frontend protocol version";
      case errc::unknown_message_type: return "unknown message type";
      case errc::malformed_body: return "malformed message body";
      case errc::trailing_bytes: return "message has trailing bytes";
      case errc::auth_failed: return "authentication failed";
      case errc::auth_protocol: return "authentication exchange violated the protocol";
    }
    return "unknown protocol error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& protocol_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace dw::protocol
