// ErrorResponse and NoticeResponse: the field list's layout rules, the accessors, and the
// write_error_response short form the proxy uses for fail_client().
#include "protocol/error_fields.hpp"

#include <gtest/gtest.h>

#include "protocol/backend_messages.hpp"
#include "tests/protocol/codec_test_util.hpp"

namespace dw::protocol::test {
namespace {

TEST(error_response, short_form_round_trip_and_accessors) {
  const bytes wire = encoded([](bytes& out) {
    write_error_response(out, "FATAL", "28P01", "password authentication failed for user \"app\"");
  });
  const owned_frame fr = check_backend<error_response>(wire);
  const auto m = decoded_backend<error_response>(fr);
  EXPECT_EQ(m.fields.severity(), "FATAL");
  EXPECT_EQ(m.fields.get(error_field::severity), "FATAL");
  EXPECT_EQ(m.fields.sqlstate(), "28P01");
  EXPECT_EQ(m.fields.message(), "password authentication failed for user \"app\"");
  EXPECT_EQ(m.fields.detail(), "");
  EXPECT_EQ(m.fields.entries.size(), 4u) << "no D field when detail is empty";
}

TEST(error_response, short_form_golden_bytes_with_detail) {
  const bytes wire = encoded(
      [](bytes& out) { write_error_response(out, "ERROR", "08P01", "bad", "why"); });
  EXPECT_EQ(wire, concat({from_hex("45 00000024"), to_bytes("SERROR"), from_hex("00"),
                          to_bytes("VERROR"), from_hex("00"), to_bytes("C08P01"), from_hex("00"),
                          to_bytes("Mbad"), from_hex("00"), to_bytes("Dwhy"), from_hex("00 00")}));
  const owned_frame fr = check_backend<error_response>(wire);
  EXPECT_EQ(decoded_backend<error_response>(fr).fields.detail(), "why");
}

TEST(error_fields, severity_prefers_the_unlocalized_field) {
  const error_fields german{{{'S', "FEHLER"}, {'V', "ERROR"}, {'C', "42601"}}};
  EXPECT_EQ(german.severity(), "ERROR");
  const error_fields old_server{{{'S', "ERROR"}}};
  EXPECT_EQ(old_server.severity(), "ERROR");
  EXPECT_EQ(error_fields{}.severity(), "");
}

TEST(error_fields, repeated_code_last_wins_like_libpq) {
  const error_fields f{{{'M', "first"}, {'M', "second"}}};
  EXPECT_EQ(f.message(), "second");
}

TEST(error_fields, unknown_codes_are_kept) {
  // "Frontends should silently ignore fields of unrecognized type."
  const bytes body = concat({to_bytes("Zfuture"), from_hex("00"), to_bytes("C00000"),
                             from_hex("00 00")});
  auto f = parse_error_fields(body);
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->entries.size(), 2u);
  EXPECT_EQ(f->get('Z'), "future");
  EXPECT_EQ(f->sqlstate(), "00000");
}

TEST(error_fields, layout_rules) {
  EXPECT_EQ(error_of(parse_error_fields({})), errc::malformed_body) << "terminator required";
  EXPECT_EQ(error_of(parse_error_fields(to_bytes("Mabc"))), errc::malformed_body);
  EXPECT_EQ(error_of(parse_error_fields(concat({to_bytes("Mabc"), from_hex("00")}))),
            errc::malformed_body);
  EXPECT_EQ(error_of(parse_error_fields(from_hex("00 00"))), errc::trailing_bytes);
  auto empty = parse_error_fields(from_hex("00"));
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->entries.empty());
}

TEST(notice_response, round_trip) {
  const notice_response in{{{{'S', "NOTICE"}, {'V', "NOTICE"}, {'C', "00000"},
                             {'M', "table \"t\" does not exist, skipping"}}}};
  const bytes wire = encoded([&](bytes& out) { write_notice_response(out, in); });
  const owned_frame fr = check_backend<notice_response>(wire);
  const auto m = decoded_backend<notice_response>(fr);
  EXPECT_EQ(m.fields.severity(), "NOTICE");
  EXPECT_EQ(m.fields.message(), "table \"t\" does not exist, skipping");
}

TEST(error_response, full_round_trip_keeps_field_order) {
  const error_response in{{{{'S', "ERROR"}, {'V', "ERROR"}, {'C', "23505"},
                            {'M', "duplicate key value violates unique constraint \"t_pkey\""},
                            {'D', "Key (id)=(1) already exists."}, {'s', "public"},
                            {'t', "t"}, {'n', "t_pkey"}, {'F', "nbtinsert.c"}, {'L', "664"},
                            {'R', "_bt_check_unique"}}}};
  const bytes wire = encoded([&](bytes& out) { write_error_response(out, in); });
  const owned_frame fr = check_backend<error_response>(wire);
  const auto m = decoded_backend<error_response>(fr);
  ASSERT_EQ(m.fields.entries.size(), in.fields.entries.size());
  for (std::size_t i = 0; i < in.fields.entries.size(); ++i) {
    EXPECT_EQ(m.fields.entries[i], in.fields.entries[i]);
  }
  EXPECT_EQ(m.fields.get(error_field::constraint_name), "t_pkey");
}

}  // namespace
}  // namespace dw::protocol::test
