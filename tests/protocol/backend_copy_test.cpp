// Backend COPY messages: CopyInResponse, CopyOutResponse, CopyBothResponse (with the docs' format
// rules), and CopyData/CopyDone, which share their struct with the frontend.
#include <gtest/gtest.h>

#include "protocol/backend_messages.hpp"
#include "tests/protocol/codec_test_util.hpp"

namespace dw::protocol::test {
namespace {

result<backend_message> decode_body(char type, const bytes& body) {
  return decode_backend(frame{type, body, body.size() + 5});
}

TEST(copy_responses, round_trip_each_kind) {
  const bytes in = encoded([](bytes& out) { write_copy_in_response(out, {0, {0, 0, 0}}); });
  EXPECT_EQ(in, from_hex("47 0000000d 00 0003 0000 0000 0000"));
  const owned_frame fi = check_backend<copy_in_response>(in);
  EXPECT_EQ(decoded_backend<copy_in_response>(fi).column_formats.size(), 3u);

  const bytes out_bin = encoded([](bytes& out) { write_copy_out_response(out, {1, {1, 0}}); });
  const owned_frame fo = check_backend<copy_out_response>(out_bin);
  const auto o = decoded_backend<copy_out_response>(fo);
  EXPECT_EQ(o.format, 1);
  EXPECT_EQ(o.column_formats, (std::vector<std::int16_t>{1, 0}));

  const bytes both = encoded([](bytes& out) { write_copy_both_response(out, {0, {}}); });
  check_backend<copy_both_response>(both);
}

TEST(copy_responses, format_rules) {
  // "If the overall copy format is textual, all must be zero"; formats are 0 or 1.
  for (const char type : {'G', 'H', 'W'}) {
    EXPECT_EQ(error_of(decode_body(type, from_hex("00 0001 0001"))), errc::malformed_body);
    EXPECT_EQ(error_of(decode_body(type, from_hex("02 0000"))), errc::malformed_body);
    EXPECT_EQ(error_of(decode_body(type, from_hex("01 0001 0002"))), errc::malformed_body);
    EXPECT_EQ(error_of(decode_body(type, from_hex("01 0002 0001"))), errc::malformed_body);
    EXPECT_TRUE(decode_body(type, from_hex("01 0001 0001")).has_value());
  }
}

TEST(copy_data, backend_direction_shares_the_struct) {
  const bytes row = to_bytes("1\tone\n");
  const bytes wire = encoded([&](bytes& out) { write_copy_data(out, {row}); });
  const owned_frame fr = check_backend<copy_data>(wire, body_kind::open);
  EXPECT_EQ(as_text(decoded_backend<copy_data>(fr).data), "1\tone\n");
}

TEST(copy_out, a_whole_copy_out_stream) {
  // COPY t TO STDOUT: CopyOutResponse, CopyData per row, CopyDone, CommandComplete, RFQ.
  bytes wire;
  write_copy_out_response(wire, {0, {0, 0}});
  const bytes r1 = to_bytes("1\tone\n");
  const bytes r2 = to_bytes("2\ttwo\n");
  write_copy_data(wire, {r1});
  write_copy_data(wire, {r2});
  write_copy_done(wire);
  write_command_complete(wire, {"COPY 2"});
  write_ready_for_query(wire, 'I');
  expect_split_invariant(direction::backend, wire);
  feeder f{direction::backend};
  ASSERT_TRUE(f.push(wire));
  ASSERT_EQ(f.frames().size(), 6u);
  bytes again;
  for (const auto& fr : f.frames()) {
    auto m = decode_backend(fr.view());
    ASSERT_TRUE(m.has_value()) << fr.type;
    write_backend(again, *m);
  }
  EXPECT_EQ(again, wire);
}

}  // namespace
}  // namespace dw::protocol::test
