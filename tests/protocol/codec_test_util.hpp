// Helpers shared by the codec tests: byte builders, a stream feeder that drives frame_decoder the
// way a session does (append, drain whole frames, consume), and check_codec(), which runs the
// systematic checks of STYLE.md 39 on one encoded message: decode, re-encode to the same bytes,
// every split point, every truncation, one trailing byte.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/backend_messages.hpp"
#include "protocol/frame_decoder.hpp"
#include "protocol/frontend_messages.hpp"

namespace dw::protocol {
/// Lets gtest print errc by name in failure messages (found by ADL).
inline void PrintTo(errc e, std::ostream* os) {
  *os << "errc(" << static_cast<int>(e) << ": " << make_error_code(e).message() << ")";
}
}  // namespace dw::protocol

namespace dw::protocol::test {

using bytes = std::vector<std::byte>;

/// Hex digits, whitespace ignored: from_hex("5a 00000005 49").
inline bytes from_hex(std::string_view hex) {
  bytes out;
  int high = -1;
  for (const char c : hex) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) continue;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::byte>(high * 16 + v));
      high = -1;
    }
  }
  EXPECT_LT(high, 0) << "odd number of hex digits";
  return out;
}

inline bytes to_bytes(std::string_view s) {
  const auto b = std::as_bytes(std::span{s.data(), s.size()});
  return {b.begin(), b.end()};
}

inline std::string_view as_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

inline bytes concat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

/// A frame whose body the test owns.
struct owned_frame {
  char type;
  bytes body;
  [[nodiscard]] frame view() const { return frame{type, body, body.size() + (type ? 5 : 4)}; }
};

/// Drives a frame_decoder like a session: append bytes, take every complete frame, consume it.
/// Switches to typed messages after a StartupMessage, as the proxy does.
class feeder {
 public:
  explicit feeder(direction dir, bool startup = false, limits lim = {}) : decoder_{dir, lim} {
    if (!startup) decoder_.expect_typed_messages();
  }

  /// Appends `chunk` and drains; false (and error()) when the decoder rejected the stream.
  bool push(std::span<const std::byte> chunk) {
    buffer_.insert(buffer_.end(), chunk.begin(), chunk.end());
    for (;;) {
      auto next = decoder_.next(buffer_);
      if (!next) {
        error_ = next.error();
        return false;
      }
      if (!*next) return true;
      const frame& f = **next;
      frames_.push_back({f.type, bytes(f.body.begin(), f.body.end())});
      if (f.type == '\0' && f.body.size() >= 4 &&
          static_cast<std::int32_t>(load_be32(f.body.data())) >> 16 == 3) {
        decoder_.expect_typed_messages();
      }
      buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(f.wire_size));
    }
  }

  [[nodiscard]] const std::vector<owned_frame>& frames() const { return frames_; }
  [[nodiscard]] std::size_t buffered() const { return buffer_.size(); }
  [[nodiscard]] boost::system::error_code error() const { return error_; }

 private:
  frame_decoder decoder_;
  bytes buffer_;
  std::vector<owned_frame> frames_;
  boost::system::error_code error_;
};

/// Exactly one frame spanning all of `wire`.
inline owned_frame single_frame(direction dir, const bytes& wire, bool startup = false) {
  feeder f{dir, startup};
  EXPECT_TRUE(f.push(wire)) << f.error().message();
  EXPECT_EQ(f.frames().size(), 1u);
  EXPECT_EQ(f.buffered(), 0u);
  return f.frames().empty() ? owned_frame{} : f.frames().front();
}

/// Feeds `wire` in two chunks split at every position and byte by byte: each way must yield
/// the same frames as feeding it whole, and nothing before the last byte of a frame arrives.
inline void expect_split_invariant(direction dir, const bytes& wire, bool startup = false) {
  feeder whole{dir, startup};
  ASSERT_TRUE(whole.push(wire)) << whole.error().message();
  ASSERT_EQ(whole.buffered(), 0u);
  for (std::size_t at = 0; at <= wire.size(); ++at) {
    feeder split{dir, startup};
    ASSERT_TRUE(split.push(std::span{wire}.first(at)));
    ASSERT_TRUE(split.push(std::span{wire}.subspan(at)));
    ASSERT_EQ(split.frames().size(), whole.frames().size()) << "split at " << at;
    for (std::size_t i = 0; i < whole.frames().size(); ++i) {
      EXPECT_EQ(split.frames()[i].type, whole.frames()[i].type);
      EXPECT_EQ(split.frames()[i].body, whole.frames()[i].body);
    }
  }
  feeder bytewise{dir, startup};
  std::size_t frames_seen = 0;
  std::size_t expected_end = 0;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    ASSERT_TRUE(bytewise.push(std::span{wire}.subspan(i, 1)));
    if (bytewise.frames().size() > frames_seen) {
      ASSERT_EQ(bytewise.frames().size(), frames_seen + 1) << "two frames from one byte";
      const auto& fr = bytewise.frames().back();
      expected_end += fr.body.size() + (fr.type ? 5 : 4);
      EXPECT_EQ(expected_end, i + 1) << "frame completed early or late";
      ++frames_seen;
    }
  }
  EXPECT_EQ(frames_seen, whole.frames().size());
}

inline result<frontend_message> decode(direction, const owned_frame& f, frontend_message*) {
  return decode_frontend(f.view());
}
inline result<backend_message> decode(direction, const owned_frame& f, backend_message*) {
  return decode_backend(f.view());
}

/// The errc of a failed result, errc{} on success (and an impossible value for foreign errors).
template <class T>
errc error_of(const result<T>& r) {
  if (r.has_value()) return errc{};
  if (r.error().category() != protocol_category()) return static_cast<errc>(-1);
  return static_cast<errc>(r.error().value());
}

/// How the body may be cut: open bodies ("the rest is data") accept any suffix.
enum class body_kind { closed, open };

/// The systematic checks for one encoded message of type Msg. Returns the owned frame so the
/// caller can decode it again and look at fields.
template <class Variant, class Msg>
owned_frame check_codec(const bytes& wire, body_kind kind = body_kind::closed) {
  constexpr bool is_frontend = std::is_same_v<Variant, frontend_message>;
  const direction dir = is_frontend ? direction::frontend : direction::backend;
  const bool startup = is_frontend && !wire.empty() && wire[0] == std::byte{0};
  const owned_frame fr = single_frame(dir, wire, startup);

  auto decoded = decode(dir, fr, static_cast<Variant*>(nullptr));
  EXPECT_TRUE(decoded.has_value()) << (decoded ? "" : decoded.error().message());
  if (!decoded) return fr;
  EXPECT_TRUE(std::holds_alternative<Msg>(*decoded));

  bytes again;
  if constexpr (is_frontend) {
    write_frontend(again, *decoded);
  } else {
    write_backend(again, *decoded);
  }
  EXPECT_EQ(again, wire) << "decode→encode changed the bytes";

  expect_split_invariant(dir, wire, startup);

  if (kind == body_kind::closed) {
    for (std::size_t len = 0; len < fr.body.size(); ++len) {
      const owned_frame cut{fr.type, bytes(fr.body.begin(), fr.body.begin() + len)};
      auto r = decode(dir, cut, static_cast<Variant*>(nullptr));
      EXPECT_EQ(error_of(r), errc::malformed_body)
          << "body cut to " << len << " of " << fr.body.size();
    }
    owned_frame longer = fr;
    longer.body.push_back(std::byte{'x'});
    auto r = decode(dir, longer, static_cast<Variant*>(nullptr));
    EXPECT_EQ(error_of(r), errc::trailing_bytes);
  }
  return fr;
}

template <class Msg>
owned_frame check_frontend(const bytes& wire, body_kind kind = body_kind::closed) {
  return check_codec<frontend_message, Msg>(wire, kind);
}
template <class Msg>
owned_frame check_backend(const bytes& wire, body_kind kind = body_kind::closed) {
  return check_codec<backend_message, Msg>(wire, kind);
}

/// Decodes `fr` as a Msg. The result views fr.body, so rvalue frames are refused at compile time.
template <class Msg>
Msg decoded_frontend(const owned_frame& fr) {
  auto m = decode_frontend(fr.view());
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().message());
  EXPECT_TRUE(m && std::holds_alternative<Msg>(*m));
  return m && std::holds_alternative<Msg>(*m) ? std::get<Msg>(*m) : Msg{};
}
template <class Msg>
Msg decoded_frontend(owned_frame&&) = delete;

template <class Msg>
Msg decoded_backend(const owned_frame& fr) {
  auto m = decode_backend(fr.view());
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().message());
  EXPECT_TRUE(m && std::holds_alternative<Msg>(*m));
  return m && std::holds_alternative<Msg>(*m) ? std::get<Msg>(*m) : Msg{};
}
template <class Msg>
Msg decoded_backend(owned_frame&&) = delete;

/// Encodes with `write` into a fresh vector.
template <class Write>
bytes encoded(Write&& write) {
  bytes out;
  write(out);
  return out;
}

}  // namespace dw::protocol::test
