// libFuzzer target for the files dwctl writes and reads back: the backfill checkpoint (read
// after a crash or Ctrl-C) and the verify report, whose summary the proxy reads on a phase
// move. Anything else must be refused with an error; what is accepted must survive a round
// trip.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "compare/verify_report.hpp"
#include "migrate/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json{reinterpret_cast<const char*>(data), size};
  try {
    const auto state = dw::migrate::parse_checkpoint(json);
    const auto again = dw::migrate::parse_checkpoint(dw::migrate::checkpoint_json(state));
    if (!(again == state)) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  const auto summary = dw::compare::parse_verify_summary(json, "report.json");
  if (summary.summary.has_value() != summary.error.empty()) __builtin_trap();  // one or the other
  return 0;
}
