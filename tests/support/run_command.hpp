// Runs an external program (psql, pgbench, openssl) to completion with a deadline and
// captures its output. The child gets its own process group so a timeout kills all of it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace dw::test {

using env_overrides = std::vector<std::pair<std::string, std::string>>;

struct command_options {
  env_overrides env;                        ///< set (or replace) these in the child's environment
  std::string stdin_data;                   ///< written to the child's stdin, then closed
  std::chrono::milliseconds timeout{60'000};
};

struct command_result {
  int exit_code = -1;      ///< -1 when the child was killed by a signal
  int term_signal = 0;
  bool timed_out = false;  ///< the deadline passed and the child was killed
  std::string out;
  std::string err;

  [[nodiscard]] bool ok() const noexcept { return exit_code == 0 && !timed_out; }
  /// Exit status and both streams (stdout truncated), for assertion messages.
  [[nodiscard]] std::string describe() const;
};

/// Searches PATH like execvp, but before fork so the child only calls exec.
[[nodiscard]] std::string resolve_program(const std::string& program);

/// Runs `program args...`; throws only when the program cannot be started at all.
/// `on_start` is called with the child's pid (also its process group) once it runs, on the
/// calling thread: it lets another thread signal a child that is still being waited for.
[[nodiscard]] command_result run_command(const std::string& program,
                                         const std::vector<std::string>& args,
                                         const command_options& options = {},
                                         const std::function<void(pid_t)>& on_start = {});

/// The environment of this process with `overrides` applied, as "K=V" strings for execve.
[[nodiscard]] std::vector<std::string> merged_environment(const env_overrides& overrides);

/// Ignores SIGPIPE once per process: a peer that closed must be an error code, not a crash.
void ignore_sigpipe();

}  // namespace dw::test
