#include "migrate/interrupt.hpp"

#include <signal.h>
#include <unistd.h>

namespace dw::migrate {
namespace {

std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_signal(int signo) {
  if (stop_requested.exchange(true)) {
    ::signal(signo, SIG_DFL);
    ::raise(signo);
    return;
  }
  constexpr char message[] =
      "\ndwctl: stopping at the next chunk boundary; press Ctrl-C again to quit at once\n";
  // Only async-signal-safe calls here; a failed write has nowhere to be reported.
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, message, sizeof message - 1);
}

}  // namespace

const std::atomic<bool>& install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  return stop_requested;
}

}  // namespace dw::migrate
