#include "tests/support/run_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>

extern char** environ;

namespace dw::test {
namespace {

using clock = std::chrono::steady_clock;

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Reads what is available; returns false at EOF or on a hard error.
bool drain_into(int fd, std::string& sink) {
  std::array<char, 65536> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) {
      sink.append(buf.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    return false;
  }
}

std::vector<char*> as_argv(std::vector<std::string>& items) {
  std::vector<char*> out;
  out.reserve(items.size() + 1);
  for (auto& s : items) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

struct child_pipes {
  std::array<int, 2> in{-1, -1}, out{-1, -1}, err{-1, -1};
};

[[noreturn]] void exec_child(const child_pipes& p, const std::string& path, char** argv, char** envp) {
  // Only async-signal-safe calls between fork and exec: other test threads may hold locks.
  ::setpgid(0, 0);
  ::dup2(p.in[0], 0);
  ::dup2(p.out[1], 1);
  ::dup2(p.err[1], 2);
  ::execve(path.c_str(), argv, envp);
  ::_exit(127);
}

// Pumps stdin/stdout/stderr until both outputs reach EOF or the deadline passes.
void pump(const child_pipes& p, const std::string& input, clock::time_point deadline,
          command_result& r) {
  int in_fd = p.in[1];
  std::size_t written = 0;
  if (input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      break;
    }
    std::array<pollfd, 3> fds{{{out_open ? p.out[0] : -1, POLLIN, 0},
                               {err_open ? p.err[0] : -1, POLLIN, 0},
                               {in_fd, POLLOUT, 0}}};
    if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) out_open = drain_into(p.out[0], r.out);
    if (fds[1].revents != 0) err_open = drain_into(p.err[0], r.err);
    if (in_fd >= 0 && fds[2].revents != 0) {
      const ssize_t n = ::write(in_fd, input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
        ::close(in_fd);
        in_fd = -1;
      }
    }
  }
  if (in_fd >= 0) ::close(in_fd);
}

}  // namespace

void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

std::string command_result::describe() const {
  constexpr std::size_t max_out = 4000;
  std::string s = timed_out ? "timed out" : "exit code " + std::to_string(exit_code);
  if (term_signal != 0) s += ", signal " + std::to_string(term_signal);
  s += "\n--- stdout";
  if (out.size() > max_out) s += " (first " + std::to_string(max_out) + " bytes)";
  s += " ---\n" + out.substr(0, max_out) + "\n--- stderr ---\n" + err;
  return s;
}

std::string resolve_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::filesystem::path candidate = std::filesystem::path(dirs.substr(start, end - start)) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  throw std::runtime_error("program not found on PATH: " + program);
}

std::vector<std::string> merged_environment(const env_overrides& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry{*e};
    const std::string_view key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : overrides) replaced = replaced || k == key;
    if (!replaced) env.emplace_back(entry);
  }
  for (const auto& [k, v] : overrides) env.push_back(k + "=" + v);
  return env;
}

command_result run_command(const std::string& program, const std::vector<std::string>& args,
                           const command_options& options,
                           const std::function<void(pid_t)>& on_start) {
  ignore_sigpipe();
  const std::string path = resolve_program(program);
  std::vector<std::string> argv_items{program};
  argv_items.insert(argv_items.end(), args.begin(), args.end());
  std::vector<std::string> env_items = merged_environment(options.env);
  auto argv = as_argv(argv_items);
  auto envp = as_argv(env_items);

  child_pipes p;
  if (::pipe2(p.in.data(), O_CLOEXEC) != 0 || ::pipe2(p.out.data(), O_CLOEXEC) != 0 ||
      ::pipe2(p.err.data(), O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));

  const auto deadline = clock::now() + options.timeout;
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) exec_child(p, path, argv.data(), envp.data());
  if (on_start) on_start(pid);

  ::close(p.in[0]);
  ::close(p.out[1]);
  ::close(p.err[1]);
  set_nonblocking(p.in[1]);
  set_nonblocking(p.out[0]);
  set_nonblocking(p.err[0]);

  command_result r;
  pump(p, options.stdin_data, deadline, r);
  if (r.timed_out) ::kill(-pid, SIGKILL);
  ::close(p.out[0]);
  ::close(p.err[0]);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  return r;
}

}  // namespace dw::test
