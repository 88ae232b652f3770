// The command side of control/, shared by every front end (the Unix control socket and the
// HTTP API): it runs requests against proxy_control, keeps and persists the phase, and puts
// mutating commands through one queue so that they never interleave (a pause during a flip is
// the known failure of other proxies' PAUSE/RESUME). It also runs the automatic rollback
// trigger of phase 3 through that queue. No Asio in this header.
// Only the phase is persisted; an operator pause is not, so a restarted proxy admits traffic.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>

#include "config/config.hpp"
#include "control/control_protocol.hpp"
#include "control/phase_machine.hpp"
#include "control/proxy_control.hpp"
#include "control/rollback_trigger.hpp"
#include "control/state_file.hpp"

namespace boost::asio {
class io_context;
}

namespace dw::control {

/// rollback.*: in phase 3, check the proxy's rollback window every check_interval and move
/// back to phase 2 when rollback_reason() fires.
struct rollback_options {
  bool automatic = false;
  rollback_bounds bounds;
  std::chrono::milliseconds check_interval{1000};
};

/// How many automatic actions status keeps (the oldest is dropped first).
inline constexpr std::size_t max_auto_actions = 10;

struct service_options {
  std::filesystem::path state_file;  ///< empty: moves are not persisted
  gate_bounds gates;
  rollback_options rollback;
  /// `dwctl verify --report` output read for the verification gate and status; empty: none.
  std::filesystem::path verify_report;
  /// Budget of one mutating command, queueing included; the proxy gets what is left as its
  /// move deadline. Must exceed the proxy's drain timeout so a flip can abandon cleanly.
  std::chrono::milliseconds command_deadline{60'000};
  std::chrono::milliseconds status_deadline{5'000};  ///< for the proxy's status snapshot
};

/// Slack after a command's deadline before its caller is told it timed out: the proxy gets the
/// deadline itself and needs a moment to report an abandoned flip.
inline constexpr std::chrono::seconds reply_grace{2};

/// State file, gates (gates.*: read diffs, verification) and the automatic rollback
/// (rollback.*) from the configuration; deadlines at their defaults.
[[nodiscard]] service_options service_options_from(const config::config& cfg);

/// The last verification as the gates see it: read from `report` (a `dwctl verify` report
/// file), its age counted from its finish time to `now`. std::nullopt when the file is
/// missing or not a report, which the gate treats as "no verification has completed".
[[nodiscard]] std::optional<gate_inputs::verification> read_verification(
    const std::filesystem::path& report, std::chrono::system_clock::time_point now);

class command_service {
 public:
  /// `ctx` and `proxy` must outlive the service; `initial` is the phase the proxy was started
  /// in (load_startup_phase). The io_context may be run by any number of threads.
  /// With rollback.automatic, a checker runs from here on: in phase 3 it puts a move to phase 2
  /// through the same queue as `phase 2` whenever rollback_reason() fires on the proxy's
  /// rollback window, logs it at warn and lists it in status's auto_actions; a failed attempt
  /// is listed too and retried at the next check.
  command_service(boost::asio::io_context& ctx, proxy_control& proxy, service_options options,
                  persisted_state initial);
  ~command_service();
  command_service(const command_service&) = delete;
  command_service& operator=(const command_service&) = delete;

  /// Runs `r` and calls `done` exactly once, on the service's strand. status, diffs and help run
  /// at once, even during a flip. phase, pause, resume and ack-divergence run one at a time in
  /// arrival order, and their answer comes by command_deadline + reply_grace at the latest:
  /// past it, a command still running in the proxy is reported as such (it still completes
  /// and is persisted), and one still waiting for its turn is dropped, never run.
  void execute(const request& r, std::function<void(response)> done);

  /// Answers waiting commands with an error and starts nothing new; a move already handed to
  /// the proxy still completes and is persisted. Thread-safe.
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace dw::control
