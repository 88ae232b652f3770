// The v3 protocol's type bytes, keyed by direction, in the spirit of PostgreSQL's
// src/include/libpq/protocol.h. The same byte means different things per direction
// ('D' is Describe from the client and DataRow from the server), so never mix the tables.
// See "Message Formats" in the PostgreSQL docs (protocol-message-formats).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dw::protocol {

enum class direction : std::uint8_t { frontend, backend };

namespace frontend_type {
inline constexpr char bind = 'B';
inline constexpr char close = 'C';
inline constexpr char copy_data = 'd';
inline constexpr char copy_done = 'c';
inline constexpr char copy_fail = 'f';
inline constexpr char describe = 'D';
inline constexpr char execute = 'E';
inline constexpr char flush = 'H';
inline constexpr char function_call = 'F';
inline constexpr char parse = 'P';
inline constexpr char password_message = 'p';  // also SASLInitialResponse, SASLResponse, GSSResponse
inline constexpr char query = 'Q';
inline constexpr char sync = 'S';
inline constexpr char terminate = 'X';
}  // namespace frontend_type

namespace backend_type {
inline constexpr char authentication = 'R';
inline constexpr char backend_key_data = 'K';
inline constexpr char bind_complete = '2';
inline constexpr char close_complete = '3';
inline constexpr char command_complete = 'C';
inline constexpr char copy_data = 'd';
inline constexpr char copy_done = 'c';
inline constexpr char copy_in_response = 'G';
inline constexpr char copy_out_response = 'H';
inline constexpr char copy_both_response = 'W';
inline constexpr char data_row = 'D';
inline constexpr char empty_query_response = 'I';
inline constexpr char error_response = 'E';
inline constexpr char function_call_response = 'V';
inline constexpr char negotiate_protocol_version = 'v';
inline constexpr char no_data = 'n';
inline constexpr char notice_response = 'N';
inline constexpr char notification_response = 'A';
inline constexpr char parameter_description = 't';
inline constexpr char parameter_status = 'S';
inline constexpr char parse_complete = '1';
inline constexpr char portal_suspended = 's';
inline constexpr char ready_for_query = 'Z';
inline constexpr char row_description = 'T';
}  // namespace backend_type

/// Request codes of the untyped startup-family packets (first int32 after the length).
namespace startup_code {
inline constexpr std::int32_t protocol_3_0 = 196608;  // 3 << 16
inline constexpr std::int32_t cancel_request = 80877102;
inline constexpr std::int32_t ssl_request = 80877103;
inline constexpr std::int32_t gssenc_request = 80877104;
}  // namespace startup_code

/// How big a message of this kind may legitimately be.
enum class size_class : std::uint8_t {
  unknown,  ///< type byte not defined for the direction
  small,    ///< fixed-size or short control messages
  large,    ///< may carry user data (SQL text, parameters, rows, COPY data)
};

/// Classifies a type byte for its direction; the framer enforces the limit per class.
[[nodiscard]] constexpr size_class classify_type(direction dir, char type) noexcept {
  if (dir == direction::frontend) {
    switch (type) {
      case 'B': case 'd': case 'F': case 'P': case 'Q': case 'p': return size_class::large;
      case 'C': case 'c': case 'f': case 'D': case 'E': case 'H': case 'S': case 'X':
        return size_class::small;
      default: return size_class::unknown;
    }
  }
  switch (type) {
    case 'R': case 'C': case 'd': case 'D': case 'E': case 'V': case 'N': case 'A':
    case 'T': case 't': case 'S': case 'v': case 'G': case 'H': case 'W':
      return size_class::large;
    case 'K': case '2': case '3': case 'c': case 'I': case 'n': case '1': case 's': case 'Z':
      return size_class::small;
    default: return size_class::unknown;
  }
}

}  // namespace dw::protocol
