// Frontend decoders: one parse_x per message of "Message Formats" in the PostgreSQL docs, each a
// straight read of the documented fields through message_reader, then the fully-consumed check.
// Policy (which messages are allowed in which session state) belongs to the proxy, not here.
#include "protocol/frontend_messages.hpp"

#include "protocol/message_reader.hpp"
#include "protocol/message_types.hpp"

namespace dw::protocol {
namespace {

// The "special" major version that marks non-StartupMessage packets (CancelRequest, SSLRequest,
// GSSENCRequest: 1234.5678, 1234.5679, 1234.5680).
constexpr std::int32_t special_major = 1234;

bool valid_kind(char kind) noexcept { return kind == 'S' || kind == 'P'; }

// Int16 format codes; the count is unsigned like every protocol count (see count16).
std::vector<std::int16_t> read_formats(message_reader& r) {
  std::vector<std::int16_t> formats(r.count16(2));
  for (auto& f : formats) f = r.i16();
  return formats;
}

std::vector<nullable_value> read_values(message_reader& r) {
  std::vector<nullable_value> values(r.count16(4));
  for (auto& v : values) v = r.nullable_bytes();
  return values;
}

// Name/value pairs ending with an empty name; the terminator must be the last byte
// (ProcessStartupPacket: "invalid startup packet layout: expected terminator as last byte").
result<frontend_message> parse_startup_message(message_reader& r, std::int32_t version) {
  startup_message m{version, {}};
  for (;;) {
    const std::string_view name = r.cstr();
    if (!r.ok() || name.empty()) break;
    const std::string_view value = r.cstr();
    if (!r.ok()) break;
    m.parameters.emplace_back(name, value);
  }
  return r.finish<frontend_message>(std::move(m));
}

// Startup-family packets: the frame body starts with the Int32 request code ("Start-up" in the
// protocol flow docs). Known special codes win over the version check.
result<frontend_message> parse_startup_packet(std::span<const std::byte> body) {
  message_reader r{body};
  const std::int32_t code = r.i32();
  if (!r.ok()) return r.error();
  switch (code) {
    case startup_code::ssl_request: return r.finish<frontend_message>(ssl_request{});
    case startup_code::gssenc_request: return r.finish<frontend_message>(gssenc_request{});
    case startup_code::cancel_request: {
      // A 4-byte key, as PostgreSQL 15 issues; protocol 3.2's longer keys are not supported.
      const std::int32_t pid = r.i32();
      const std::int32_t key = r.i32();
      return r.finish<frontend_message>(cancel_request{pid, key});
    }
    default: break;
  }
  const std::int32_t major = code >> 16;
  if (major == special_major) return errc::unknown_startup_code;
  if (major != 3) return errc::unsupported_protocol_version;
  return parse_startup_message(r, code);
}

result<frontend_message> parse_parse(message_reader& r) {
  parse m;
  m.statement = r.cstr();
  m.sql = r.cstr();
  m.param_type_oids.resize(r.count16(4));
  for (auto& oid : m.param_type_oids) oid = r.u32();
  return r.finish<frontend_message>(std::move(m));
}

result<frontend_message> parse_bind(message_reader& r) {
  bind m;
  m.portal = r.cstr();
  m.statement = r.cstr();
  m.param_formats = read_formats(r);
  m.params = read_values(r);
  m.result_formats = read_formats(r);
  // exec_bind_message: "bind message has %d parameter formats but %d parameters"; without
  // this rule nobody could tell which format applies to which value.
  if (m.param_formats.size() > 1 && m.param_formats.size() != m.params.size()) {
    r.fail(errc::malformed_body);
  }
  return r.finish<frontend_message>(std::move(m));
}

template <class T>
result<frontend_message> parse_kind_and_name(message_reader& r) {
  const auto kind = static_cast<char>(r.u8());
  const std::string_view name = r.cstr();
  if (r.ok() && !valid_kind(kind)) r.fail(errc::malformed_body);
  return r.finish<frontend_message>(T{kind, name});
}

result<frontend_message> parse_execute(message_reader& r) {
  const std::string_view portal = r.cstr();
  const std::int32_t max_rows = r.i32();
  return r.finish<frontend_message>(execute{portal, max_rows});
}

result<frontend_message> parse_function_call(message_reader& r) {
  function_call m;
  m.function_oid = r.u32();
  m.arg_formats = read_formats(r);
  m.args = read_values(r);
  m.result_format = r.i16();
  // Same rule as Bind (HandleFunctionRequest's parse_fcall_arguments).
  if (m.arg_formats.size() > 1 && m.arg_formats.size() != m.args.size()) {
    r.fail(errc::malformed_body);
  }
  return r.finish<frontend_message>(std::move(m));
}

result<frontend_message> parse_typed(char type, message_reader& r) {
  namespace t = frontend_type;
  switch (type) {
    case t::query: {
      const std::string_view sql = r.cstr();
      return r.finish<frontend_message>(query{sql});
    }
    case t::parse: return parse_parse(r);
    case t::bind: return parse_bind(r);
    case t::describe: return parse_kind_and_name<describe>(r);
    case t::execute: return parse_execute(r);
    case t::close: return parse_kind_and_name<close>(r);
    case t::sync: return r.finish<frontend_message>(sync{});
    case t::flush: return r.finish<frontend_message>(flush{});
    case t::terminate: return r.finish<frontend_message>(terminate{});
    case t::copy_data: return frontend_message{copy_data{r.rest()}};
    case t::copy_done: return r.finish<frontend_message>(copy_done{});
    case t::copy_fail: {
      const std::string_view message = r.cstr();
      return r.finish<frontend_message>(copy_fail{message});
    }
    case t::function_call: return parse_function_call(r);
    case t::password_message: return frontend_message{password_message{r.rest()}};
    default: return errc::unknown_message_type;
  }
}

}  // namespace

std::string_view startup_message::get(std::string_view name) const noexcept {
  for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return {};
}

result<frontend_message> decode_frontend(const frame& f) {
  if (f.type == '\0') return parse_startup_packet(f.body);
  message_reader r{f.body};
  return parse_typed(f.type, r);
}

result<std::string_view> parse_password(std::span<const std::byte> body) {
  // recv_password_packet: "invalid password packet size" unless the string fills the body.
  message_reader r{body};
  const std::string_view password = r.cstr();
  return r.finish(password);
}

result<sasl_initial_response> parse_sasl_initial_response(std::span<const std::byte> body) {
  message_reader r{body};
  const std::string_view mechanism = r.cstr();
  const auto data = r.nullable_bytes();
  return r.finish(sasl_initial_response{mechanism, data});
}

}  // namespace dw::protocol
