#include "protocol/frame_decoder.hpp"

namespace dw::protocol {

frame_decoder::frame_decoder(direction dir, limits lim) noexcept
    : dir_{dir}, limits_{lim}, startup_phase_{dir == direction::frontend} {}

result<std::optional<frame_header>> frame_decoder::peek_header(
    std::span<const std::byte> in) const noexcept {
  if (startup_phase_) {
    // Startup-family packets: int32 length (including itself), then an int32 request code.
    if (in.size() < 4) return std::optional<frame_header>{};
    const std::uint32_t len = load_be32(in.data());
    if (len < 8) return errc::length_too_small;
    if (len > limits_.max_startup) return errc::message_too_large;
    return std::optional<frame_header>{frame_header{'\0', len - 4, 4}};
  }
  if (in.size() < 5) return std::optional<frame_header>{};
  const char type = static_cast<char>(in[0]);
  const std::uint32_t len = load_be32(in.data() + 1);
  if (len < 4) return errc::length_too_small;
  std::size_t cap = 0;
  switch (classify_type(dir_, type)) {
    case size_class::unknown: return errc::unknown_message_type;
    case size_class::small: cap = limits_.max_small; break;
    case size_class::large: cap = limits_.max_message; break;
  }
  // The declared length is checked before anything is buffered (STYLE.md 19).
  if (len - 4 > cap) return errc::message_too_large;
  return std::optional<frame_header>{frame_header{type, len - 4, 5}};
}

result<std::optional<frame>> frame_decoder::next(std::span<const std::byte> in) const noexcept {
  auto header = peek_header(in);
  if (!header) return header.error();
  if (!*header || in.size() < (*header)->wire_size()) return std::optional<frame>{};
  const frame_header& h = **header;
  return std::optional<frame>{frame{h.type, in.subspan(h.header_size, h.body_size), h.wire_size()}};
}

}  // namespace dw::protocol
