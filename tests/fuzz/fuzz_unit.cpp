// libFuzzer target for the dual-write unit (shadow/unit.hpp): untrusted client frames go
// through unit_builder, server answers through the unit's reply_tracker, then the shadow's
// job and the sequence catch-up job are cut from it. Input: two little-endian bytes giving
// the length of the client stream, the client stream, then the server stream. Oracles:
// nothing crashes; every job and every replay is a sequence of whole frontend frames, and a
// job's frame types are the ones it lists for its own reply_tracker.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "protocol/frame_decoder.hpp"
#include "shadow/unit.hpp"

namespace {

namespace msg = dw::protocol;
namespace sh = dw::shadow;

void check(bool ok) {
  if (!ok) std::abort();
}

// Splits `bytes` into frontend frames; false when something is left that is not a frame.
bool whole_frames(std::span<const std::byte> bytes, std::vector<char>* types) {
  msg::frame_decoder frames{msg::direction::frontend, {}};
  frames.expect_typed_messages();
  while (!bytes.empty()) {
    auto f = frames.next(bytes);
    if (!f || !*f) return false;
    if (types) types->push_back((*f)->type);
    bytes = bytes.subspan((*f)->wire_size);
  }
  return true;
}

void check_job(const sh::shadow_job& job) {
  if (job.overflow) return;
  std::vector<char> types;
  check(whole_frames(job.bytes, &types));
  check(types == job.types);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  const std::size_t client_size =
      std::min<std::size_t>(size - 2, static_cast<std::size_t>(data[0] | (data[1] << 8)));
  std::span<const std::byte> client{bytes + 2, client_size};
  std::span<const std::byte> server{bytes + 2 + client_size, size - 2 - client_size};

  sh::unit_builder::options o;
  o.max_unit_bytes = 4096;  // small, so overflow is reached too
  o.values = [] {
    dw::compare::nondeterministic_values v;
    v.transaction_timestamp = v.statement_timestamp = "2026-11-21 10:00:00+00";
    v.random = [] { return 0.5; };
    v.uuid = [] { return std::string{"00000000-0000-4000-8000-000000000000"}; };
    return v;
  };
  sh::unit_builder builder{o};
  msg::limits lim;
  lim.max_message = 1u << 16;
  msg::frame_decoder client_frames{msg::direction::frontend, lim};
  client_frames.expect_typed_messages();
  const msg::frame_decoder server_frames{msg::direction::backend, lim};
  std::vector<std::byte> forward;
  while (!client.empty()) {
    auto f = client_frames.next(client);
    if (!f || !*f) break;
    const msg::frame frame = **f;
    const auto wire = client.first(frame.wire_size);
    client = client.subspan(frame.wire_size);
    if (frame.type == 'X') continue;
    const auto step = builder.add(frame, wire, forward);
    check(!forward.empty());
    if (step != sh::unit_builder::step::unit_end) continue;
    // The server's answers, as far as the stream has them.
    while (!server.empty()) {
      auto a = server_frames.next(server);
      if (!a || !*a) {
        server = {};
        break;
      }
      const bool done = builder.current().primary.on_message((*a)->type, (*a)->body);
      server = server.subspan((*a)->wire_size);
      if (done) break;
    }
    const sh::unit u = builder.take();
    check_job(sh::make_shadow_job(u));
    for (bool in_transaction : {false, true})
      if (auto catch_up = sh::make_sequence_catch_up_job(u, in_transaction)) check_job(*catch_up);
  }
  check(whole_frames(builder.replay_bytes(), nullptr));
  return 0;
}
