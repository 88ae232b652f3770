// Encodes messages into a caller-owned byte vector: begin() reserves the length field,
// finish() patches it (PostgreSQL's pq_beginmessage/pq_endmessage). Nothing is sent here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace dw::protocol {

class message_writer {
 public:
  explicit message_writer(std::vector<std::byte>& out) noexcept : out_{out} {}

  /// Starts a message; type '\0' starts an untyped startup-family packet.
  message_writer& begin(char type);
  message_writer& u8(std::uint8_t v);
  message_writer& i16(std::int16_t v);
  message_writer& i32(std::int32_t v);
  /// Appends the bytes of `s` and a terminating NUL.
  message_writer& cstr(std::string_view s);
  message_writer& bytes(std::span<const std::byte> b);
  message_writer& bytes(std::string_view b);
  /// Writes the big-endian length of the message started by begin().
  void finish();

 private:
  std::vector<std::byte>& out_;
  std::size_t length_at_ = 0;
};

}  // namespace dw::protocol
