// Reads whole frames from a stream during handshakes (startup, TLS negotiation, auth), where
// messages are small and few. The relay's hot path does not use this: it streams with
// protocol::relay_scanner instead.
#pragma once

#include <vector>

#include "protocol/frame_decoder.hpp"
#include "proxy/stream.hpp"

namespace dw::proxy {

class framed_reader {
 public:
  framed_reader(stream& io, protocol::frame_decoder decoder) : io_{io}, decoder_{decoder} {}

  /// The next complete frame; it views this reader's buffer until consume() is called.
  [[nodiscard]] awaitable<boost::system::result<protocol::frame>> next();
  void consume(const protocol::frame& f);
  [[nodiscard]] protocol::frame_decoder& decoder() noexcept { return decoder_; }
  /// Bytes received after the last consumed frame (a pipelining peer); empties the reader.
  [[nodiscard]] std::vector<std::byte> take_leftover() noexcept { return std::move(buffer_); }

 private:
  stream& io_;
  protocol::frame_decoder decoder_;
  std::vector<std::byte> buffer_;
};

}  // namespace dw::proxy
