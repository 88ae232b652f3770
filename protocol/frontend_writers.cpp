// Frontend encoders: the exact inverse of the decoders in frontend_messages.cpp, so that
// decode→encode reproduces the input bytes (the fuzz targets check this property).
#include "protocol/frontend_messages.hpp"

#include <cassert>

#include "protocol/message_types.hpp"
#include "protocol/message_writer.hpp"

namespace dw::protocol {
namespace {

// Counts travel as 16-bit unsigned integers (see message_reader::count16).
std::int16_t wire_count(std::size_t n) noexcept {
  assert(n <= 0xffff);
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(n));
}

void put_formats(message_writer& w, const std::vector<std::int16_t>& formats) {
  w.i16(wire_count(formats.size()));
  for (const std::int16_t f : formats) w.i16(f);
}

void put_values(message_writer& w, const std::vector<nullable_value>& values) {
  w.i16(wire_count(values.size()));
  for (const auto& v : values) {
    if (!v) {
      w.i32(-1);
      continue;
    }
    assert(v->size() <= 0x7fffffff);
    w.i32(static_cast<std::int32_t>(v->size())).bytes(*v);
  }
}

void put_startup(std::vector<std::byte>& out, std::int32_t version,
                 const startup_parameters& params) {
  message_writer w{out};
  w.begin('\0').i32(version);
  for (const auto& [name, value] : params) {
    assert(!name.empty());  // an empty name would end the list early
    w.cstr(name).cstr(value);
  }
  w.u8(0).finish();
}

void put_request_code(std::vector<std::byte>& out, std::int32_t code) {
  message_writer{out}.begin('\0').i32(code).finish();
}

template <class T>
void put_kind_and_name(std::vector<std::byte>& out, char type, const T& m) {
  message_writer{out}.begin(type).u8(static_cast<std::uint8_t>(m.kind)).cstr(m.name).finish();
}

void put_empty(std::vector<std::byte>& out, char type) { message_writer{out}.begin(type).finish(); }

}  // namespace

void write_startup_message(std::vector<std::byte>& out, const startup_message& m) {
  put_startup(out, m.protocol_version, m.parameters);
}

void write_startup_message(std::vector<std::byte>& out, const startup_parameters& params) {
  put_startup(out, startup_code::protocol_3_0, params);
}

void write_ssl_request(std::vector<std::byte>& out, const ssl_request&) {
  put_request_code(out, startup_code::ssl_request);
}

void write_gssenc_request(std::vector<std::byte>& out, const gssenc_request&) {
  put_request_code(out, startup_code::gssenc_request);
}

void write_cancel_request(std::vector<std::byte>& out, const cancel_request& m) {
  write_cancel_request(out, m.process_id, m.secret_key);
}

void write_cancel_request(std::vector<std::byte>& out, std::int32_t process_id,
                          std::int32_t secret_key) {
  message_writer{out}
      .begin('\0')
      .i32(startup_code::cancel_request)
      .i32(process_id)
      .i32(secret_key)
      .finish();
}

void write_query(std::vector<std::byte>& out, const query& m) { write_query(out, m.sql); }

void write_query(std::vector<std::byte>& out, std::string_view sql) {
  message_writer{out}.begin(frontend_type::query).cstr(sql).finish();
}

void write_parse(std::vector<std::byte>& out, const parse& m) {
  message_writer w{out};
  w.begin(frontend_type::parse).cstr(m.statement).cstr(m.sql);
  w.i16(wire_count(m.param_type_oids.size()));
  for (const std::uint32_t oid : m.param_type_oids) w.i32(static_cast<std::int32_t>(oid));
  w.finish();
}

void write_bind(std::vector<std::byte>& out, const bind& m) {
  message_writer w{out};
  w.begin(frontend_type::bind).cstr(m.portal).cstr(m.statement);
  put_formats(w, m.param_formats);
  put_values(w, m.params);
  put_formats(w, m.result_formats);
  w.finish();
}

void write_describe(std::vector<std::byte>& out, const describe& m) {
  put_kind_and_name(out, frontend_type::describe, m);
}

void write_execute(std::vector<std::byte>& out, const execute& m) {
  message_writer{out}.begin(frontend_type::execute).cstr(m.portal).i32(m.max_rows).finish();
}

void write_close(std::vector<std::byte>& out, const close& m) {
  put_kind_and_name(out, frontend_type::close, m);
}

void write_sync(std::vector<std::byte>& out, const sync&) { put_empty(out, frontend_type::sync); }

void write_flush(std::vector<std::byte>& out, const flush&) {
  put_empty(out, frontend_type::flush);
}

void write_terminate(std::vector<std::byte>& out, const terminate&) {
  put_empty(out, frontend_type::terminate);
}

void write_copy_fail(std::vector<std::byte>& out, const copy_fail& m) {
  message_writer{out}.begin(frontend_type::copy_fail).cstr(m.message).finish();
}

void write_function_call(std::vector<std::byte>& out, const function_call& m) {
  message_writer w{out};
  w.begin(frontend_type::function_call).i32(static_cast<std::int32_t>(m.function_oid));
  put_formats(w, m.arg_formats);
  put_values(w, m.args);
  w.i16(m.result_format).finish();
}

void write_password_message(std::vector<std::byte>& out, const password_message& m) {
  message_writer{out}.begin(frontend_type::password_message).bytes(m.body).finish();
}

void write_password(std::vector<std::byte>& out, std::string_view password) {
  message_writer{out}.begin(frontend_type::password_message).cstr(password).finish();
}

void write_sasl_initial_response(std::vector<std::byte>& out, const sasl_initial_response& m) {
  message_writer w{out};
  w.begin(frontend_type::password_message).cstr(m.mechanism);
  if (m.data) {
    w.i32(static_cast<std::int32_t>(m.data->size())).bytes(*m.data);
  } else {
    w.i32(-1);
  }
  w.finish();
}

void write_sasl_initial_response(std::vector<std::byte>& out, std::string_view mechanism,
                                 std::string_view data) {
  const auto bytes = std::as_bytes(std::span{data.data(), data.size()});
  write_sasl_initial_response(out, sasl_initial_response{mechanism, bytes});
}

void write_sasl_response(std::vector<std::byte>& out, std::string_view data) {
  message_writer{out}.begin(frontend_type::password_message).bytes(data).finish();
}

void write_frontend(std::vector<std::byte>& out, const frontend_message& m) {
  struct encoder {
    std::vector<std::byte>& out;
    void operator()(const startup_message& x) const { write_startup_message(out, x); }
    void operator()(const ssl_request& x) const { write_ssl_request(out, x); }
    void operator()(const gssenc_request& x) const { write_gssenc_request(out, x); }
    void operator()(const cancel_request& x) const { write_cancel_request(out, x); }
    void operator()(const query& x) const { write_query(out, x); }
    void operator()(const parse& x) const { write_parse(out, x); }
    void operator()(const bind& x) const { write_bind(out, x); }
    void operator()(const describe& x) const { write_describe(out, x); }
    void operator()(const execute& x) const { write_execute(out, x); }
    void operator()(const close& x) const { write_close(out, x); }
    void operator()(const sync& x) const { write_sync(out, x); }
    void operator()(const flush& x) const { write_flush(out, x); }
    void operator()(const terminate& x) const { write_terminate(out, x); }
    void operator()(const copy_data& x) const { write_copy_data(out, x); }
    void operator()(const copy_done& x) const { write_copy_done(out, x); }
    void operator()(const copy_fail& x) const { write_copy_fail(out, x); }
    void operator()(const function_call& x) const { write_function_call(out, x); }
    void operator()(const password_message& x) const { write_password_message(out, x); }
  };
  std::visit(encoder{out}, m);
}

}  // namespace dw::protocol
