// The remaining frontend messages: Terminate, the COPY sub-protocol (CopyData, CopyDone,
// CopyFail), FunctionCall, and the context-dependent 'p' family (PasswordMessage,
// SASLInitialResponse, SASLResponse).
#include <gtest/gtest.h>

#include "protocol/frontend_messages.hpp"
#include "tests/protocol/codec_test_util.hpp"

namespace dw::protocol::test {
namespace {

TEST(terminate, golden_bytes_and_round_trip) {
  const bytes wire = encoded([](bytes& out) { write_terminate(out); });
  EXPECT_EQ(wire, from_hex("58 00000004"));
  check_frontend<terminate>(wire);
}

TEST(copy_data, any_body_is_data) {
  const bytes row = to_bytes("1\tone\n");
  const bytes wire = encoded([&](bytes& out) { write_copy_data(out, copy_data{row}); });
  EXPECT_EQ(wire, concat({from_hex("64 0000000a"), row}));
  const owned_frame fr = check_frontend<copy_data>(wire, body_kind::open);
  const auto m = decoded_frontend<copy_data>(fr);
  EXPECT_EQ(as_text(m.data), "1\tone\n");
  check_frontend<copy_data>(from_hex("64 00000004"), body_kind::open);
}

TEST(copy_done, golden_bytes_and_round_trip) {
  const bytes wire = encoded([](bytes& out) { write_copy_done(out); });
  EXPECT_EQ(wire, from_hex("63 00000004"));
  check_frontend<copy_done>(wire);
}

TEST(copy_fail, round_trip_and_fields) {
  const bytes wire = encoded([](bytes& out) { write_copy_fail(out, copy_fail{"aborted"}); });
  const owned_frame fr = check_frontend<copy_fail>(wire);
  EXPECT_EQ(decoded_frontend<copy_fail>(fr).message, "aborted");
}

TEST(function_call, round_trip_and_fields) {
  static const bytes arg = from_hex("0000002a");
  const function_call in{1598, {1}, {std::span<const std::byte>{arg}, std::nullopt}, 1};
  const bytes wire = encoded([&](bytes& out) { write_function_call(out, in); });
  const owned_frame fr = check_frontend<function_call>(wire);
  const auto m = decoded_frontend<function_call>(fr);
  EXPECT_EQ(m.function_oid, 1598u);
  EXPECT_EQ(m.arg_formats, (std::vector<std::int16_t>{1}));
  ASSERT_EQ(m.args.size(), 2u);
  EXPECT_EQ(m.args[0]->size(), 4u);
  EXPECT_FALSE(m.args[1].has_value());
  EXPECT_EQ(m.result_format, 1);
}

TEST(function_call, format_count_rule) {
  const function_call in{1598, {0, 1, 0}, {std::nullopt, std::nullopt}, 0};
  const bytes wire = encoded([&](bytes& out) { write_function_call(out, in); });
  EXPECT_EQ(error_of(decode_frontend(single_frame(direction::frontend, wire).view())),
            errc::malformed_body);
}

TEST(password_message, body_is_kept_raw) {
  // 'p' means different things depending on what the server asked for, so decode_frontend
  // cannot parse it; the session picks the parser.
  const bytes wire = encoded([](bytes& out) { write_password(out, "s3cret"); });
  EXPECT_EQ(wire, concat({from_hex("70 0000000b"), to_bytes(std::string_view{"s3cret\0", 7})}));
  const owned_frame fr = check_frontend<password_message>(wire, body_kind::open);
  const auto m = decoded_frontend<password_message>(fr);
  auto pw = parse_password(m.body);
  ASSERT_TRUE(pw.has_value());
  EXPECT_EQ(*pw, "s3cret");
}

TEST(parse_password, must_be_exactly_one_string) {
  // recv_password_packet: "invalid password packet size".
  EXPECT_EQ(error_of(parse_password(to_bytes("abc"))), errc::malformed_body);
  EXPECT_EQ(error_of(parse_password(to_bytes(std::string_view{"abc\0d", 5}))),
            errc::trailing_bytes);
  EXPECT_EQ(error_of(parse_password({})), errc::malformed_body);
  auto empty = parse_password(from_hex("00"));
  ASSERT_TRUE(empty.has_value()) << "emptiness is the auth layer's policy";
  EXPECT_EQ(*empty, "");
}

TEST(sasl_initial_response, golden_bytes_and_fields) {
  const std::string_view first = "n,,n=,r=rOprNGfwEbeRWgbNEkqO";
  const bytes wire =
      encoded([&](bytes& out) { write_sasl_initial_response(out, "SCRAM-SHA-256", first); });
  EXPECT_EQ(wire, concat({from_hex("70 00000032"), to_bytes("SCRAM-SHA-256"),
                          from_hex("00 0000001c"), to_bytes(first)}));
  const owned_frame fr = check_frontend<password_message>(wire, body_kind::open);
  const auto m = decoded_frontend<password_message>(fr);
  auto sasl = parse_sasl_initial_response(m.body);
  ASSERT_TRUE(sasl.has_value());
  EXPECT_EQ(sasl->mechanism, "SCRAM-SHA-256");
  ASSERT_TRUE(sasl->data.has_value());
  EXPECT_EQ(as_text(*sasl->data), first);
}

TEST(sasl_initial_response, absent_data_is_minus_one) {
  const bytes wire = encoded([](bytes& out) {
    write_sasl_initial_response(out, sasl_initial_response{"SCRAM-SHA-256", std::nullopt});
  });
  const owned_frame fr = single_frame(direction::frontend, wire);
  const auto m = decoded_frontend<password_message>(fr);
  auto sasl = parse_sasl_initial_response(m.body);
  ASSERT_TRUE(sasl.has_value());
  EXPECT_FALSE(sasl->data.has_value());
}

TEST(sasl_initial_response, bounds) {
  const bytes full = concat({to_bytes("M"), from_hex("00 00000002 6162")});
  for (std::size_t len = 0; len < full.size(); ++len) {
    EXPECT_EQ(error_of(parse_sasl_initial_response(std::span{full}.first(len))),
              errc::malformed_body)
        << len;
  }
  EXPECT_TRUE(parse_sasl_initial_response(full).has_value());
  EXPECT_EQ(error_of(parse_sasl_initial_response(concat({full, from_hex("00")}))),
            errc::trailing_bytes);
  EXPECT_EQ(error_of(parse_sasl_initial_response(from_hex("4d00 fffffffe"))),
            errc::malformed_body);
}

TEST(sasl_response, whole_body_is_the_data) {
  const std::string_view final_msg = "c=biws,r=abc,p=xyz";
  const bytes wire = encoded([&](bytes& out) { write_sasl_response(out, final_msg); });
  const owned_frame fr = check_frontend<password_message>(wire, body_kind::open);
  const auto m = decoded_frontend<password_message>(fr);
  EXPECT_EQ(as_text(m.body), final_msg);
}

TEST(frontend, unknown_type_byte) {
  const bytes body;
  EXPECT_EQ(error_of(decode_frontend(frame{'Z', body, 5})), errc::unknown_message_type);
  EXPECT_EQ(error_of(decode_frontend(frame{'T', body, 5})), errc::unknown_message_type);
}

}  // namespace
}  // namespace dw::protocol::test
