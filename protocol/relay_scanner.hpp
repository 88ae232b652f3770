// Splits a relayed byte stream into what can be forwarded untouched and the few messages the
// session must see whole (ReadyForQuery, ErrorResponse, ...). Messages of other types are
// streamed through as bytes arrive, however large, so a 1 GB DataRow never gets buffered
// (pgbouncer's sbuf idea; STYLE.md 4). Pure: no I/O, no allocation.
#pragma once

#include <bitset>
#include <cstddef>
#include <span>

#include "protocol/frame_decoder.hpp"

namespace dw::protocol {

struct scan_step {
  enum class kind : std::uint8_t {
    passthrough,  ///< forward `size` bytes; no need to look at them
    message,      ///< a whole inspected message of `size` bytes; `message` views it
    need_more,    ///< the rest of the input is an incomplete inspected message (or header)
  };
  kind what;
  std::size_t size = 0;
  frame message{};
};

class relay_scanner {
 public:
  /// `inspected` lists the type bytes the session wants whole; their size is capped by
  /// `max_inspected`. Other types are limited only by the decoder's limits.
  relay_scanner(frame_decoder decoder, std::span<const char> inspected,
                std::size_t max_inspected) noexcept;

  /// Changes which types are inspected (between messages). With `all_but`, every type except
  /// those listed is inspected; `stream_oversized` streams an inspected message larger than
  /// max_inspected instead of failing (the caller sees it as passthrough steps).
  void set_inspected(std::span<const char> types, bool all_but, bool stream_oversized) noexcept;
  /// The type byte of the streamed message the last passthrough step began ('\0' if none).
  [[nodiscard]] char streamed_type() const noexcept { return streamed_type_; }

  /// Classifies the bytes at the front of `in` (which must start where the previous step
  /// ended). Errors are fatal for the stream: it is out of sync.
  [[nodiscard]] result<scan_step> next(std::span<const std::byte> in) noexcept;

  /// True between messages: no streamed message is half forwarded.
  [[nodiscard]] bool at_message_boundary() const noexcept { return remaining_ == 0; }

  [[nodiscard]] frame_decoder& decoder() noexcept { return decoder_; }

 private:
  frame_decoder decoder_;
  std::bitset<256> inspected_;
  std::size_t max_inspected_;
  std::size_t remaining_ = 0;  // bytes of a streamed message still to pass through
  bool stream_oversized_ = false;
  char streamed_type_ = 0;
};

}  // namespace dw::protocol
