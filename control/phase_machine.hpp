// The migration phase state machine (DESIGN.md "The phases"): which moves are allowed, which
// of them flip the primary or attach shadows, and which gates a forward move must pass.
// Pure: plan_move() takes values and returns a plan or a refusal. It does not execute a move
// (proxy/ does, through proxy_control) and does not persist anything (state_file does).
//
// Rollbacks are never gated: they are the safety path, taken precisely when something looks
// wrong, so a diverged or lagging shadow must not stand in their way.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dw::control {

enum class phase : std::uint8_t { passthrough = 0, dual_write, shadow_read, cutover, cleanup };

inline constexpr int phase_count = 5;

/// "passthrough", "dual-write", "shadow-read", "cutover", "cleanup".
[[nodiscard]] std::string_view phase_name(phase p) noexcept;
[[nodiscard]] constexpr int phase_number(phase p) noexcept { return static_cast<int>(p); }
/// 0-4, or std::nullopt.
[[nodiscard]] std::optional<phase> phase_from_number(long n) noexcept;
/// "3" or "cutover" (as phase_name spells it), or std::nullopt.
[[nodiscard]] std::optional<phase> parse_phase(std::string_view text) noexcept;
/// "3 (cutover)", the form every operator-facing message uses.
[[nodiscard]] std::string describe(phase p);

/// Measurements a forward move is gated on. Optional fields are filled by later issues
/// (4: read diffs, 5: table verification). An absent measurement passes its gate unless the
/// bound demands it (min_diff_samples > 0, max_verification_age set).
struct gate_inputs {
  std::uint64_t diverged_sessions = 0;                  ///< sessions whose shadow is diverged
  std::optional<std::chrono::milliseconds> shadow_lag;  ///< worst session; nullopt: no shadow
  struct diffs {
    std::uint64_t samples = 0;     ///< sampled reads compared
    std::uint64_t mismatches = 0;  ///< of those, how many differed
    friend bool operator==(const diffs&, const diffs&) = default;
  };
  std::optional<diffs> read_diffs;
  struct verification {
    std::chrono::seconds age{0};  ///< since the last completed verification run
    bool passed = false;          ///< every table matched
    friend bool operator==(const verification&, const verification&) = default;
  };
  std::optional<verification> last_verification;

  friend bool operator==(const gate_inputs&, const gate_inputs&) = default;
};

/// Limits the gates enforce. The defaults are what a careful operator would want.
struct gate_bounds {
  std::chrono::milliseconds max_shadow_lag{1000};
  double max_diff_rate = 0.0;          ///< mismatches / samples
  std::uint64_t min_diff_samples = 0;  ///< sampled reads needed before leaving shadow-read
  /// Set: leaving shadow-read or cutover needs a passed verification at most this old.
  std::optional<std::chrono::seconds> max_verification_age;
};

enum class gate { diverged_sessions, shadow_lag, diff_rate, diff_samples, verification };

/// "diverged_sessions", "shadow_lag", ... (the JSON spelling).
[[nodiscard]] std::string_view gate_name(gate g) noexcept;

/// One failing gate, with the numbers that made it fail.
struct gate_failure {
  gate which = gate::diverged_sessions;
  double value = 0;  ///< measured (sessions, ms, rate, samples, seconds)
  double bound = 0;  ///< the limit it broke
  std::string message;

  friend bool operator==(const gate_failure&, const gate_failure&) = default;
};

/// The gates `to` must pass when entered by a forward move; empty when all pass.
[[nodiscard]] std::vector<gate_failure> check_gates(phase to, const gate_inputs& in,
                                                    const gate_bounds& bounds);

enum class move_kind { none, forward, rollback };

/// What the proxy has to do for an allowed move.
struct move_plan {
  phase from = phase::passthrough;
  phase to = phase::passthrough;
  move_kind kind = move_kind::none;  ///< none: already there, nothing to do (idempotent)
  bool flip = false;                 ///< the primary changes: pause, drain, lag 0, swap, resume
  bool attach_shadows = false;       ///< a shadow is added: open it at each session's next boundary
  bool detach_shadows = false;       ///< the shadow is dropped
  bool forced = false;               ///< --force was needed (gates overridden, or leaving cleanup)
  std::vector<gate_failure> overridden;  ///< gates that failed and were forced past

  /// "2 (shadow-read) -> 3 (cutover), flip", for logs and the state file's reason.
  [[nodiscard]] std::string summary() const;
};

enum class refusal_reason {
  skips_phases,      ///< forward by more than one step
  no_such_rollback,  ///< a backward move DESIGN.md does not allow (e.g. 2 -> 0)
  leaves_cleanup,    ///< 4 -> 3 without force
  gates_failed,
};

struct refusal {
  refusal_reason reason = refusal_reason::gates_failed;
  std::vector<gate_failure> gates;  ///< gates_failed: each failing gate
  std::string message;              ///< the whole story, for the operator
};

/// result<T, refusal>::value() throws std::runtime_error(message); only edges call it.
[[noreturn]] void throw_exception_from_error(const refusal& r, const boost::source_location& loc);

/// Plans the move from `current` to `target`. `force` overrides failing gates and allows
/// 4 -> 3; it never allows skipping phases or a rollback path DESIGN.md does not list.
[[nodiscard]] boost::system::result<move_plan, refusal> plan_move(phase current, phase target,
                                                                  bool force,
                                                                  const gate_inputs& inputs,
                                                                  const gate_bounds& bounds);

}  // namespace dw::control
