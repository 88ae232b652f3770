// A bounded cursor over one frame body, the no-exception twin of PostgreSQL's pqformat.c
// (pq_getmsgint, pq_getmsgstring, pq_getmsgbytes, pq_getmsgend). Every read is checked; the first
// failure is sticky, later reads return empty values, and finish() reports it. Getters return
// views into the body, so a decoded message must not outlive the caller's buffer.
// Counts are read before anything is allocated and bounded by the bytes left (count16/count32).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "protocol/errc.hpp"
#include "protocol/frame_decoder.hpp"

namespace dw::protocol {

class message_reader {
 public:
  explicit message_reader(std::span<const std::byte> body) noexcept : rest_{body} {}

  [[nodiscard]] std::size_t remaining() const noexcept { return rest_.size(); }
  /// True when every byte was consumed (pq_getmsgend's condition).
  [[nodiscard]] bool at_end() const noexcept { return rest_.empty(); }
  [[nodiscard]] bool ok() const noexcept { return error_ == errc{}; }
  [[nodiscard]] errc error() const noexcept { return error_; }

  /// Records `e` unless an earlier failure is already recorded; stops all further reads.
  void fail(errc e) noexcept {
    if (ok()) error_ = e;
    rest_ = {};
  }

  [[nodiscard]] std::uint8_t u8() noexcept {
    const auto b = take(1);
    return b.empty() ? 0 : std::to_integer<std::uint8_t>(b[0]);
  }

  [[nodiscard]] std::uint16_t u16() noexcept {
    const auto b = take(2);
    if (b.empty()) return 0;
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(b[0]) << 8) |
                                      std::to_integer<unsigned>(b[1]));
  }
  [[nodiscard]] std::int16_t i16() noexcept { return static_cast<std::int16_t>(u16()); }

  [[nodiscard]] std::uint32_t u32() noexcept {
    const auto b = take(4);
    return b.empty() ? 0 : load_be32(b.data());
  }
  [[nodiscard]] std::int32_t i32() noexcept { return static_cast<std::int32_t>(u32()); }

  /// A NUL-terminated string; the NUL is consumed but not part of the view (pq_getmsgstring).
  [[nodiscard]] std::string_view cstr() noexcept {
    const void* nul = rest_.empty() ? nullptr : std::memchr(rest_.data(), 0, rest_.size());
    if (nul == nullptr) {
      fail(errc::malformed_body);
      return {};
    }
    const auto len = static_cast<std::size_t>(static_cast<const std::byte*>(nul) - rest_.data());
    const std::string_view s{reinterpret_cast<const char*>(rest_.data()), len};
    rest_ = rest_.subspan(len + 1);
    return s;
  }

  /// Exactly `n` raw bytes (pq_getmsgbytes).
  [[nodiscard]] std::span<const std::byte> bytes(std::size_t n) noexcept { return take(n); }

  /// An Int32 length followed by that many bytes; length -1 means SQL NULL. Any other negative
  /// length is malformed, as in PostgreSQL's exec_bind_message.
  [[nodiscard]] std::optional<std::span<const std::byte>> nullable_bytes() noexcept {
    const std::int32_t len = i32();
    if (!ok()) return std::nullopt;
    if (len == -1) return std::nullopt;
    if (len < 0) {
      fail(errc::malformed_body);
      return std::nullopt;
    }
    return take(static_cast<std::size_t>(len));
  }

  /// A 16-bit item count. The docs say Int16, but PostgreSQL reads it with pq_getmsgint(msg, 2)
  /// and libpq writes up to 65535 parameters (PQ_QUERY_PARAM_MAX_LIMIT), so it is unsigned.
  /// Fails when the items could not fit in what is left, each taking at least `min_item_size`.
  [[nodiscard]] std::size_t count16(std::size_t min_item_size) noexcept {
    return bounded(u16(), min_item_size);
  }

  /// A 32-bit item count: negative, above `max_items`, or not fitting what is left fails.
  [[nodiscard]] std::size_t count32(std::size_t min_item_size, std::size_t max_items) noexcept {
    const std::int32_t n = i32();
    if (n < 0 || static_cast<std::size_t>(n) > max_items) {
      fail(errc::malformed_body);
      return 0;
    }
    return bounded(static_cast<std::size_t>(n), min_item_size);
  }

  /// Everything not yet read.
  [[nodiscard]] std::span<const std::byte> rest() noexcept { return take(rest_.size()); }

  /// `value` when every read succeeded and the body was fully consumed; the first error,
  /// or errc::trailing_bytes otherwise.
  template <class T>
  [[nodiscard]] result<T> finish(T value) const {
    if (!ok()) return error_;
    if (!at_end()) return errc::trailing_bytes;
    return result<T>{std::move(value)};
  }

 private:
  std::span<const std::byte> take(std::size_t n) noexcept {
    if (n > rest_.size()) {
      fail(errc::malformed_body);
      return {};
    }
    const auto head = rest_.first(n);
    rest_ = rest_.subspan(n);
    return head;
  }

  std::size_t bounded(std::size_t n, std::size_t min_item_size) noexcept {
    // Every item takes at least one byte, so a count never allocates more than the body holds.
    if (!ok()) return 0;
    if (n > rest_.size() / (min_item_size == 0 ? 1 : min_item_size)) {
      fail(errc::malformed_body);
      return 0;
    }
    return n;
  }

  std::span<const std::byte> rest_;
  errc error_{};
};

}  // namespace dw::protocol
