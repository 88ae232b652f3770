// The untyped startup-family packets: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest
// (PostgreSQL docs, "Message Formats" and "Start-up"), including the request-code rules.
#include <gtest/gtest.h>

#include "protocol/frontend_messages.hpp"
#include "tests/protocol/codec_test_util.hpp"

namespace dw::protocol::test {
namespace {

result<frontend_message> decode_startup(const bytes& body) {
  return decode_frontend(frame{'\0', body, body.size() + 4});
}

TEST(startup_message, round_trip_and_fields) {
  const bytes wire = encoded([](bytes& out) {
    write_startup_message(out, {{"user", "app"}, {"database", "shop"}, {"options", ""}});
  });
  const owned_frame fr = check_frontend<startup_message>(wire);
  auto m = decode_frontend(fr.view());
  ASSERT_TRUE(m.has_value());
  const auto& s = std::get<startup_message>(*m);
  EXPECT_EQ(s.protocol_version, 196608);
  ASSERT_EQ(s.parameters.size(), 3u);
  EXPECT_EQ(s.get("user"), "app");
  EXPECT_EQ(s.get("database"), "shop");
  EXPECT_EQ(s.get("options"), "");
  EXPECT_EQ(s.get("application_name"), "");
}

TEST(startup_message, golden_psql_bytes) {
  // What `psql -U app shop -c ...` (libpq 15.18, no terminal, so no client_encoding=auto) sent
  // over a Unix socket, checked against the docs: Int32 length, Int32 196608, name/value strings,
  // the final NUL.
  const bytes wire = from_hex(
      "00000036 00030000"
      "7573657200 61707000"                            // user app
      "646174616261736500 73686f7000"                  // database shop
      "6170706c69636174696f6e5f6e616d6500 7073716c00"  // application_name psql
      "00");
  ASSERT_EQ(wire.size(), 0x36u);
  const owned_frame fr = check_frontend<startup_message>(wire);
  auto m = decode_frontend(fr.view());
  ASSERT_TRUE(m.has_value());
  const auto& s = std::get<startup_message>(*m);
  EXPECT_EQ(s.get("user"), "app");
  EXPECT_EQ(s.get("database"), "shop");
  EXPECT_EQ(s.get("application_name"), "psql");
  EXPECT_EQ(encoded([&](bytes& out) { write_startup_message(out, s.parameters); }), wire);
}

TEST(startup_message, no_parameters_is_just_the_terminator) {
  const bytes wire = encoded([](bytes& out) { write_startup_message(out, startup_parameters{}); });
  EXPECT_EQ(wire, from_hex("00000009 00030000 00"));
  check_frontend<startup_message>(wire);
}

TEST(startup_message, repeated_name_last_value_wins) {
  const bytes wire = encoded([](bytes& out) {
    write_startup_message(out, {{"user", "first"}, {"user", "second"}});
  });
  const owned_frame fr = single_frame(direction::frontend, wire, true);
  auto m = decode_frontend(fr.view());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(std::get<startup_message>(*m).get("user"), "second");
}

TEST(startup_message, terminator_must_be_the_last_byte) {
  // ProcessStartupPacket: "invalid startup packet layout: expected terminator as last byte".
  EXPECT_EQ(error_of(decode_startup(from_hex("00030000"))), errc::malformed_body);
  EXPECT_EQ(error_of(decode_startup(from_hex("00030000 7500 7600"))), errc::malformed_body);
  EXPECT_EQ(error_of(decode_startup(from_hex("00030000 7500"))), errc::malformed_body);
  EXPECT_EQ(error_of(decode_startup(from_hex("00030000 7500 7600 00 00"))), errc::trailing_bytes);
  EXPECT_EQ(error_of(decode_startup(from_hex("00030000 00 7500 7600 00"))), errc::trailing_bytes);
}

TEST(startup_message, any_3_x_minor_decodes) {
  // Newer minors are answered with NegotiateProtocolVersion by the proxy, not refused here.
  auto m = decode_startup(from_hex("00030002 00"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(std::get<startup_message>(*m).protocol_version, 0x00030002);
}

TEST(startup_message, other_major_versions_are_unsupported) {
  for (const char* code : {"00020000", "00040000", "00000000", "ffff0000"}) {
    EXPECT_EQ(error_of(decode_startup(concat({from_hex(code), from_hex("00")}))),
              errc::unsupported_protocol_version)
        << code;
  }
}

TEST(startup_message, unknown_special_codes) {
  // 1234.5678 .. 1234.5680 are cancel/SSL/GSSENC; the rest of major 1234 is unknown.
  for (const char* code : {"04d20000", "04d2162d", "04d21631", "04d2ffff"}) {
    EXPECT_EQ(error_of(decode_startup(from_hex(code))), errc::unknown_startup_code) << code;
  }
}

TEST(startup_message, short_code_is_malformed) {
  EXPECT_EQ(error_of(decode_startup(from_hex(""))), errc::malformed_body);
  EXPECT_EQ(error_of(decode_startup(from_hex("000300"))), errc::malformed_body);
}

TEST(ssl_request, golden_bytes_and_round_trip) {
  const bytes wire = encoded([](bytes& out) { write_ssl_request(out); });
  EXPECT_EQ(wire, from_hex("00000008 04d2162f"));  // 1234.5679
  check_frontend<ssl_request>(wire);
  EXPECT_EQ(encoded([](bytes& out) { write_ssl_request(out, ssl_request{}); }), wire);
}

TEST(gssenc_request, golden_bytes_and_round_trip) {
  const bytes wire = encoded([](bytes& out) { write_gssenc_request(out); });
  EXPECT_EQ(wire, from_hex("00000008 04d21630"));  // 1234.5680
  check_frontend<gssenc_request>(wire);
}

TEST(cancel_request, golden_bytes_round_trip_and_fields) {
  const bytes wire = encoded([](bytes& out) { write_cancel_request(out, 4242, -559038737); });
  EXPECT_EQ(wire, from_hex("00000010 04d2162e 00001092 deadbeef"));  // 1234.5678
  const owned_frame fr = check_frontend<cancel_request>(wire);
  auto m = decode_frontend(fr.view());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(std::get<cancel_request>(*m).process_id, 4242);
  EXPECT_EQ(std::get<cancel_request>(*m).secret_key, -559038737);
  EXPECT_EQ(encoded([](bytes& out) { write_cancel_request(out, cancel_request{4242, -559038737}); }),
            wire);
}

TEST(startup_family, after_ssl_the_decoder_still_expects_a_startup_packet) {
  // SSLRequest, GSSENCRequest and CancelRequest do not end the startup phase; the feeder, like
  // the proxy, only switches to typed messages after a StartupMessage.
  bytes wire;
  write_ssl_request(wire);
  write_gssenc_request(wire);
  write_startup_message(wire, {{"user", "u"}});
  write_sync(wire);
  feeder f{direction::frontend, true};
  ASSERT_TRUE(f.push(wire));
  ASSERT_EQ(f.frames().size(), 4u);
  EXPECT_TRUE(std::holds_alternative<ssl_request>(*decode_frontend(f.frames()[0].view())));
  EXPECT_TRUE(std::holds_alternative<gssenc_request>(*decode_frontend(f.frames()[1].view())));
  EXPECT_TRUE(std::holds_alternative<startup_message>(*decode_frontend(f.frames()[2].view())));
  EXPECT_TRUE(std::holds_alternative<sync>(*decode_frontend(f.frames()[3].view())));
}

}  // namespace
}  // namespace dw::protocol::test
