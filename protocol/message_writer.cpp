#include "protocol/message_writer.hpp"

#include <cassert>

namespace dw::protocol {
namespace {

void put_be32(std::byte* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::byte>(v >> 24);
  p[1] = static_cast<std::byte>(v >> 16);
  p[2] = static_cast<std::byte>(v >> 8);
  p[3] = static_cast<std::byte>(v);
}

}  // namespace

message_writer& message_writer::begin(char type) {
  if (type != '\0') out_.push_back(static_cast<std::byte>(type));
  length_at_ = out_.size();
  out_.resize(out_.size() + 4);
  return *this;
}

message_writer& message_writer::u8(std::uint8_t v) {
  out_.push_back(static_cast<std::byte>(v));
  return *this;
}

message_writer& message_writer::i16(std::int16_t v) {
  const auto u = static_cast<std::uint16_t>(v);
  out_.push_back(static_cast<std::byte>(u >> 8));
  out_.push_back(static_cast<std::byte>(u));
  return *this;
}

message_writer& message_writer::i32(std::int32_t v) {
  const std::size_t at = out_.size();
  out_.resize(at + 4);
  put_be32(out_.data() + at, static_cast<std::uint32_t>(v));
  return *this;
}

message_writer& message_writer::cstr(std::string_view s) {
  // An embedded NUL would end the string early on the peer and shift every later field.
  assert(s.find('\0') == std::string_view::npos);
  bytes(s);
  out_.push_back(std::byte{0});
  return *this;
}

message_writer& message_writer::bytes(std::span<const std::byte> b) {
  out_.insert(out_.end(), b.begin(), b.end());
  return *this;
}

message_writer& message_writer::bytes(std::string_view b) {
  return bytes(std::as_bytes(std::span{b.data(), b.size()}));
}

void message_writer::finish() {
  assert(out_.size() >= length_at_ + 4);
  put_be32(out_.data() + length_at_, static_cast<std::uint32_t>(out_.size() - length_at_));
}

}  // namespace dw::protocol
