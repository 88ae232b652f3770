// Every message a server sends (PostgreSQL docs, "Message Formats"), as typed views over a frame
// body, plus their encoders and the helpers the proxy uses to answer clients itself.
// decode_backend() checks every bound and that the body is fully consumed; views point into the
// caller's buffer. Writers append one complete message; strings must not contain NUL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/copy_messages.hpp"
#include "protocol/errc.hpp"
#include "protocol/error_fields.hpp"
#include "protocol/frame_decoder.hpp"

namespace dw::protocol {

/// Authentication request codes ("AuthenticationOk" ... "AuthenticationSASLFinal").
namespace auth_code {
inline constexpr std::int32_t ok = 0;
inline constexpr std::int32_t kerberos_v5 = 2;
inline constexpr std::int32_t cleartext_password = 3;
inline constexpr std::int32_t md5_password = 5;
inline constexpr std::int32_t gss = 7;
inline constexpr std::int32_t gss_continue = 8;
inline constexpr std::int32_t sspi = 9;
inline constexpr std::int32_t sasl = 10;
inline constexpr std::int32_t sasl_continue = 11;
inline constexpr std::int32_t sasl_final = 12;
}  // namespace auth_code

/// 'R'. data: md5 → the 4-byte salt, SASL → the mechanism list, SASL continue/final and GSS
/// continue → the mechanism's bytes; empty for the others. Unknown codes fail to decode.
struct authentication {
  std::int32_t code;
  std::span<const std::byte> data;
};
struct backend_key_data {
  std::int32_t process_id;
  std::int32_t secret_key;
};
struct parameter_status {
  std::string_view name, value;
};
struct ready_for_query {
  char status;  ///< 'I' idle, 'T' in a transaction block, 'E' in a failed one
};
struct command_complete {
  std::string_view tag;
};
struct error_response {
  error_fields fields;
};
struct notice_response {
  error_fields fields;
};
struct notification_response {
  std::int32_t process_id;
  std::string_view channel, payload;
};
struct negotiate_protocol_version {
  std::int32_t newest_version;  ///< full version code (PostgreSQL 15 sends 196608 = 3.0), despite the docs saying "minor"
  std::vector<std::string_view> unrecognized_options;
};
struct field_description {
  std::string_view name;
  std::uint32_t table_oid;   ///< 0 unless the column is a plain table column
  std::int16_t column_attr;  ///< attribute number in that table, else 0
  std::uint32_t type_oid;
  std::int16_t type_size;  ///< pg_type.typlen; negative for variable width
  std::int32_t type_modifier;
  std::int16_t format;  ///< 0 text, 1 binary ("not yet known" is 0 after Describe)
};
struct row_description {
  using field = field_description;
  std::vector<field_description> fields;
};
struct data_row {
  std::vector<std::optional<std::span<const std::byte>>> columns;  ///< nullopt is SQL NULL
};
struct parameter_description {
  std::vector<std::uint32_t> type_oids;
};
/// The three COPY responses share a layout: overall format (0 text, 1 binary) and per-column
/// formats, which must all be 0 when the overall format is text (enforced on decode).
struct copy_in_response {
  std::int8_t format;
  std::vector<std::int16_t> column_formats;
};
struct copy_out_response {
  std::int8_t format;
  std::vector<std::int16_t> column_formats;
};
struct copy_both_response {
  std::int8_t format;
  std::vector<std::int16_t> column_formats;
};
struct function_call_response {
  std::optional<std::span<const std::byte>> value;  ///< nullopt is SQL NULL
};
struct parse_complete {};
struct bind_complete {};
struct close_complete {};
struct no_data {};
struct empty_query_response {};
struct portal_suspended {};

/// copy_data and copy_done are the structs shared with the frontend (copy_messages.hpp).
using backend_message =
    std::variant<authentication, backend_key_data, parameter_status, ready_for_query,
                 command_complete, error_response, notice_response, notification_response,
                 negotiate_protocol_version, row_description, data_row, parameter_description,
                 copy_in_response, copy_out_response, copy_both_response, function_call_response,
                 parse_complete, bind_complete, close_complete, no_data, empty_query_response,
                 portal_suspended, copy_data, copy_done>;

[[nodiscard]] result<backend_message> decode_backend(const frame& f);
/// AuthenticationSASL's data: NUL-terminated names, then an empty name as the last byte.
[[nodiscard]] result<std::vector<std::string_view>> parse_sasl_mechanisms(
    std::span<const std::byte> data);

/// Re-encodes any decoded backend message.
void write_backend(std::vector<std::byte>& out, const backend_message& m);

void write_authentication(std::vector<std::byte>& out, const authentication& m);
void write_authentication_ok(std::vector<std::byte>& out);
void write_authentication_cleartext_password(std::vector<std::byte>& out);
void write_authentication_md5_password(std::vector<std::byte>& out,
                                       std::span<const std::byte, 4> salt);
void write_authentication_sasl(std::vector<std::byte>& out,
                               std::span<const std::string_view> mechanisms);
void write_authentication_sasl_continue(std::vector<std::byte>& out, std::string_view data);
void write_authentication_sasl_final(std::vector<std::byte>& out, std::string_view data);
void write_backend_key_data(std::vector<std::byte>& out, const backend_key_data& m);
void write_backend_key_data(std::vector<std::byte>& out, std::int32_t process_id,
                            std::int32_t secret_key);
void write_parameter_status(std::vector<std::byte>& out, const parameter_status& m);
void write_parameter_status(std::vector<std::byte>& out, std::string_view name,
                            std::string_view value);
void write_ready_for_query(std::vector<std::byte>& out, const ready_for_query& m);
void write_ready_for_query(std::vector<std::byte>& out, char status);
void write_command_complete(std::vector<std::byte>& out, const command_complete& m);
void write_error_response(std::vector<std::byte>& out, const error_response& m);
/// An ErrorResponse with S and V (severity), C, M and, when not empty, D.
void write_error_response(std::vector<std::byte>& out, std::string_view severity,
                          std::string_view sqlstate, std::string_view message,
                          std::string_view detail = {});
void write_notice_response(std::vector<std::byte>& out, const notice_response& m);
void write_notification_response(std::vector<std::byte>& out, const notification_response& m);
void write_negotiate_protocol_version(std::vector<std::byte>& out,
                                      const negotiate_protocol_version& m);
void write_row_description(std::vector<std::byte>& out, const row_description& m);
void write_data_row(std::vector<std::byte>& out, const data_row& m);
void write_parameter_description(std::vector<std::byte>& out, const parameter_description& m);
void write_copy_in_response(std::vector<std::byte>& out, const copy_in_response& m);
void write_copy_out_response(std::vector<std::byte>& out, const copy_out_response& m);
void write_copy_both_response(std::vector<std::byte>& out, const copy_both_response& m);
void write_function_call_response(std::vector<std::byte>& out, const function_call_response& m);
void write_parse_complete(std::vector<std::byte>& out, const parse_complete& m = {});
void write_bind_complete(std::vector<std::byte>& out, const bind_complete& m = {});
void write_close_complete(std::vector<std::byte>& out, const close_complete& m = {});
void write_no_data(std::vector<std::byte>& out, const no_data& m = {});
void write_empty_query_response(std::vector<std::byte>& out, const empty_query_response& m = {});
void write_portal_suspended(std::vector<std::byte>& out, const portal_suspended& m = {});

}  // namespace dw::protocol
