// Backend messages that answer queries: RowDescription, DataRow, CommandComplete,
// EmptyQueryResponse, the extended-query acknowledgements, ParameterDescription,
// FunctionCallResponse and NotificationResponse.
#include <gtest/gtest.h>

#include "protocol/backend_messages.hpp"
#include "tests/protocol/codec_test_util.hpp"

namespace dw::protocol::test {
namespace {

result<backend_message> decode_body(char type, const bytes& body) {
  return decode_backend(frame{type, body, body.size() + 5});
}

row_description sample_row_description() {
  return row_description{{
      {"id", 16384, 1, 23, 4, -1, 0},
      {"name", 16384, 2, 25, -1, -1, 0},
      {"?column?", 0, 0, 0xfffffff0, -2, 0x7fffffff, 1},
  }};
}

TEST(row_description, round_trip_and_fields) {
  const bytes wire =
      encoded([](bytes& out) { write_row_description(out, sample_row_description()); });
  const owned_frame fr = check_backend<row_description>(wire);
  const auto m = decoded_backend<row_description>(fr);
  ASSERT_EQ(m.fields.size(), 3u);
  const row_description::field& name = m.fields[1];
  EXPECT_EQ(name.name, "name");
  EXPECT_EQ(name.table_oid, 16384u);
  EXPECT_EQ(name.column_attr, 2);
  EXPECT_EQ(name.type_oid, 25u);
  EXPECT_EQ(name.type_size, -1);
  EXPECT_EQ(name.type_modifier, -1);
  EXPECT_EQ(name.format, 0);
  EXPECT_EQ(m.fields[2].type_oid, 0xfffffff0u);
  EXPECT_EQ(m.fields[2].type_modifier, 0x7fffffff);
}

TEST(row_description, no_fields) {
  check_backend<row_description>(from_hex("54 00000006 0000"));
}

TEST(row_description, field_count_beyond_the_body) {
  // 19 bytes is the smallest field; a count the body cannot hold fails before allocating.
  bytes body = from_hex("0002");
  body.resize(2 + 19 + 18);
  EXPECT_EQ(error_of(decode_body('T', body)), errc::malformed_body);
  EXPECT_EQ(error_of(decode_body('T', from_hex("ffff"))), errc::malformed_body);
}

TEST(data_row, round_trip_with_null_and_empty) {
  static const bytes one = to_bytes("1");
  const data_row in{{std::span<const std::byte>{one}, std::nullopt, std::span<const std::byte>{}}};
  const bytes wire = encoded([&](bytes& out) { write_data_row(out, in); });
  EXPECT_EQ(wire, from_hex("44 00000013 0003 00000001 31 ffffffff 00000000"));
  const owned_frame fr = check_backend<data_row>(wire);
  const auto m = decoded_backend<data_row>(fr);
  ASSERT_EQ(m.columns.size(), 3u);
  EXPECT_EQ(as_text(*m.columns[0]), "1");
  EXPECT_FALSE(m.columns[1].has_value());
  ASSERT_TRUE(m.columns[2].has_value());
  EXPECT_TRUE(m.columns[2]->empty());
}

TEST(data_row, bad_lengths_and_counts) {
  for (const char* hex : {"0001 fffffffe", "0001 00000005 3132", "0002 ffffffff", "ffff",
                          "0001 80000000"}) {
    EXPECT_EQ(error_of(decode_body('D', from_hex(hex))), errc::malformed_body) << hex;
  }
}

TEST(command_complete, tags) {
  for (const char* tag : {"SELECT 1", "INSERT 0 5", "BEGIN", "COPY 3", ""}) {
    const bytes wire = encoded([&](bytes& out) { write_command_complete(out, {tag}); });
    const owned_frame fr = check_backend<command_complete>(wire);
    EXPECT_EQ(decoded_backend<command_complete>(fr).tag, tag);
  }
}

TEST(empty_bodies, golden_bytes_and_round_trip) {
  check_backend<parse_complete>(encoded([](bytes& out) { write_parse_complete(out); }));
  check_backend<bind_complete>(encoded([](bytes& out) { write_bind_complete(out); }));
  check_backend<close_complete>(encoded([](bytes& out) { write_close_complete(out); }));
  check_backend<no_data>(encoded([](bytes& out) { write_no_data(out); }));
  check_backend<empty_query_response>(
      encoded([](bytes& out) { write_empty_query_response(out); }));
  check_backend<portal_suspended>(encoded([](bytes& out) { write_portal_suspended(out); }));
  check_backend<copy_done>(encoded([](bytes& out) { write_copy_done(out); }));
  EXPECT_EQ(encoded([](bytes& out) { write_parse_complete(out); }), from_hex("31 00000004"));
  EXPECT_EQ(encoded([](bytes& out) { write_bind_complete(out); }), from_hex("32 00000004"));
  EXPECT_EQ(encoded([](bytes& out) { write_close_complete(out); }), from_hex("33 00000004"));
  EXPECT_EQ(encoded([](bytes& out) { write_no_data(out); }), from_hex("6e 00000004"));
  EXPECT_EQ(encoded([](bytes& out) { write_empty_query_response(out); }),
            from_hex("49 00000004"));
  EXPECT_EQ(encoded([](bytes& out) { write_portal_suspended(out); }), from_hex("73 00000004"));
}

TEST(parameter_description, round_trip_and_fields) {
  const parameter_description in{{23, 25, 0xffffffff}};
  const bytes wire = encoded([&](bytes& out) { write_parameter_description(out, in); });
  const owned_frame fr = check_backend<parameter_description>(wire);
  EXPECT_EQ(decoded_backend<parameter_description>(fr).type_oids, in.type_oids);
  EXPECT_EQ(error_of(decode_body('t', from_hex("0002 00000017"))), errc::malformed_body);
}

TEST(function_call_response, value_and_null) {
  static const bytes v = from_hex("0000002a");
  const bytes wire = encoded([&](bytes& out) {
    write_function_call_response(out, {std::span<const std::byte>{v}});
  });
  const owned_frame fr = check_backend<function_call_response>(wire);
  EXPECT_EQ(decoded_backend<function_call_response>(fr).value->size(), 4u);
  const bytes null = encoded([](bytes& out) { write_function_call_response(out, {}); });
  EXPECT_EQ(null, from_hex("56 00000008 ffffffff"));
  const owned_frame nf = check_backend<function_call_response>(null);
  EXPECT_FALSE(decoded_backend<function_call_response>(nf).value.has_value());
}

TEST(notification_response, round_trip_and_fields) {
  const bytes wire = encoded([](bytes& out) {
    write_notification_response(out, {4711, "orders", "{\"id\":1}"});
  });
  const owned_frame fr = check_backend<notification_response>(wire);
  const auto m = decoded_backend<notification_response>(fr);
  EXPECT_EQ(m.process_id, 4711);
  EXPECT_EQ(m.channel, "orders");
  EXPECT_EQ(m.payload, "{\"id\":1}");
}

TEST(backend, unknown_type_byte) {
  const bytes body;
  for (const char type : {'Q', 'P', 'B', 'X', 'F', '\0'}) {
    EXPECT_EQ(error_of(decode_backend(frame{type, body, 5})), errc::unknown_message_type) << type;
  }
}

}  // namespace
}  // namespace dw::protocol::test
