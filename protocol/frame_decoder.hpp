// Finds message boundaries in a v3 byte stream and enforces size limits. It owns no bytes,
// does no I/O and never consumes: the caller drops `wire_size` bytes after handling a frame,
// so a partial frame costs nothing (STYLE.md 3, 14, 19, 20).
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "protocol/errc.hpp"
#include "protocol/message_types.hpp"

namespace dw::protocol {

struct limits {
  std::size_t max_startup = 10'000;    ///< as PostgreSQL's PQ_SMALL_MESSAGE_LIMIT
  std::size_t max_small = 10'000;      ///< control messages (Sync, Execute, ReadyForQuery, ...)
  std::size_t max_message = 64u << 20; ///< messages that carry user data (configurable)
};

/// The type byte and length of the frame at the front of the input.
struct frame_header {
  char type;               ///< '\0' for untyped startup-family packets
  std::size_t body_size;   ///< bytes after the header
  std::size_t header_size; ///< 5 for typed messages, 4 for startup-family packets
  [[nodiscard]] std::size_t wire_size() const noexcept { return header_size + body_size; }
};

/// One complete frame at the front of the input; views the caller's buffer.
struct frame {
  char type;
  std::span<const std::byte> body;
  std::size_t wire_size;
};

class frame_decoder {
 public:
  /// Frontend decoders start expecting an untyped startup packet; backend ones never do.
  explicit frame_decoder(direction dir, limits lim = {}) noexcept;

  /// Validates the header at the front of `in`: nullopt when fewer header bytes are present.
  [[nodiscard]] result<std::optional<frame_header>> peek_header(
      std::span<const std::byte> in) const noexcept;

  /// A complete frame, nullopt when more bytes are needed, or an error.
  [[nodiscard]] result<std::optional<frame>> next(std::span<const std::byte> in) const noexcept;

  /// After SSLRequest/GSSENCRequest was answered the client sends another startup packet.
  void expect_startup_packet() noexcept { startup_phase_ = true; }
  /// After the StartupMessage every frame is typed.
  void expect_typed_messages() noexcept { startup_phase_ = false; }
  [[nodiscard]] bool expecting_startup_packet() const noexcept { return startup_phase_; }
  [[nodiscard]] direction dir() const noexcept { return dir_; }
  [[nodiscard]] const limits& size_limits() const noexcept { return limits_; }

 private:
  direction dir_;
  limits limits_;
  bool startup_phase_;
};

/// Reads a big-endian int32 from the first four bytes (caller checks the size).
[[nodiscard]] inline std::uint32_t load_be32(const std::byte* p) noexcept {
  return (std::uint32_t{std::to_integer<std::uint8_t>(p[0])} << 24) |
         (std::uint32_t{std::to_integer<std::uint8_t>(p[1])} << 16) |
         (std::uint32_t{std::to_integer<std::uint8_t>(p[2])} << 8) |
         std::uint32_t{std::to_integer<std::uint8_t>(p[3])};
}

}  // namespace dw::protocol
