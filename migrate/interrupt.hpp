// Ctrl-C and SIGTERM for the data commands: the first one asks the run to stop at the next
// chunk boundary (so backfill's checkpoint stays exact and nothing is half-written); the
// second ends the process at once. The flag is a lock-free atomic, safe to set from a handler.
#pragma once

#include <atomic>

namespace dw::migrate {

/// Installs the handlers (once per process) and returns the flag they set.
[[nodiscard]] const std::atomic<bool>& install_interrupt_handlers();

}  // namespace dw::migrate
