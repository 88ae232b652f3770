// message_reader: every read is bounds checked, the first failure sticks, counts are bounded by
// the bytes left before anything is allocated, and finish() enforces full consumption.
#include "protocol/message_reader.hpp"

#include <gtest/gtest.h>

#include "tests/protocol/codec_test_util.hpp"

namespace dw::protocol::test {
namespace {

TEST(message_reader, reads_big_endian_integers) {
  const bytes body = from_hex("7f 8001 ffff 12345678 fffffffe");
  message_reader r{body};
  EXPECT_EQ(r.u8(), 0x7f);
  EXPECT_EQ(r.u16(), 0x8001);
  EXPECT_EQ(r.i16(), -1);
  EXPECT_EQ(r.u32(), 0x12345678u);
  EXPECT_EQ(r.i32(), -2);
  EXPECT_TRUE(r.at_end());
  EXPECT_TRUE(r.ok());
}

TEST(message_reader, cstr_views_the_body_and_consumes_the_nul) {
  const bytes body = to_bytes(std::string_view{"abc\0\0z", 6});
  message_reader r{body};
  const std::string_view s = r.cstr();
  EXPECT_EQ(s, "abc");
  EXPECT_EQ(static_cast<const void*>(s.data()), static_cast<const void*>(body.data()));
  EXPECT_EQ(r.cstr(), "");
  EXPECT_EQ(r.remaining(), 1u);
  EXPECT_TRUE(r.ok());
}

TEST(message_reader, cstr_without_nul_fails) {
  const bytes body = to_bytes("abc");
  message_reader r{body};
  EXPECT_EQ(r.cstr(), "");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), errc::malformed_body);
}

TEST(message_reader, short_reads_fail_and_the_first_error_sticks) {
  const bytes body = from_hex("0102 03");
  message_reader r{body};
  EXPECT_EQ(r.i32(), 0);
  EXPECT_EQ(r.error(), errc::malformed_body);
  r.fail(errc::trailing_bytes);
  EXPECT_EQ(r.error(), errc::malformed_body);
  EXPECT_EQ(r.u8(), 0) << "reads after a failure return empty values";
  EXPECT_EQ(error_of(r.finish(1)), errc::malformed_body);
}

TEST(message_reader, every_integer_width_fails_one_byte_short) {
  for (std::size_t width : {1u, 2u, 4u}) {
    const bytes body(width - 1, std::byte{0xff});
    message_reader r{body};
    switch (width) {
      case 1: (void)r.u8(); break;
      case 2: (void)r.u16(); break;
      default: (void)r.u32(); break;
    }
    EXPECT_EQ(r.error(), errc::malformed_body) << width;
  }
}

TEST(message_reader, bytes_and_rest) {
  const bytes body = from_hex("01 02 03 04");
  message_reader r{body};
  EXPECT_EQ(r.bytes(0).size(), 0u);
  EXPECT_EQ(r.bytes(1).size(), 1u);
  EXPECT_EQ(r.rest().size(), 3u);
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(r.rest().size(), 0u);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.bytes(1).empty());
  EXPECT_EQ(r.error(), errc::malformed_body);
}

TEST(message_reader, nullable_bytes_null_empty_and_value) {
  const bytes body = from_hex("ffffffff 00000000 00000002 abcd");
  message_reader r{body};
  EXPECT_FALSE(r.nullable_bytes().has_value());
  auto empty = r.nullable_bytes();
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
  auto two = r.nullable_bytes();
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(two->size(), 2u);
  EXPECT_TRUE(r.finish(0).has_value());
}

TEST(message_reader, nullable_bytes_rejects_other_negative_lengths) {
  for (const char* len : {"fffffffe", "80000000"}) {
    const bytes body = from_hex(len);
    message_reader r{body};
    EXPECT_FALSE(r.nullable_bytes().has_value());
    EXPECT_EQ(r.error(), errc::malformed_body) << len;
  }
}

TEST(message_reader, nullable_bytes_rejects_lengths_past_the_end) {
  const bytes body = from_hex("7fffffff 00");
  message_reader r{body};
  (void)r.nullable_bytes();
  EXPECT_EQ(r.error(), errc::malformed_body);
}

TEST(message_reader, count16_is_unsigned) {
  // libpq sends up to 65535 parameters; the docs' Int16 would make 40000 negative.
  bytes body = from_hex("9c40");
  body.resize(2 + 40000 * 2);
  message_reader r{body};
  EXPECT_EQ(r.count16(2), 40000u);
  EXPECT_TRUE(r.ok());
}

TEST(message_reader, count16_is_bounded_by_the_bytes_left) {
  const bytes body = from_hex("ffff 00000000");
  message_reader r{body};
  EXPECT_EQ(r.count16(4), 0u);
  EXPECT_EQ(r.error(), errc::malformed_body);

  const bytes exact = from_hex("0002 0000 0000");
  message_reader ok{exact};
  EXPECT_EQ(ok.count16(2), 2u);
  EXPECT_TRUE(ok.ok());
}

TEST(message_reader, count32_rejects_negative_and_absurd_counts) {
  for (const char* hex : {"ffffffff 00", "00000005 0000", "00000003 000000"}) {
    const bytes body = from_hex(hex);
    message_reader r{body};
    EXPECT_EQ(r.count32(1, 2), 0u) << hex;
    EXPECT_EQ(r.error(), errc::malformed_body) << hex;
  }
  const bytes body = from_hex("00000002 0000");
  message_reader r{body};
  EXPECT_EQ(r.count32(1, 2), 2u);
}

TEST(message_reader, finish_reports_trailing_bytes) {
  const bytes body = from_hex("00 01");
  message_reader r{body};
  (void)r.u8();
  EXPECT_EQ(error_of(r.finish(0)), errc::trailing_bytes);
  (void)r.u8();
  auto done = r.finish(42);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(*done, 42);
}

TEST(message_reader, empty_body) {
  message_reader r{std::span<const std::byte>{}};
  EXPECT_TRUE(r.at_end());
  EXPECT_TRUE(r.finish(0).has_value());
  (void)r.u8();
  EXPECT_EQ(r.error(), errc::malformed_body);
}

}  // namespace
}  // namespace dw::protocol::test
