// dwctl's data commands, verify, backfill and repair, as a library function so tests can run
// them in-process; dwctl_main.cpp dispatches here when the command word is one of them, and
// to control/cli for everything that talks to the control socket. Errors become messages and
// exit statuses, never crashes.
#pragma once

#include <iosfwd>
#include <span>
#include <string_view>

namespace dw::migrate {

inline constexpr int exit_ok = 0;            ///< passed / done / nothing to repair or applied
inline constexpr int exit_differs = 1;       ///< verify failed, backfill failed, repair pending
inline constexpr int exit_usage = 2;
inline constexpr int exit_no_connection = 3; ///< a backend cannot be reached or refused login
inline constexpr int exit_error = 4;         ///< the run could not finish (see the message)
inline constexpr int exit_interrupted = 130; ///< Ctrl-C or SIGTERM; backfill resumes

/// Whether dwctl's command word (after its global options) is verify, backfill or repair.
[[nodiscard]] bool is_data_command(std::span<const std::string_view> args) noexcept;

/// Runs one data command; `args` is dwctl's argv without the program name. Returns the exit
/// status. Installs SIGINT/SIGTERM handlers for the run (the first stops at the next chunk,
/// the second ends the process).
[[nodiscard]] int run_data_command(std::span<const std::string_view> args, std::ostream& out,
                                   std::ostream& err);

}  // namespace dw::migrate
