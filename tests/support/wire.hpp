// Hand-built protocol packets and a minimal backend-message reader for black-box tests that
// must send what no well-behaved client sends. Deliberately independent of the proxy's own
// decoders, so a shared bug cannot make a test pass.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dw::test {

using startup_params = std::vector<std::pair<std::string, std::string>>;

/// StartupMessage with protocol major.minor and the given parameters.
[[nodiscard]] std::string startup_packet(int major, int minor, const startup_params& params);
/// SSLRequest (length 8, code 80877103).
[[nodiscard]] std::string ssl_request();
/// A typed frontend message: type byte, int32 length, body.
[[nodiscard]] std::string typed_message(char type, std::string_view body);
/// SASLInitialResponse ('p'): mechanism, int32 length, initial response.
[[nodiscard]] std::string sasl_initial_response(std::string_view mechanism, std::string_view data);
/// Big-endian int32 as 4 bytes.
[[nodiscard]] std::string be32(std::uint32_t v);
[[nodiscard]] std::uint32_t load_be32(std::string_view four_bytes);

/// One backend message as read off the wire.
struct backend_message {
  char type = 0;
  std::string body;
};

/// Splits `bytes` into complete backend messages; stops at the first incomplete or
/// implausible frame and reports how many bytes were consumed.
struct split_result {
  std::vector<backend_message> messages;
  std::size_t consumed = 0;
};
[[nodiscard]] split_result split_backend_messages(std::string_view bytes);

/// ErrorResponse/NoticeResponse fields by code ('C' SQLSTATE, 'M' message, 'S' severity...).
[[nodiscard]] std::map<char, std::string> parse_error_fields(std::string_view body);

/// The SQLSTATE of an ErrorResponse message, nullopt for any other message.
[[nodiscard]] std::optional<std::string> error_sqlstate(const backend_message& m);

/// "E 08P01 invalid length ..." style one-line summary for assertion messages.
[[nodiscard]] std::string describe(const backend_message& m);

}  // namespace dw::test
