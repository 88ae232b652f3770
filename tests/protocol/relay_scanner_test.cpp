// relay_scanner: streamed types pass through at any split, inspected ones arrive whole.
#include "protocol/relay_scanner.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "protocol/message_writer.hpp"

namespace dw::protocol {
namespace {

constexpr std::array<char, 2> inspected{'Z', 'E'};

std::vector<std::byte> sample_stream() {
  std::vector<std::byte> out;
  message_writer w{out};
  w.begin('T').i16(1).cstr("x").i32(0).i16(0).i32(23).i16(4).i32(-1).i16(0).finish();
  for (int i = 0; i < 50; ++i) w.begin('D').i16(1).i32(3).bytes(std::string_view{"abc"}).finish();
  w.begin('C').cstr("SELECT 50").finish();
  w.begin('Z').u8('I').finish();
  return out;
}

struct totals {
  std::size_t passthrough = 0;
  std::vector<char> messages;
};

// Feeds `stream` in chunks of `chunk` bytes, carrying incomplete inspected tails as a proxy does.
totals scan_in_chunks(const std::vector<std::byte>& stream, std::size_t chunk) {
  relay_scanner scanner{frame_decoder{direction::backend}, inspected, 1024};
  totals t;
  std::vector<std::byte> carry;
  for (std::size_t off = 0; off < stream.size(); off += chunk) {
    const std::size_t n = std::min(chunk, stream.size() - off);
    carry.insert(carry.end(), stream.begin() + static_cast<std::ptrdiff_t>(off),
                 stream.begin() + static_cast<std::ptrdiff_t>(off + n));
    std::span<const std::byte> view{carry};
    for (;;) {
      auto step = scanner.next(view);
      EXPECT_TRUE(step.has_value());
      if (!step || step->what == scan_step::kind::need_more) break;
      if (step->what == scan_step::kind::passthrough) t.passthrough += step->size;
      if (step->what == scan_step::kind::message) t.messages.push_back(step->message.type);
      view = view.subspan(step->size);
      if (view.empty()) break;
    }
    carry.erase(carry.begin(), carry.end() - static_cast<std::ptrdiff_t>(view.size()));
  }
  EXPECT_TRUE(carry.empty());
  EXPECT_TRUE(scanner.at_message_boundary());
  return t;
}

TEST(relay_scanner, every_split_size_yields_the_same_result) {
  const auto stream = sample_stream();
  const std::size_t ready_size = 6;  // 'Z' + int32 length + status
  for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    const totals t = scan_in_chunks(stream, chunk);
    ASSERT_EQ(t.passthrough, stream.size() - ready_size) << "chunk " << chunk;
    ASSERT_EQ(t.messages, std::vector<char>{'Z'}) << "chunk " << chunk;
  }
}

TEST(relay_scanner, large_passthrough_message_is_never_buffered) {
  std::vector<std::byte> big;
  message_writer w{big};
  w.begin('D').i16(1).i32(100'000).bytes(std::vector<std::byte>(100'000)).finish();
  relay_scanner scanner{frame_decoder{direction::backend}, inspected, 1024};
  // Only the header is present: the scanner still lets those bytes through.
  auto first = scanner.next(std::span{big}.first(5));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->what, scan_step::kind::passthrough);
  EXPECT_EQ(first->size, 5u);
  EXPECT_FALSE(scanner.at_message_boundary());
  auto rest = scanner.next(std::span{big}.subspan(5));
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->size, big.size() - 5);
  EXPECT_TRUE(scanner.at_message_boundary());
}

TEST(relay_scanner, oversized_inspected_message_is_an_error) {
  std::vector<std::byte> err;
  message_writer w{err};
  w.begin('E').bytes(std::vector<std::byte>(2000)).finish();
  relay_scanner scanner{frame_decoder{direction::backend}, inspected, 1024};
  auto step = scanner.next(err);
  ASSERT_FALSE(step);
  EXPECT_EQ(step.error(), make_error_code(errc::message_too_large));
}

TEST(relay_scanner, unknown_type_is_an_error) {
  const std::array<std::byte, 5> junk{std::byte{'?'}, std::byte{0}, std::byte{0}, std::byte{0},
                                      std::byte{4}};
  relay_scanner scanner{frame_decoder{direction::backend}, inspected, 1024};
  auto step = scanner.next(junk);
  ASSERT_FALSE(step);
  EXPECT_EQ(step.error(), make_error_code(errc::unknown_message_type));
}

}  // namespace
}  // namespace dw::protocol
