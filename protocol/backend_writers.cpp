// Backend encoders: the exact inverse of the decoders in backend_messages.cpp (decode→encode
// reproduces the input bytes, which the fuzz targets check), plus the short forms the proxy
// uses when it answers a client itself (authentication, ErrorResponse, ReadyForQuery).
#include <cassert>

#include "protocol/backend_messages.hpp"
#include "protocol/message_types.hpp"
#include "protocol/message_writer.hpp"

namespace dw::protocol {
namespace {

namespace t = backend_type;

// Counts travel as 16-bit unsigned integers (see message_reader::count16).
std::int16_t wire_count(std::size_t n) noexcept {
  assert(n <= 0xffff);
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(n));
}

std::int32_t wire_oid(std::uint32_t oid) noexcept { return static_cast<std::int32_t>(oid); }

void put_nullable(message_writer& w, const std::optional<std::span<const std::byte>>& v) {
  if (!v) {
    w.i32(-1);
    return;
  }
  assert(v->size() <= 0x7fffffff);
  w.i32(static_cast<std::int32_t>(v->size())).bytes(*v);
}

void put_empty(std::vector<std::byte>& out, char type) { message_writer{out}.begin(type).finish(); }

void put_auth(std::vector<std::byte>& out, std::int32_t code, std::span<const std::byte> data) {
  message_writer{out}.begin(t::authentication).i32(code).bytes(data).finish();
}

std::span<const std::byte> as_bytes(std::string_view s) noexcept {
  return std::as_bytes(std::span{s.data(), s.size()});
}

template <class T>
void put_copy_response(std::vector<std::byte>& out, char type, const T& m) {
  message_writer w{out};
  w.begin(type).u8(static_cast<std::uint8_t>(m.format)).i16(wire_count(m.column_formats.size()));
  for (const std::int16_t f : m.column_formats) w.i16(f);
  w.finish();
}

void put_fields(std::vector<std::byte>& out, char type, const error_fields& fields) {
  message_writer w{out};
  w.begin(type);
  write_error_fields(w, fields);
  w.finish();
}

}  // namespace

void write_authentication(std::vector<std::byte>& out, const authentication& m) {
  put_auth(out, m.code, m.data);
}

void write_authentication_ok(std::vector<std::byte>& out) { put_auth(out, auth_code::ok, {}); }

void write_authentication_cleartext_password(std::vector<std::byte>& out) {
  put_auth(out, auth_code::cleartext_password, {});
}

void write_authentication_md5_password(std::vector<std::byte>& out,
                                       std::span<const std::byte, 4> salt) {
  put_auth(out, auth_code::md5_password, salt);
}

void write_authentication_sasl(std::vector<std::byte>& out,
                               std::span<const std::string_view> mechanisms) {
  message_writer w{out};
  w.begin(t::authentication).i32(auth_code::sasl);
  for (const std::string_view name : mechanisms) {
    assert(!name.empty());  // an empty name ends the list
    w.cstr(name);
  }
  w.u8(0).finish();
}

void write_authentication_sasl_continue(std::vector<std::byte>& out, std::string_view data) {
  put_auth(out, auth_code::sasl_continue, as_bytes(data));
}

void write_authentication_sasl_final(std::vector<std::byte>& out, std::string_view data) {
  put_auth(out, auth_code::sasl_final, as_bytes(data));
}

void write_backend_key_data(std::vector<std::byte>& out, const backend_key_data& m) {
  write_backend_key_data(out, m.process_id, m.secret_key);
}

void write_backend_key_data(std::vector<std::byte>& out, std::int32_t process_id,
                            std::int32_t secret_key) {
  message_writer{out}.begin(t::backend_key_data).i32(process_id).i32(secret_key).finish();
}

void write_parameter_status(std::vector<std::byte>& out, const parameter_status& m) {
  write_parameter_status(out, m.name, m.value);
}

void write_parameter_status(std::vector<std::byte>& out, std::string_view name,
                            std::string_view value) {
  message_writer{out}.begin(t::parameter_status).cstr(name).cstr(value).finish();
}

void write_ready_for_query(std::vector<std::byte>& out, const ready_for_query& m) {
  write_ready_for_query(out, m.status);
}

void write_ready_for_query(std::vector<std::byte>& out, char status) {
  message_writer{out}.begin(t::ready_for_query).u8(static_cast<std::uint8_t>(status)).finish();
}

void write_command_complete(std::vector<std::byte>& out, const command_complete& m) {
  message_writer{out}.begin(t::command_complete).cstr(m.tag).finish();
}

void write_error_response(std::vector<std::byte>& out, const error_response& m) {
  put_fields(out, t::error_response, m.fields);
}

void write_error_response(std::vector<std::byte>& out, std::string_view severity,
                          std::string_view sqlstate, std::string_view message,
                          std::string_view detail) {
  // PostgreSQL 9.6+ sends both severities; clients such as libpq prefer the unlocalized 'V'.
  message_writer w{out};
  w.begin(t::error_response);
  w.u8(error_field::severity).cstr(severity);
  w.u8(error_field::severity_raw).cstr(severity);
  w.u8(error_field::sqlstate).cstr(sqlstate);
  w.u8(error_field::message).cstr(message);
  if (!detail.empty()) w.u8(error_field::detail).cstr(detail);
  w.u8(0).finish();
}

void write_notice_response(std::vector<std::byte>& out, const notice_response& m) {
  put_fields(out, t::notice_response, m.fields);
}

void write_notification_response(std::vector<std::byte>& out, const notification_response& m) {
  message_writer{out}
      .begin(t::notification_response)
      .i32(m.process_id)
      .cstr(m.channel)
      .cstr(m.payload)
      .finish();
}

void write_negotiate_protocol_version(std::vector<std::byte>& out,
                                      const negotiate_protocol_version& m) {
  message_writer w{out};
  w.begin(t::negotiate_protocol_version).i32(m.newest_version);
  w.i32(static_cast<std::int32_t>(m.unrecognized_options.size()));
  for (const std::string_view option : m.unrecognized_options) w.cstr(option);
  w.finish();
}

void write_row_description(std::vector<std::byte>& out, const row_description& m) {
  message_writer w{out};
  w.begin(t::row_description).i16(wire_count(m.fields.size()));
  for (const field_description& f : m.fields) {
    w.cstr(f.name).i32(wire_oid(f.table_oid)).i16(f.column_attr).i32(wire_oid(f.type_oid));
    w.i16(f.type_size).i32(f.type_modifier).i16(f.format);
  }
  w.finish();
}

void write_data_row(std::vector<std::byte>& out, const data_row& m) {
  message_writer w{out};
  w.begin(t::data_row).i16(wire_count(m.columns.size()));
  for (const auto& column : m.columns) put_nullable(w, column);
  w.finish();
}

void write_parameter_description(std::vector<std::byte>& out, const parameter_description& m) {
  message_writer w{out};
  w.begin(t::parameter_description).i16(wire_count(m.type_oids.size()));
  for (const std::uint32_t oid : m.type_oids) w.i32(wire_oid(oid));
  w.finish();
}

void write_copy_in_response(std::vector<std::byte>& out, const copy_in_response& m) {
  put_copy_response(out, t::copy_in_response, m);
}

void write_copy_out_response(std::vector<std::byte>& out, const copy_out_response& m) {
  put_copy_response(out, t::copy_out_response, m);
}

void write_copy_both_response(std::vector<std::byte>& out, const copy_both_response& m) {
  put_copy_response(out, t::copy_both_response, m);
}

void write_function_call_response(std::vector<std::byte>& out, const function_call_response& m) {
  message_writer w{out};
  w.begin(t::function_call_response);
  put_nullable(w, m.value);
  w.finish();
}

void write_parse_complete(std::vector<std::byte>& out, const parse_complete&) {
  put_empty(out, t::parse_complete);
}
void write_bind_complete(std::vector<std::byte>& out, const bind_complete&) {
  put_empty(out, t::bind_complete);
}
void write_close_complete(std::vector<std::byte>& out, const close_complete&) {
  put_empty(out, t::close_complete);
}
void write_no_data(std::vector<std::byte>& out, const no_data&) { put_empty(out, t::no_data); }
void write_empty_query_response(std::vector<std::byte>& out, const empty_query_response&) {
  put_empty(out, t::empty_query_response);
}
void write_portal_suspended(std::vector<std::byte>& out, const portal_suspended&) {
  put_empty(out, t::portal_suspended);
}

void write_backend(std::vector<std::byte>& out, const backend_message& m) {
  struct encoder {
    std::vector<std::byte>& out;
    void operator()(const authentication& x) const { write_authentication(out, x); }
    void operator()(const backend_key_data& x) const { write_backend_key_data(out, x); }
    void operator()(const parameter_status& x) const { write_parameter_status(out, x); }
    void operator()(const ready_for_query& x) const { write_ready_for_query(out, x); }
    void operator()(const command_complete& x) const { write_command_complete(out, x); }
    void operator()(const error_response& x) const { write_error_response(out, x); }
    void operator()(const notice_response& x) const { write_notice_response(out, x); }
    void operator()(const notification_response& x) const { write_notification_response(out, x); }
    void operator()(const negotiate_protocol_version& x) const {
      write_negotiate_protocol_version(out, x);
    }
    void operator()(const row_description& x) const { write_row_description(out, x); }
    void operator()(const data_row& x) const { write_data_row(out, x); }
    void operator()(const parameter_description& x) const { write_parameter_description(out, x); }
    void operator()(const copy_in_response& x) const { write_copy_in_response(out, x); }
    void operator()(const copy_out_response& x) const { write_copy_out_response(out, x); }
    void operator()(const copy_both_response& x) const { write_copy_both_response(out, x); }
    void operator()(const function_call_response& x) const { write_function_call_response(out, x); }
    void operator()(const parse_complete& x) const { write_parse_complete(out, x); }
    void operator()(const bind_complete& x) const { write_bind_complete(out, x); }
    void operator()(const close_complete& x) const { write_close_complete(out, x); }
    void operator()(const no_data& x) const { write_no_data(out, x); }
    void operator()(const empty_query_response& x) const { write_empty_query_response(out, x); }
    void operator()(const portal_suspended& x) const { write_portal_suspended(out, x); }
    void operator()(const copy_data& x) const { write_copy_data(out, x); }
    void operator()(const copy_done& x) const { write_copy_done(out, x); }
  };
  std::visit(encoder{out}, m);
}

}  // namespace dw::protocol
