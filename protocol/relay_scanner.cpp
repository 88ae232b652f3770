#include "protocol/relay_scanner.hpp"

#include <algorithm>

namespace dw::protocol {

relay_scanner::relay_scanner(frame_decoder decoder, std::span<const char> inspected,
                             std::size_t max_inspected) noexcept
    : decoder_{decoder}, max_inspected_{max_inspected} {
  for (char t : inspected) inspected_.set(static_cast<unsigned char>(t));
}

void relay_scanner::set_inspected(std::span<const char> types, bool all_but,
                                  bool stream_oversized) noexcept {
  inspected_.reset();
  if (all_but) inspected_.set();
  for (char t : types) inspected_.set(static_cast<unsigned char>(t), !all_but);
  stream_oversized_ = stream_oversized;
}

result<scan_step> relay_scanner::next(std::span<const std::byte> in) noexcept {
  using k = scan_step::kind;
  if (remaining_ > 0) {
    const std::size_t n = std::min(remaining_, in.size());
    remaining_ -= n;
    return scan_step{k::passthrough, n};
  }
  auto header = decoder_.peek_header(in);
  if (!header) return header.error();
  if (!*header) return scan_step{k::need_more, in.size()};
  const frame_header& h = **header;
  const bool inspect = h.header_size == 4 || inspected_.test(static_cast<unsigned char>(h.type));
  if (inspect && h.body_size > max_inspected_ && !stream_oversized_) return errc::message_too_large;
  if (inspect && h.body_size <= max_inspected_) {
    if (in.size() < h.wire_size()) return scan_step{k::need_more, in.size()};
    return scan_step{k::message, h.wire_size(),
                     frame{h.type, in.subspan(h.header_size, h.body_size), h.wire_size()}};
  }
  const std::size_t n = std::min(h.wire_size(), in.size());
  streamed_type_ = h.type;
  remaining_ = h.wire_size() - n;
  return scan_step{k::passthrough, n};
}

}  // namespace dw::protocol
