// Frontend simple- and extended-query messages: Query, Parse, Bind, Describe, Execute, Close,
// Sync, Flush (PostgreSQL docs, "Message Formats" and "Extended Query").
#include <gtest/gtest.h>

#include "protocol/frontend_messages.hpp"
#include "tests/protocol/codec_test_util.hpp"

namespace dw::protocol::test {
namespace {

TEST(query, golden_bytes_round_trip_and_fields) {
  const bytes wire = encoded([](bytes& out) { write_query(out, "SELECT 1"); });
  EXPECT_EQ(wire, from_hex("51 0000000d 53454c4543542031 00"));
  const owned_frame fr = check_frontend<query>(wire);
  EXPECT_EQ(decoded_frontend<query>(fr).sql, "SELECT 1");
  EXPECT_EQ(encoded([](bytes& out) { write_query(out, query{"SELECT 1"}); }), wire);
}

TEST(query, empty_sql) {
  const bytes wire = encoded([](bytes& out) { write_query(out, ""); });
  const owned_frame fr = check_frontend<query>(wire);
  EXPECT_EQ(decoded_frontend<query>(fr).sql, "");
}

TEST(query, missing_nul_is_malformed) {
  const bytes body = to_bytes("SELECT 1");
  EXPECT_EQ(error_of(decode_frontend(frame{'Q', body, body.size() + 5})), errc::malformed_body);
}

TEST(parse, round_trip_and_fields) {
  const parse in{"stmt1", "SELECT $1::int, $2", {23, 0xfffffffe}};
  const bytes wire = encoded([&](bytes& out) { write_parse(out, in); });
  const owned_frame fr = check_frontend<parse>(wire);
  const auto m = decoded_frontend<parse>(fr);
  EXPECT_EQ(m.statement, "stmt1");
  EXPECT_EQ(m.sql, "SELECT $1::int, $2");
  EXPECT_EQ(m.param_type_oids, (std::vector<std::uint32_t>{23, 0xfffffffe}));
}

TEST(parse, golden_unnamed_statement_without_types) {
  // P, len 16, "", "SELECT 1", Int16 0
  const bytes wire = from_hex("50 00000010 00 53454c4543542031 00 0000");
  const owned_frame fr = check_frontend<parse>(wire);
  const auto m = decoded_frontend<parse>(fr);
  EXPECT_EQ(m.statement, "");
  EXPECT_TRUE(m.param_type_oids.empty());
}

TEST(parse, parameter_count_beyond_the_body_fails_before_allocating) {
  const bytes body = from_hex("00 00 ffff 00000017");
  EXPECT_EQ(error_of(decode_frontend(frame{'P', body, body.size() + 5})), errc::malformed_body);
}

bind sample_bind() {
  static const bytes value = to_bytes("42");
  bind b;
  b.portal = "p1";
  b.statement = "s1";
  b.param_formats = {0, 1, 0};
  b.params = {std::span<const std::byte>{value}, std::nullopt, std::span<const std::byte>{}};
  b.result_formats = {1};
  return b;
}

TEST(bind, round_trip_and_fields) {
  const bytes wire = encoded([](bytes& out) { write_bind(out, sample_bind()); });
  const owned_frame fr = check_frontend<bind>(wire);
  const auto m = decoded_frontend<bind>(fr);
  EXPECT_EQ(m.portal, "p1");
  EXPECT_EQ(m.statement, "s1");
  EXPECT_EQ(m.param_formats, (std::vector<std::int16_t>{0, 1, 0}));
  ASSERT_EQ(m.params.size(), 3u);
  ASSERT_TRUE(m.params[0].has_value());
  EXPECT_EQ(as_text(*m.params[0]), "42");
  EXPECT_FALSE(m.params[1].has_value()) << "NULL";
  ASSERT_TRUE(m.params[2].has_value()) << "empty is not NULL";
  EXPECT_TRUE(m.params[2]->empty());
  EXPECT_EQ(m.result_formats, (std::vector<std::int16_t>{1}));
}

TEST(bind, golden_libpq_bytes) {
  // PQexecParams("SELECT $1", 1 text param "7", text results) on the unnamed statement/portal:
  // B, len, "" "", Int16 0 formats, Int16 1 param, Int32 1 "7", Int16 1 result format 0.
  const bytes wire = from_hex("42 00000013 00 00 0000 0001 00000001 37 0001 0000");
  const owned_frame fr = check_frontend<bind>(wire);
  const auto m = decoded_frontend<bind>(fr);
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(as_text(*m.params[0]), "7");
  EXPECT_TRUE(m.param_formats.empty());
  EXPECT_EQ(m.result_formats, (std::vector<std::int16_t>{0}));
}

TEST(bind, one_format_applies_to_all_parameters) {
  bind b = sample_bind();
  b.param_formats = {1};
  const bytes wire = encoded([&](bytes& out) { write_bind(out, b); });
  check_frontend<bind>(wire);
}

TEST(bind, format_count_must_be_zero_one_or_the_parameter_count) {
  // exec_bind_message: "bind message has 2 parameter formats but 3 parameters".
  bind b = sample_bind();
  b.param_formats = {0, 1};
  const bytes wire = encoded([&](bytes& out) { write_bind(out, b); });
  EXPECT_EQ(error_of(decode_frontend(single_frame(direction::frontend, wire).view())),
            errc::malformed_body);
}

TEST(bind, more_than_32767_parameters) {
  // libpq allows 65535 parameters and PostgreSQL reads the count unsigned; ORMs doing bulk
  // inserts hit this, so reading Int16 as signed would break real clients.
  bind b;
  b.params.assign(40'000, std::nullopt);
  const bytes wire = encoded([&](bytes& out) { write_bind(out, b); });
  const owned_frame fr = single_frame(direction::frontend, wire);
  auto m = decode_frontend(fr.view());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(std::get<bind>(*m).params.size(), 40'000u);
  bytes again;
  write_frontend(again, *m);
  EXPECT_EQ(again, wire);
}

TEST(bind, bad_lengths_and_counts) {
  // A parameter length of -2, one past the body, and a count larger than the body.
  for (const char* hex : {"00 00 0000 0001 fffffffe 0000", "00 00 0000 0001 00000002 37 0000",
                          "00 00 0000 7fff 00000000 0000", "00 00 ffff 0000 0000"}) {
    const bytes body = from_hex(hex);
    EXPECT_EQ(error_of(decode_frontend(frame{'B', body, body.size() + 5})), errc::malformed_body)
        << hex;
  }
}

TEST(describe, statement_and_portal) {
  for (const char kind : {'S', 'P'}) {
    const bytes wire = encoded([&](bytes& out) { write_describe(out, describe{kind, "x"}); });
    const owned_frame fr = check_frontend<describe>(wire);
    const auto m = decoded_frontend<describe>(fr);
    EXPECT_EQ(m.kind, kind);
    EXPECT_EQ(m.name, "x");
  }
  EXPECT_EQ(encoded([](bytes& out) { write_describe(out, describe{'P', ""}); }),
            from_hex("44 00000006 50 00"));
}

TEST(describe, other_kinds_are_malformed) {
  for (const char* hex : {"51 00", "00 00", "73 00"}) {
    const bytes body = from_hex(hex);
    EXPECT_EQ(error_of(decode_frontend(frame{'D', body, body.size() + 5})), errc::malformed_body);
  }
}

TEST(execute, round_trip_and_fields) {
  const bytes wire = encoded([](bytes& out) { write_execute(out, execute{"portal", 100}); });
  const owned_frame fr = check_frontend<execute>(wire);
  const auto m = decoded_frontend<execute>(fr);
  EXPECT_EQ(m.portal, "portal");
  EXPECT_EQ(m.max_rows, 100);
  EXPECT_EQ(encoded([](bytes& out) { write_execute(out, execute{"", 0}); }),
            from_hex("45 00000009 00 00000000"));
}

TEST(close, statement_and_portal) {
  for (const char kind : {'S', 'P'}) {
    const bytes wire = encoded([&](bytes& out) { write_close(out, close{kind, "name"}); });
    const owned_frame fr = check_frontend<close>(wire);
    const auto m = decoded_frontend<close>(fr);
    EXPECT_EQ(m.kind, kind);
    EXPECT_EQ(m.name, "name");
  }
  const bytes body = from_hex("58 00");
  EXPECT_EQ(error_of(decode_frontend(frame{'C', body, 7})), errc::malformed_body);
}

TEST(sync_flush, golden_bytes_and_round_trip) {
  const bytes s = encoded([](bytes& out) { write_sync(out); });
  EXPECT_EQ(s, from_hex("53 00000004"));
  check_frontend<sync>(s);
  const bytes h = encoded([](bytes& out) { write_flush(out); });
  EXPECT_EQ(h, from_hex("48 00000004"));
  check_frontend<flush>(h);
}

TEST(extended_query, a_pipeline_split_at_every_byte) {
  // Parse/Bind/Describe/Execute/Sync as libpq's PQexecParams sends them, in one stream.
  bytes wire;
  write_parse(wire, parse{"", "SELECT $1", {}});
  write_bind(wire, sample_bind());
  write_describe(wire, describe{'P', ""});
  write_execute(wire, execute{"", 0});
  write_sync(wire);
  expect_split_invariant(direction::frontend, wire);
  feeder f{direction::frontend};
  ASSERT_TRUE(f.push(wire));
  ASSERT_EQ(f.frames().size(), 5u);
  bytes again;
  for (const auto& fr : f.frames()) {
    auto m = decode_frontend(fr.view());
    ASSERT_TRUE(m.has_value()) << fr.type;
    write_frontend(again, *m);
  }
  EXPECT_EQ(again, wire);
}

}  // namespace
}  // namespace dw::protocol::test
