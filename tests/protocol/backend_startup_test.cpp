// Backend messages of the start-up phase: every Authentication request, BackendKeyData,
// ParameterStatus, NegotiateProtocolVersion and ReadyForQuery, plus the short-form writers the
// proxy uses when it authenticates clients itself.
#include <gtest/gtest.h>

#include <array>

#include "protocol/backend_messages.hpp"
#include "tests/protocol/codec_test_util.hpp"

namespace dw::protocol::test {
namespace {

result<backend_message> decode_body(char type, const bytes& body) {
  return decode_backend(frame{type, body, body.size() + 5});
}

TEST(authentication, ok_golden_bytes) {
  const bytes wire = encoded([](bytes& out) { write_authentication_ok(out); });
  EXPECT_EQ(wire, from_hex("52 00000008 00000000"));
  const owned_frame fr = check_backend<authentication>(wire);
  const auto m = decoded_backend<authentication>(fr);
  EXPECT_EQ(m.code, auth_code::ok);
  EXPECT_TRUE(m.data.empty());
}

TEST(authentication, cleartext_password) {
  const bytes wire = encoded([](bytes& out) { write_authentication_cleartext_password(out); });
  EXPECT_EQ(wire, from_hex("52 00000008 00000003"));
  check_backend<authentication>(wire);
}

TEST(authentication, md5_carries_a_four_byte_salt) {
  const std::array<std::byte, 4> salt{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  const bytes wire = encoded([&](bytes& out) { write_authentication_md5_password(out, salt); });
  EXPECT_EQ(wire, from_hex("52 0000000c 00000005 01020304"));
  const owned_frame fr = check_backend<authentication>(wire);
  const auto m = decoded_backend<authentication>(fr);
  EXPECT_EQ(m.code, auth_code::md5_password);
  EXPECT_EQ(m.data.size(), 4u);
}

TEST(authentication, sasl_mechanism_list) {
  const std::array<std::string_view, 2> mechanisms{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"};
  const bytes wire = encoded([&](bytes& out) { write_authentication_sasl(out, mechanisms); });
  const owned_frame fr = check_backend<authentication>(wire);
  const auto m = decoded_backend<authentication>(fr);
  EXPECT_EQ(m.code, auth_code::sasl);
  auto names = parse_sasl_mechanisms(m.data);
  ASSERT_TRUE(names.has_value());
  EXPECT_EQ(*names, (std::vector<std::string_view>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}));
}

TEST(authentication, golden_pg15_scram_request) {
  // PostgreSQL 15 without TLS offers only SCRAM-SHA-256: R, len 23, code 10, name, empty name.
  const bytes wire = concat({from_hex("52 00000017 0000000a"), to_bytes("SCRAM-SHA-256"),
                             from_hex("00 00")});
  const owned_frame fr = check_backend<authentication>(wire);
  auto names = parse_sasl_mechanisms(decoded_backend<authentication>(fr).data);
  ASSERT_TRUE(names.has_value());
  ASSERT_EQ(names->size(), 1u);
  EXPECT_EQ(names->front(), "SCRAM-SHA-256");
}

TEST(authentication, sasl_continue_and_final_carry_raw_data) {
  const std::string_view server_first = "r=abc,s=c2FsdA==,i=4096";
  const bytes cont =
      encoded([&](bytes& out) { write_authentication_sasl_continue(out, server_first); });
  const owned_frame c = check_backend<authentication>(cont, body_kind::open);
  EXPECT_EQ(decoded_backend<authentication>(c).code, auth_code::sasl_continue);
  EXPECT_EQ(as_text(decoded_backend<authentication>(c).data), server_first);

  const bytes fin = encoded([](bytes& out) { write_authentication_sasl_final(out, "v=xyz"); });
  const owned_frame f = check_backend<authentication>(fin, body_kind::open);
  EXPECT_EQ(decoded_backend<authentication>(f).code, auth_code::sasl_final);
  EXPECT_EQ(as_text(decoded_backend<authentication>(f).data), "v=xyz");
}

TEST(authentication, other_known_codes_decode_generically) {
  for (const std::int32_t code : {auth_code::kerberos_v5, auth_code::gss, auth_code::sspi}) {
    const bytes wire = encoded([&](bytes& out) { write_authentication(out, {code, {}}); });
    check_backend<authentication>(wire);
  }
  const bytes token = from_hex("a1b2c3");
  const bytes gss =
      encoded([&](bytes& out) { write_authentication(out, {auth_code::gss_continue, token}); });
  check_backend<authentication>(gss, body_kind::open);
}

TEST(authentication, shape_rules) {
  EXPECT_EQ(error_of(decode_body('R', from_hex("00000000 00"))), errc::trailing_bytes);
  EXPECT_EQ(error_of(decode_body('R', from_hex("00000003 00"))), errc::trailing_bytes);
  EXPECT_EQ(error_of(decode_body('R', from_hex("00000005 010203"))), errc::malformed_body);
  EXPECT_EQ(error_of(decode_body('R', from_hex("00000005 0102030405"))), errc::trailing_bytes);
  EXPECT_EQ(error_of(decode_body('R', from_hex("0000000a"))), errc::malformed_body);
  EXPECT_EQ(error_of(decode_body('R', from_hex("0000000a 4100"))), errc::malformed_body);
  EXPECT_EQ(error_of(decode_body('R', from_hex("0000000a 4100 00 00"))), errc::trailing_bytes);
  for (const char* unknown : {"00000001", "00000004", "00000006", "0000000d", "ffffffff"}) {
    EXPECT_EQ(error_of(decode_body('R', from_hex(unknown))), errc::malformed_body) << unknown;
  }
}

TEST(parse_sasl_mechanisms, list_rules) {
  EXPECT_EQ(error_of(parse_sasl_mechanisms({})), errc::malformed_body);
  auto empty = parse_sasl_mechanisms(from_hex("00"));
  ASSERT_TRUE(empty.has_value()) << "choosing no mechanism is the auth layer's decision";
  EXPECT_TRUE(empty->empty());
}

TEST(backend_key_data, golden_bytes_and_fields) {
  const bytes wire = encoded([](bytes& out) { write_backend_key_data(out, 31337, 0x5eed5eed); });
  EXPECT_EQ(wire, from_hex("4b 0000000c 00007a69 5eed5eed"));
  const owned_frame fr = check_backend<backend_key_data>(wire);
  const auto m = decoded_backend<backend_key_data>(fr);
  EXPECT_EQ(m.process_id, 31337);
  EXPECT_EQ(m.secret_key, 0x5eed5eed);
  EXPECT_EQ(encoded([&](bytes& out) { write_backend_key_data(out, m); }), wire);
}

TEST(parameter_status, golden_bytes_and_fields) {
  const bytes wire =
      encoded([](bytes& out) { write_parameter_status(out, "server_version", "15.5"); });
  EXPECT_EQ(wire, concat({from_hex("53 00000018"), to_bytes("server_version"), from_hex("00"),
                          to_bytes("15.5"), from_hex("00")}));
  const owned_frame fr = check_backend<parameter_status>(wire);
  const auto m = decoded_backend<parameter_status>(fr);
  EXPECT_EQ(m.name, "server_version");
  EXPECT_EQ(m.value, "15.5");
}

TEST(negotiate_protocol_version, round_trip_and_fields) {
  const negotiate_protocol_version in{0, {"_pq_.compression", "_pq_.other"}};
  const bytes wire = encoded([&](bytes& out) { write_negotiate_protocol_version(out, in); });
  const owned_frame fr = check_backend<negotiate_protocol_version>(wire);
  const auto m = decoded_backend<negotiate_protocol_version>(fr);
  EXPECT_EQ(m.newest_version, 0);
  EXPECT_EQ(m.unrecognized_options, in.unrecognized_options);
  check_backend<negotiate_protocol_version>(from_hex("76 0000000c 00000000 00000000"));
}

TEST(negotiate_protocol_version, counts_are_bounded) {
  EXPECT_EQ(error_of(decode_body('v', from_hex("00000000 ffffffff"))), errc::malformed_body);
  EXPECT_EQ(error_of(decode_body('v', from_hex("00000000 7fffffff 00"))), errc::malformed_body);
  EXPECT_EQ(error_of(decode_body('v', from_hex("00000000 00000002 00"))), errc::malformed_body);
}

TEST(ready_for_query, the_three_statuses) {
  for (const char status : {'I', 'T', 'E'}) {
    const bytes wire = encoded([&](bytes& out) { write_ready_for_query(out, status); });
    const owned_frame fr = check_backend<ready_for_query>(wire);
    EXPECT_EQ(decoded_backend<ready_for_query>(fr).status, status);
  }
  EXPECT_EQ(encoded([](bytes& out) { write_ready_for_query(out, ready_for_query{'I'}); }),
            from_hex("5a 00000005 49"));
}

TEST(ready_for_query, other_statuses_are_malformed) {
  for (const char* status : {"00", "69", "58"}) {
    EXPECT_EQ(error_of(decode_body('Z', from_hex(status))), errc::malformed_body) << status;
  }
}

}  // namespace
}  // namespace dw::protocol::test
