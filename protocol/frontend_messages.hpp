// Every message a client sends (PostgreSQL docs, "Message Formats"), as typed views over a frame
// body, plus their encoders. decode_frontend() checks every bound and that the body is fully
// consumed; it never allocates more than the body can describe. Views point into the caller's
// buffer: copy what must outlive it. Writers append one complete message to `out`; strings
// must not contain NUL and counts must fit the wire's 16 bits (both asserted in debug builds).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "protocol/copy_messages.hpp"
#include "protocol/errc.hpp"
#include "protocol/frame_decoder.hpp"

namespace dw::protocol {

/// A parameter or argument value; nullopt is SQL NULL (wire length -1).
using nullable_value = std::optional<std::span<const std::byte>>;
using startup_parameters = std::vector<std::pair<std::string_view, std::string_view>>;

/// Untyped, code 196608 (3.0). Any 3.x minor is accepted; answering a newer minor with
/// NegotiateProtocolVersion is the proxy's policy, as is requiring "user".
struct startup_message {
  std::int32_t protocol_version;
  startup_parameters parameters;
  /// The value of `name`, "" if absent; a repeated name's last value wins, as in PostgreSQL.
  [[nodiscard]] std::string_view get(std::string_view name) const noexcept;
};
struct ssl_request {};
struct gssenc_request {};
struct cancel_request {
  std::int32_t process_id;
  std::int32_t secret_key;
};
struct query {
  std::string_view sql;
};
struct parse {
  std::string_view statement;
  std::string_view sql;
  std::vector<std::uint32_t> param_type_oids;
};
/// param_formats holds 0, 1 or params.size() codes (the protocol's rule, enforced on decode).
struct bind {
  std::string_view portal, statement;
  std::vector<std::int16_t> param_formats;
  std::vector<nullable_value> params;
  std::vector<std::int16_t> result_formats;
};
struct describe {
  char kind;  ///< 'S' statement or 'P' portal
  std::string_view name;
};
struct execute {
  std::string_view portal;
  std::int32_t max_rows;  ///< 0 means no limit
};
struct close {
  char kind;  ///< 'S' statement or 'P' portal
  std::string_view name;
};
struct sync {};
struct flush {};
struct terminate {};
struct copy_fail {
  std::string_view message;
};
struct function_call {
  std::uint32_t function_oid;
  std::vector<std::int16_t> arg_formats;
  std::vector<nullable_value> args;
  std::int16_t result_format;
};
/// 'p' means PasswordMessage, SASLInitialResponse, SASLResponse or GSSResponse depending on
/// what the server asked for, so the body is kept raw; parse it with the helpers below.
struct password_message {
  std::span<const std::byte> body;
};
struct sasl_initial_response {
  std::string_view mechanism;
  std::optional<std::span<const std::byte>> data;  ///< nullopt: no initial response (-1)
};

using frontend_message =
    std::variant<startup_message, ssl_request, gssenc_request, cancel_request, query, parse, bind,
                 describe, execute, close, sync, flush, terminate, copy_data, copy_done, copy_fail,
                 function_call, password_message>;

/// Decodes one frontend frame; type '\0' is a startup-family packet. Errors: malformed_body,
/// trailing_bytes, unknown_message_type; for startup packets unknown_startup_code (a 1234.x
/// code other than cancel/SSL/GSSENC) and unsupported_protocol_version (any other major but 3).
[[nodiscard]] result<frontend_message> decode_frontend(const frame& f);
/// A cleartext or MD5 PasswordMessage body: one NUL-terminated string, nothing after it.
[[nodiscard]] result<std::string_view> parse_password(std::span<const std::byte> body);
[[nodiscard]] result<sasl_initial_response> parse_sasl_initial_response(
    std::span<const std::byte> body);

/// Re-encodes any decoded frontend message.
void write_frontend(std::vector<std::byte>& out, const frontend_message& m);

void write_startup_message(std::vector<std::byte>& out, const startup_message& m);
/// A protocol 3.0 StartupMessage.
void write_startup_message(std::vector<std::byte>& out, const startup_parameters& params);
void write_ssl_request(std::vector<std::byte>& out, const ssl_request& m = {});
void write_gssenc_request(std::vector<std::byte>& out, const gssenc_request& m = {});
void write_cancel_request(std::vector<std::byte>& out, const cancel_request& m);
void write_cancel_request(std::vector<std::byte>& out, std::int32_t process_id,
                          std::int32_t secret_key);
void write_query(std::vector<std::byte>& out, const query& m);
void write_query(std::vector<std::byte>& out, std::string_view sql);
void write_parse(std::vector<std::byte>& out, const parse& m);
void write_bind(std::vector<std::byte>& out, const bind& m);
void write_describe(std::vector<std::byte>& out, const describe& m);
void write_execute(std::vector<std::byte>& out, const execute& m);
void write_close(std::vector<std::byte>& out, const close& m);
void write_sync(std::vector<std::byte>& out, const sync& m = {});
void write_flush(std::vector<std::byte>& out, const flush& m = {});
void write_terminate(std::vector<std::byte>& out, const terminate& m = {});
void write_copy_fail(std::vector<std::byte>& out, const copy_fail& m);
void write_function_call(std::vector<std::byte>& out, const function_call& m);
void write_password_message(std::vector<std::byte>& out, const password_message& m);
/// A cleartext or MD5 PasswordMessage.
void write_password(std::vector<std::byte>& out, std::string_view password);
void write_sasl_initial_response(std::vector<std::byte>& out, const sasl_initial_response& m);
void write_sasl_initial_response(std::vector<std::byte>& out, std::string_view mechanism,
                                 std::string_view data);
/// SASLResponse: the whole body is the mechanism's data.
void write_sasl_response(std::vector<std::byte>& out, std::string_view data);

}  // namespace dw::protocol
