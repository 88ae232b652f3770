// libFuzzer target for frame_decoder. Input: a flags byte (bit 0 backend, bit 1 tiny limits so
// the size checks are reachable, bit 2 a client stream that skips the startup packet), a byte
// seeding chunk sizes, then the stream. The stream is framed once whole and once fed in chunks
// the way a session receives it; both must give the same frames and stop at the same error, and
// every frame must lie inside the input and respect its size class.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "protocol/backend_messages.hpp"
#include "protocol/frame_decoder.hpp"
#include "protocol/frontend_messages.hpp"

namespace {

using namespace dw::protocol;

struct seen {
  char type;
  std::size_t body_size;
  bool operator==(const seen&) const = default;
};

struct outcome {
  std::vector<seen> frames;
  boost::system::error_code error;
};

void check(bool ok) {
  if (!ok) std::abort();
}

std::size_t cap_for(const frame_decoder& d, char type) {
  const limits& lim = d.size_limits();
  if (type == '\0') return lim.max_startup - 4;
  return classify_type(d.dir(), type) == size_class::small ? lim.max_small : lim.max_message;
}

frame_decoder make_decoder(std::uint8_t flags) {
  const direction dir = (flags & 1) != 0 ? direction::backend : direction::frontend;
  const limits lim = (flags & 2) != 0 ? limits{64, 16, 128} : limits{};
  frame_decoder d{dir, lim};
  if ((flags & 4) != 0) d.expect_typed_messages();
  return d;
}

// Takes every complete frame off the front of `buf`, as a session does after each read.
void drain(frame_decoder& d, std::vector<std::byte>& buf, outcome& out) {
  std::size_t pos = 0;
  while (!out.error) {
    const std::span<const std::byte> in = std::span{buf}.subspan(pos);
    auto r = d.next(in);
    if (!r) {
      out.error = r.error();
      break;
    }
    if (!*r) break;
    const frame& f = **r;
    const std::size_t header = f.type == '\0' ? 4 : 5;
    check(f.wire_size == header + f.body.size() && f.wire_size <= in.size());
    check(f.body.data() == in.data() + header);
    check(f.body.size() <= cap_for(d, f.type));
    out.frames.push_back({f.type, f.body.size()});
    if (d.dir() == direction::frontend) {
      auto m = decode_frontend(f);
      if (m && std::holds_alternative<startup_message>(*m)) d.expect_typed_messages();
    } else {
      (void)decode_backend(f);
    }
    pos += f.wire_size;
  }
  buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(pos));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  std::uint32_t seed = data[1];
  const auto stream = std::as_bytes(std::span{data + 2, size - 2});

  frame_decoder whole_decoder = make_decoder(flags);
  std::vector<std::byte> whole_buf(stream.begin(), stream.end());
  outcome whole;
  drain(whole_decoder, whole_buf, whole);

  frame_decoder chunk_decoder = make_decoder(flags);
  std::vector<std::byte> chunk_buf;
  outcome chunked;
  for (std::size_t at = 0; at < stream.size() && !chunked.error;) {
    seed = seed * 1103515245u + 12345u;
    const std::size_t n = std::min<std::size_t>(1 + (seed >> 16) % 17, stream.size() - at);
    chunk_buf.insert(chunk_buf.end(), stream.begin() + static_cast<std::ptrdiff_t>(at),
                     stream.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
    drain(chunk_decoder, chunk_buf, chunked);
  }

  check(whole.frames == chunked.frames);
  check(whole.error == chunked.error);
  if (!whole.error) check(whole_buf.size() == chunk_buf.size());
  return 0;
}
