// Backend decoders: one parse_x per message of "Message Formats" in the PostgreSQL docs. Layout
// rules the docs state (ReadyForQuery's three statuses, the COPY format rule, the shape of each
// Authentication request) are checked here; what a message means for the session is not.
#include "protocol/backend_messages.hpp"

#include "protocol/message_reader.hpp"
#include "protocol/message_types.hpp"

namespace dw::protocol {
namespace {

// The server only echoes options the client sent in a startup packet, which PostgreSQL caps at
// 10,000 bytes (MAX_STARTUP_PACKET_LENGTH), so more names than that is absurd.
constexpr std::size_t max_unrecognized_options = 10'000;

// Minimum wire size of one RowDescription field: empty name's NUL plus 18 bytes of integers.
constexpr std::size_t min_field_description = 19;

result<backend_message> parse_authentication(message_reader& r) {
  const std::int32_t code = r.i32();
  const std::span<const std::byte> data = r.rest();
  if (!r.ok()) return r.error();
  switch (code) {
    case auth_code::ok:
    case auth_code::kerberos_v5:
    case auth_code::cleartext_password:
    case auth_code::gss:
    case auth_code::sspi:
      if (!data.empty()) return errc::trailing_bytes;
      break;
    case auth_code::md5_password:
      if (data.size() != 4) return data.size() < 4 ? errc::malformed_body : errc::trailing_bytes;
      break;
    case auth_code::sasl:
      if (auto mechanisms = parse_sasl_mechanisms(data); !mechanisms) return mechanisms.error();
      break;
    case auth_code::gss_continue:
    case auth_code::sasl_continue:
    case auth_code::sasl_final: break;
    default: return errc::malformed_body;
  }
  return backend_message{authentication{code, data}};
}

result<backend_message> parse_notification(message_reader& r) {
  notification_response m{};
  m.process_id = r.i32();
  m.channel = r.cstr();
  m.payload = r.cstr();
  return r.finish<backend_message>(m);
}

result<backend_message> parse_negotiate_protocol_version(message_reader& r) {
  negotiate_protocol_version m{};
  m.newest_version = r.i32();
  m.unrecognized_options.resize(r.count32(1, max_unrecognized_options));
  for (auto& option : m.unrecognized_options) option = r.cstr();
  return r.finish<backend_message>(std::move(m));
}

result<backend_message> parse_row_description(message_reader& r) {
  row_description m;
  m.fields.resize(r.count16(min_field_description));
  for (auto& f : m.fields) {
    f.name = r.cstr();
    f.table_oid = r.u32();
    f.column_attr = r.i16();
    f.type_oid = r.u32();
    f.type_size = r.i16();
    f.type_modifier = r.i32();
    f.format = r.i16();
  }
  return r.finish<backend_message>(std::move(m));
}

result<backend_message> parse_data_row(message_reader& r) {
  data_row m;
  m.columns.resize(r.count16(4));
  for (auto& c : m.columns) c = r.nullable_bytes();
  return r.finish<backend_message>(std::move(m));
}

result<backend_message> parse_parameter_description(message_reader& r) {
  parameter_description m;
  m.type_oids.resize(r.count16(4));
  for (auto& oid : m.type_oids) oid = r.u32();
  return r.finish<backend_message>(std::move(m));
}

// CopyInResponse / CopyOutResponse / CopyBothResponse: "0 indicates the overall COPY format is
// textual ... 1 indicates binary"; with a textual overall format "all must be zero".
template <class T>
result<backend_message> parse_copy_response(message_reader& r) {
  T m{};
  m.format = static_cast<std::int8_t>(r.u8());
  m.column_formats.resize(r.count16(2));
  for (auto& f : m.column_formats) {
    f = r.i16();
    if (f != 0 && f != 1) r.fail(errc::malformed_body);
    if (m.format == 0 && f != 0) r.fail(errc::malformed_body);
  }
  if (m.format != 0 && m.format != 1) r.fail(errc::malformed_body);
  return r.finish<backend_message>(std::move(m));
}

template <class T>
result<backend_message> parse_fields(message_reader& r) {
  auto fields = parse_error_fields(r.rest());
  if (!fields) return fields.error();
  return backend_message{T{std::move(*fields)}};
}

result<backend_message> parse_ready_for_query(message_reader& r) {
  const auto status = static_cast<char>(r.u8());
  if (r.ok() && status != 'I' && status != 'T' && status != 'E') r.fail(errc::malformed_body);
  return r.finish<backend_message>(ready_for_query{status});
}

result<backend_message> parse_typed(char type, message_reader& r) {
  namespace t = backend_type;
  switch (type) {
    case t::authentication: return parse_authentication(r);
    case t::backend_key_data: {
      const std::int32_t pid = r.i32();
      const std::int32_t key = r.i32();
      return r.finish<backend_message>(backend_key_data{pid, key});
    }
    case t::parameter_status: {
      const std::string_view name = r.cstr();
      const std::string_view value = r.cstr();
      return r.finish<backend_message>(parameter_status{name, value});
    }
    case t::ready_for_query: return parse_ready_for_query(r);
    case t::command_complete: {
      const std::string_view tag = r.cstr();
      return r.finish<backend_message>(command_complete{tag});
    }
    case t::error_response: return parse_fields<error_response>(r);
    case t::notice_response: return parse_fields<notice_response>(r);
    case t::notification_response: return parse_notification(r);
    case t::negotiate_protocol_version: return parse_negotiate_protocol_version(r);
    case t::row_description: return parse_row_description(r);
    case t::data_row: return parse_data_row(r);
    case t::parameter_description: return parse_parameter_description(r);
    case t::copy_in_response: return parse_copy_response<copy_in_response>(r);
    case t::copy_out_response: return parse_copy_response<copy_out_response>(r);
    case t::copy_both_response: return parse_copy_response<copy_both_response>(r);
    case t::function_call_response: {
      const auto value = r.nullable_bytes();
      return r.finish<backend_message>(function_call_response{value});
    }
    case t::parse_complete: return r.finish<backend_message>(parse_complete{});
    case t::bind_complete: return r.finish<backend_message>(bind_complete{});
    case t::close_complete: return r.finish<backend_message>(close_complete{});
    case t::no_data: return r.finish<backend_message>(no_data{});
    case t::empty_query_response: return r.finish<backend_message>(empty_query_response{});
    case t::portal_suspended: return r.finish<backend_message>(portal_suspended{});
    case t::copy_data: return backend_message{copy_data{r.rest()}};
    case t::copy_done: return r.finish<backend_message>(copy_done{});
    default: return errc::unknown_message_type;
  }
}

}  // namespace

result<backend_message> decode_backend(const frame& f) {
  message_reader r{f.body};
  return parse_typed(f.type, r);
}

result<std::vector<std::string_view>> parse_sasl_mechanisms(std::span<const std::byte> data) {
  message_reader r{data};
  std::vector<std::string_view> mechanisms;
  for (;;) {
    const std::string_view name = r.cstr();
    if (!r.ok() || name.empty()) break;
    mechanisms.push_back(name);
  }
  return r.finish(std::move(mechanisms));
}

}  // namespace dw::protocol
