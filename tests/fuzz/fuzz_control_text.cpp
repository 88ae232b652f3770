// libFuzzer target for the control plane's text parsers: request lines (from anyone who can
// open the socket), response lines (what dwctl reads back), the `diffs --limit` value and the
// phase state file. The first byte picks the command a response is parsed for; the rest is
// the text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/control_protocol.hpp"
#include "control/state_file.hpp"

namespace control = dw::control;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  constexpr control::command commands[] = {
      control::command::status,         control::command::phase, control::command::pause,
      control::command::resume,         control::command::ack_divergence,
      control::command::diffs,          control::command::help};
  const auto sent = commands[data[0] % std::size(commands)];
  const std::string_view text{reinterpret_cast<const char*>(data + 1), size - 1};

  if (auto request = control::parse_request(text)) {
    // What was accepted must write back to a line that parses to the same request.
    auto line = control::write_request(*request);
    line.pop_back();
    const auto again = control::parse_request(line);
    if (!again || !(*again == *request)) __builtin_trap();
  }
  if (auto response = control::parse_response(sent, text)) {
    auto line = control::write_response(*response);
    line.pop_back();
    const auto again = control::parse_response(sent, line);
    if (!again) __builtin_trap();
  }
  (void)control::parse_diffs_limit(text);
  if (auto state = control::decode_state(text)) (void)control::encode_state(*state);
  return 0;
}
