// The control socket's line protocol, as a pure codec shared by control_server and dwctl.
// A client sends one request line; the server answers with one JSON line. Grammar:
//
//   request = command *( SP arg ) [ CR ] LF          ; at most max_line_length bytes
//   command = "status" / "phase" SP ( 0-4 / name ) [ SP "--force" ] / "pause" / "resume"
//           / "ack-divergence" / "diffs" [ SP "--limit" SP 1*3DIGIT ] [ SP "--reset" ] / "help"
//   response = JSON object, one line: {"ok":bool, "error":string (only when !ok), ...data}
//
// Several requests may follow each other on one connection; each is answered in turn.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "control/failure.hpp"
#include "control/phase_machine.hpp"
#include "control/proxy_control.hpp"
#include "control/state_file.hpp"

namespace dw::control {

/// Longest request line accepted, '\n' excluded; longer gets an error response and a close.
inline constexpr std::size_t max_line_length = 4096;

enum class command { status, phase, pause, resume, ack_divergence, diffs, help };

/// "status", "phase", "pause", "resume", "ack-divergence", "diffs", "help".
[[nodiscard]] std::string_view command_name(command c) noexcept;
/// Commands that change the proxy; the server runs these one at a time. `diffs --reset` only
/// clears statistics, which no move depends on, so it does not wait behind a flip.
[[nodiscard]] constexpr bool is_mutating(command c) noexcept {
  return c != command::status && c != command::help && c != command::diffs;
}
/// One line per command ("phase N [--force]  move to phase N ..."), for help responses.
[[nodiscard]] std::span<const std::string_view> command_help() noexcept;

/// `diffs` shows this many query shapes unless told otherwise, and at most max_diffs_limit.
inline constexpr std::size_t default_diffs_limit = 10;
inline constexpr std::size_t max_diffs_limit = 100;

struct request {
  command cmd = command::status;
  phase target = phase::passthrough;  ///< command::phase only
  bool force = false;                 ///< command::phase only
  std::size_t limit = default_diffs_limit;  ///< command::diffs only: query shapes shown
  bool reset = false;  ///< command::diffs only: clear the statistics after reporting them

  friend bool operator==(const request&, const request&) = default;
};

/// A `diffs --limit` value: 1 to max_diffs_limit.
[[nodiscard]] outcome<std::size_t> parse_diffs_limit(std::string_view text);

/// Parses one line (without its '\n'; a trailing '\r' is ignored).
[[nodiscard]] outcome<request> parse_request(std::string_view line);
/// The request line, '\n'-terminated.
[[nodiscard]] std::string write_request(const request& r);

/// An action control/ took on its own: the automatic rollback in cutover (rollback.automatic).
struct auto_action {
  std::chrono::system_clock::time_point at{};
  phase from = phase::cutover;
  phase to = phase::shadow_read;
  std::string reason;   ///< what fired, with its numbers
  bool ok = false;      ///< the move was carried out (and persisted)
  std::string outcome;  ///< "done in 812 ms", or why it failed (it is retried)

  friend bool operator==(const auto_action&, const auto_action&) = default;
};

/// `status`: the proxy's snapshot plus what control/ itself knows.
struct status_data {
  status_snapshot proxy;  ///< proxy.current is the phase control/ has persisted
  persisted_state last_move;
  std::optional<phase> next;                  ///< next forward phase; nullopt in cleanup
  std::vector<gate_failure> next_blocked_by;  ///< gates the next forward move fails now
  std::uint64_t queued_commands = 0;          ///< mutating commands running or waiting
  std::vector<auto_action> auto_actions;      ///< the last few, oldest first

  friend bool operator==(const status_data&, const status_data&) = default;
};

/// `phase N`: answered when the move is done, refused or failed.
struct move_data {
  phase current = phase::passthrough;  ///< after the attempt
  phase from = phase::passthrough;
  phase target = phase::passthrough;
  bool changed = false;  ///< false: refused, failed or already there
  bool flip = false;
  bool attach_shadows = false;
  bool detach_shadows = false;
  bool forced = false;
  std::vector<gate_failure> overridden;  ///< forced past these
  std::vector<gate_failure> refused_by;  ///< refused because of these
  std::optional<move_report> report;     ///< the proxy carried the move out

  friend bool operator==(const move_data&, const move_data&) = default;
};

/// `pause` and `resume`.
struct pause_data {
  bool paused = false;
  bool changed = false;                    ///< false: already in that state
  std::optional<std::uint64_t> in_flight;  ///< pause only: transactions still running

  friend bool operator==(const pause_data&, const pause_data&) = default;
};

/// `ack-divergence`.
struct ack_data {
  std::uint64_t acknowledged = 0;

  friend bool operator==(const ack_data&, const ack_data&) = default;
};

/// `help`.
struct help_data {
  std::vector<std::string> commands;

  friend bool operator==(const help_data&, const help_data&) = default;
};

/// `diffs`.
struct diffs_data {
  diffs_report report;
  bool reset = false;  ///< the statistics were cleared after this report was taken

  friend bool operator==(const diffs_data&, const diffs_data&) = default;
};

using response_data = std::variant<std::monostate, status_data, move_data, pause_data, ack_data,
                                   diffs_data, help_data>;

struct response {
  bool ok = true;
  std::string error;   ///< set when !ok
  response_data data;  ///< monostate: a bare error (bad request, timeout, ...)

  friend bool operator==(const response&, const response&) = default;
};

/// A bare error response.
[[nodiscard]] response error_response(std::string message);

/// One JSON line, '\n'-terminated.
[[nodiscard]] std::string write_response(const response& r);

/// Parses a response line to a request of kind `sent` (the JSON does not name its kind).
[[nodiscard]] outcome<response> parse_response(command sent, std::string_view line);

}  // namespace dw::control
