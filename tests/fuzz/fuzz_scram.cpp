// libFuzzer target for the SCRAM message parsers. The input is split at NUL bytes into up to
// four messages: client-first and client-final for a server_exchange, server-first and
// server-final for a client_exchange; the whole input is also parsed as a pg_authid verifier.
// Nonces are fixed so the fuzzer can learn to echo them and reach the later states.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/scram.hpp"

namespace {

namespace scram = dw::protocol::scram;

const scram::verifier& fuzz_verifier() {
  static const scram::verifier v = [] {
    const std::array<std::byte, 4> salt{std::byte{'s'}, std::byte{'a'}, std::byte{'l'},
                                        std::byte{'t'}};
    return scram::make_verifier("pencil", salt, 1);
  }();
  return v;
}

// PBKDF2 with a count the client accepts costs real time (10^7 rounds is seconds), which would
// drown the fuzzer in slow units without finding parser bugs. Counts above the accepted range
// still reach the parser, so its bound check stays fuzzed.
bool expensive_iterations(std::string_view msg) {
  for (auto at = msg.find("i="); at != std::string_view::npos; at = msg.find("i=", at + 1)) {
    std::uint64_t value = 0;
    for (std::size_t i = at + 2; i < msg.size() && i < at + 14 && msg[i] >= '0' && msg[i] <= '9';
         ++i) {
      value = value * 10 + static_cast<std::uint64_t>(msg[i] - '0');
    }
    if (value > 64 && value <= static_cast<std::uint64_t>(scram::max_iterations)) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input{reinterpret_cast<const char*>(data), size};
  (void)scram::parse_verifier(input);

  std::array<std::string_view, 4> parts{};
  std::string_view rest = input;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto nul = std::min(rest.find('\0'), rest.size());
    parts[i] = rest.substr(0, nul);
    rest = nul < rest.size() ? rest.substr(nul + 1) : std::string_view{};
  }

  scram::server_exchange server{fuzz_verifier(), "srvnonce"};
  if (server.on_client_first(parts[0])) (void)server.on_client_final(parts[1]);

  scram::client_exchange client{"pencil", "cltnonce"};
  (void)client.client_first();
  if (!expensive_iterations(parts[2]) && client.on_server_first(parts[2])) {
    (void)client.on_server_final(parts[3]);
  }
  return 0;
}
