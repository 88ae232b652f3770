// frame_decoder at the boundaries STYLE.md 39 names: declared lengths 0, 3, 4, the limit,
// limit+1 and 2 GB, for typed messages in both directions and for startup-family packets, plus
// multi-message streams fed at every split point.
#include "protocol/frame_decoder.hpp"

#include <gtest/gtest.h>

#include "protocol/message_writer.hpp"
#include "tests/protocol/codec_test_util.hpp"

namespace dw::protocol::test {
namespace {

bytes typed_header(char type, std::uint32_t declared) {
  bytes out{static_cast<std::byte>(type)};
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::byte>(declared >> shift));
  return out;
}

bytes startup_header(std::uint32_t declared) {
  bytes out = typed_header('\0', declared);
  out.erase(out.begin());
  return out;
}

frame_decoder typed_decoder(direction dir, limits lim = {}) {
  frame_decoder d{dir, lim};
  d.expect_typed_messages();
  return d;
}

errc next_error(const frame_decoder& d, const bytes& in) { return error_of(d.next(in)); }

TEST(frame_decoder, typed_declared_lengths_below_four_are_rejected) {
  for (const std::uint32_t declared : {0u, 1u, 3u}) {
    EXPECT_EQ(next_error(typed_decoder(direction::frontend), typed_header('S', declared)),
              errc::length_too_small)
        << declared;
    EXPECT_EQ(next_error(typed_decoder(direction::backend), typed_header('Z', declared)),
              errc::length_too_small)
        << declared;
  }
}

TEST(frame_decoder, declared_length_four_is_an_empty_body) {
  const bytes wire = typed_header('S', 4);
  auto r = typed_decoder(direction::frontend).next(wire);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->type, 'S');
  EXPECT_TRUE((*r)->body.empty());
  EXPECT_EQ((*r)->wire_size, 5u);
}

TEST(frame_decoder, fewer_than_five_bytes_need_more) {
  const bytes wire = typed_header('Q', 5);
  for (std::size_t n = 0; n < 5; ++n) {
    auto r = typed_decoder(direction::frontend).next(std::span{wire}.first(n));
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->has_value()) << n;
  }
}

TEST(frame_decoder, small_messages_at_the_limit_and_one_past) {
  const limits lim{};
  bytes at_limit = typed_header('S', static_cast<std::uint32_t>(lim.max_small + 4));
  at_limit.resize(5 + lim.max_small);
  auto ok = typed_decoder(direction::frontend).next(at_limit);
  ASSERT_TRUE(ok.has_value());
  ASSERT_TRUE(ok->has_value());
  EXPECT_EQ((*ok)->body.size(), lim.max_small);

  // One past the limit is refused from the header alone, before the body is buffered.
  const bytes past = typed_header('S', static_cast<std::uint32_t>(lim.max_small + 5));
  EXPECT_EQ(next_error(typed_decoder(direction::frontend), past), errc::message_too_large);
}

TEST(frame_decoder, large_messages_at_the_limit_and_one_past) {
  const limits lim{.max_startup = 10'000, .max_small = 100, .max_message = 1000};
  for (const auto& [dir, type] : {std::pair{direction::frontend, 'Q'}, {direction::backend, 'D'}}) {
    bytes at_limit = typed_header(type, 1004);
    EXPECT_FALSE(typed_decoder(dir, lim).next(at_limit)->has_value()) << "needs the body first";
    at_limit.resize(5 + 1000);
    EXPECT_TRUE(typed_decoder(dir, lim).next(at_limit)->has_value());
    EXPECT_EQ(next_error(typed_decoder(dir, lim), typed_header(type, 1005)),
              errc::message_too_large);
  }
}

TEST(frame_decoder, two_gigabyte_declarations_are_refused) {
  for (const std::uint32_t declared : {0x7fffffffu, 0x80000000u, 0xffffffffu}) {
    EXPECT_EQ(next_error(typed_decoder(direction::frontend), typed_header('Q', declared)),
              errc::message_too_large);
    EXPECT_EQ(next_error(typed_decoder(direction::backend), typed_header('D', declared)),
              errc::message_too_large);
    EXPECT_EQ(next_error(frame_decoder{direction::frontend}, startup_header(declared)),
              errc::message_too_large);
  }
}

TEST(frame_decoder, unknown_types_per_direction) {
  // 'Z' is ReadyForQuery from a server but means nothing from a client, and 'Q' the reverse.
  EXPECT_EQ(next_error(typed_decoder(direction::frontend), typed_header('Z', 5)),
            errc::unknown_message_type);
  EXPECT_EQ(next_error(typed_decoder(direction::backend), typed_header('Q', 5)),
            errc::unknown_message_type);
  EXPECT_EQ(next_error(typed_decoder(direction::backend), typed_header('\0', 8)),
            errc::unknown_message_type);
}

TEST(frame_decoder, startup_lengths) {
  const frame_decoder d{direction::frontend};
  for (const std::uint32_t declared : {0u, 3u, 4u, 7u}) {
    EXPECT_EQ(next_error(d, startup_header(declared)), errc::length_too_small) << declared;
  }
  const bytes ssl_header = startup_header(8);
  for (std::size_t n = 0; n < 4; ++n) {
    EXPECT_FALSE(d.next(std::span{ssl_header}.first(n))->has_value());
  }
  bytes at_limit = startup_header(10'000);
  at_limit.resize(10'000);
  auto ok = d.next(at_limit);
  ASSERT_TRUE(ok.has_value() && ok->has_value());
  EXPECT_EQ((*ok)->type, '\0');
  EXPECT_EQ((*ok)->body.size(), 9'996u);
  EXPECT_EQ(next_error(d, startup_header(10'001)), errc::message_too_large);
}

TEST(frame_decoder, backend_decoders_never_expect_startup_packets) {
  const frame_decoder d{direction::backend};
  EXPECT_FALSE(d.expecting_startup_packet());
  EXPECT_TRUE(frame_decoder{direction::frontend}.expecting_startup_packet());
}

TEST(frame_decoder, ssl_request_then_startup_then_typed_stream) {
  // A client's first bytes: SSLRequest, (the server answers 'N'), StartupMessage, Query.
  bytes wire;
  write_ssl_request(wire);
  write_startup_message(wire, {{"user", "app"}, {"database", "shop"}});
  write_query(wire, "SELECT 1");
  write_terminate(wire);
  expect_split_invariant(direction::frontend, wire, /*startup=*/true);

  feeder f{direction::frontend, /*startup=*/true};
  ASSERT_TRUE(f.push(wire));
  ASSERT_EQ(f.frames().size(), 4u);
  EXPECT_EQ(f.frames()[0].type, '\0');
  EXPECT_EQ(f.frames()[1].type, '\0');
  EXPECT_EQ(f.frames()[2].type, 'Q');
  EXPECT_EQ(f.frames()[3].type, 'X');
}

TEST(frame_decoder, oversized_frame_in_a_stream_is_rejected_at_its_header) {
  bytes wire;
  write_sync(wire);
  const bytes huge = typed_header('S', 0x7fffffff);
  wire.insert(wire.end(), huge.begin(), huge.end());
  feeder f{direction::frontend};
  EXPECT_FALSE(f.push(wire));
  EXPECT_EQ(f.error(), make_error_code(errc::message_too_large));
  EXPECT_EQ(f.frames().size(), 1u);
}

TEST(frame_decoder, frame_views_the_input_without_copying) {
  bytes wire;
  write_query(wire, "SELECT 1");
  auto r = typed_decoder(direction::frontend).next(wire);
  ASSERT_TRUE(r.has_value() && r->has_value());
  EXPECT_EQ((*r)->body.data(), wire.data() + 5);
  EXPECT_EQ((*r)->wire_size, wire.size());
}

}  // namespace
}  // namespace dw::protocol::test
