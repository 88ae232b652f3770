// dwctl: argument parsing, the one-request exchange over the Unix socket, and rendering.
// `dwctl phase N` blocks until the server answers, which it does only when the move is done,
// so the exit status tells a script whether the migration step happened.
#include "control/cli.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <optional>
#include <ostream>
#include <system_error>

namespace dw::control {
namespace {

constexpr std::size_t max_response_size = 4u << 20;

constexpr std::string_view usage_text =
    R"(usage: dwctl [--socket PATH] [--json] [--timeout SECONDS] COMMAND

commands:
  status              phase, sessions, backends, shadow lag, divergences, gates
  phase N [--force]   move to phase N (0-4 or a name: passthrough, dual-write,
                      shadow-read, cutover, cleanup); returns when the move is
                      done or has failed. --force overrides failing gates and
                      allows 4 -> 3
  pause               stop admitting new transactions (clients wait)
  resume              admit transactions again
  ack                 acknowledge recorded divergences so the gates open again
  diffs [--limit N] [--reset]
                      sampled-read comparisons (phases 2-3): totals, the gate's
                      window, and the N (default 10, at most 100) worst query
                      shapes with a side-by-side example; --reset clears the
                      statistics after showing them (after NEW was fixed)
  help                this text

data commands (over libpq to OLD and NEW, not the control socket; see
dwctl COMMAND --help):
  verify              compare OLD and NEW: rows, schema, constraints, sequences,
                      business rules; writes the report the 2 -> 3 gate reads
  backfill            copy existing rows OLD -> NEW, resumable, safe in phase 1
  repair              make NEW match OLD (or --reverse) for differing rows

options:
  --socket PATH       control socket (default: $DWCTL_SOCKET, else
                      /run/dwproxy/control.sock)
  --json              print the server's JSON answer as it is
  --timeout SECONDS   stop waiting after this long (default 120; 0: forever);
                      a move still running in the proxy is not cancelled

exit status: 0 done, 1 refused or failed, 2 usage error, 3 cannot connect
)";

std::string os_error(int err) { return std::system_category().message(err); }

/// Closes the descriptor on every path out of exchange().
struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

outcome<std::chrono::milliseconds> parse_timeout(std::string_view v) {
  unsigned long seconds = 0;
  const auto* end = v.data() + v.size();
  if (auto [p, ec] = std::from_chars(v.data(), end, seconds); ec != std::errc{} || p != end)
    return fail("--timeout needs whole seconds, got '" + std::string(v) + "'");
  return std::chrono::milliseconds{std::chrono::seconds{seconds}};
}

outcome<command> parse_command(std::string_view word) {
  if (word == "ack" || word == "ack-divergence") return command::ack_divergence;
  for (auto c : {command::status, command::phase, command::pause, command::resume, command::diffs,
                 command::help})
    if (command_name(c) == word) return c;
  return fail("unknown command '" + std::string(word) + "'");
}

/// Flags that belong to one command only; checked against the command once it is known.
struct command_flags {
  bool force = false;
  bool reset = false;
  std::optional<std::string_view> limit;
};

outcome<void> apply_diffs_flags(const command_flags& f, cli_options& o) {
  o.req.reset = f.reset;
  if (!f.limit) return {};
  auto n = parse_diffs_limit(*f.limit);
  if (!n) return n.error();
  o.req.limit = *n;
  return {};
}

/// Fills the request from the positional words: COMMAND [N].
outcome<void> parse_positionals(const std::vector<std::string_view>& words,
                                const command_flags& flags, cli_options& o) {
  const bool force = flags.force;
  if (words.empty()) return fail("no command given");
  auto cmd = parse_command(words[0]);
  if (!cmd) return cmd.error();
  o.req.cmd = *cmd;
  o.show_help = *cmd == command::help;
  if (*cmd == command::phase) {
    if (words.size() != 2) return fail("phase needs exactly one phase: dwctl phase N [--force]");
    const auto target = parse_phase(words[1]);
    if (!target) return fail("'" + std::string(words[1]) + "' is not a phase (0-4 or a name)");
    o.req.target = *target;
    o.req.force = force;
    return {};
  }
  if (words.size() > 1)
    return fail(fmt::format("{} takes no arguments, got '{}'", words[0], words[1]));
  if (force) return fail("--force goes with phase only");
  if (*cmd == command::diffs) return apply_diffs_flags(flags, o);
  if (flags.reset || flags.limit) return fail("--limit and --reset go with diffs only");
  return {};
}

bool wait_readable(int fd, std::chrono::steady_clock::time_point deadline, bool forever) {
  for (;;) {
    int wait_ms = -1;
    if (!forever) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      wait_ms = static_cast<int>(std::min<long long>(left.count(), 60'000));
    }
    pollfd p{fd, POLLIN, 0};
    const int rc = ::poll(&p, 1, wait_ms);
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return true;  // let read() report the error
  }
}

}  // namespace

std::string_view dwctl_usage() noexcept { return usage_text; }

outcome<cli_options> parse_cli(std::span<const std::string_view> args, const char* env_socket) {
  cli_options o;
  o.socket_path = env_socket != nullptr && *env_socket != '\0' ? std::string(env_socket)
                                                               : std::string(default_socket_path);
  std::vector<std::string_view> words;
  command_flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto a = args[i];
    auto value = [&]() -> outcome<std::string_view> {
      if (i + 1 >= args.size()) return fail(std::string(a) + " needs a value");
      return outcome<std::string_view>{boost::system::in_place_value, args[++i]};
    };
    if (a == "--json") {
      o.json = true;
    } else if (a == "--force") {
      flags.force = true;
    } else if (a == "--reset") {
      flags.reset = true;
    } else if (a == "--limit") {
      auto v = value();
      if (!v) return v.error();
      flags.limit = *v;
    } else if (a == "-h" || a == "--help") {
      o.show_help = true;
      return o;
    } else if (a == "--socket") {
      auto v = value();
      if (!v) return v.error();
      o.socket_path = std::string(*v);
    } else if (a == "--timeout") {
      auto v = value();
      if (!v) return v.error();
      auto t = parse_timeout(*v);
      if (!t) return t.error();
      o.timeout = *t;
    } else if (a.starts_with("-")) {
      return fail("unknown option '" + std::string(a) + "'");
    } else {
      words.push_back(a);
    }
  }
  if (auto filled = parse_positionals(words, flags, o); !filled) return filled.error();
  return o;
}

boost::system::result<std::string, exchange_error> exchange(const std::string& socket_path,
                                                            std::string_view request_line,
                                                            std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return exchange_error{false, "socket path " + socket_path + " is too long"};
  socket_path.copy(addr.sun_path, socket_path.size());
  fd_closer fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (fd.fd < 0 || ::connect(fd.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return exchange_error{false, "cannot connect to " + socket_path + ": " + os_error(errno)};

  for (std::string_view rest = request_line; !rest.empty();) {
    const ssize_t n = ::send(fd.fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return exchange_error{true, "cannot send the request: " + os_error(errno)};
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string answer;
  char buf[4096];
  while (answer.find('\n') == std::string::npos) {
    if (!wait_readable(fd.fd, deadline, timeout.count() == 0))
      return exchange_error{true, fmt::format("no answer within {} s; a move may still be "
                                              "running in the proxy: check `dwctl status`",
                                              timeout.count() / 1000)};
    const ssize_t n = ::recv(fd.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return exchange_error{true, "cannot read the answer: " + os_error(errno)};
    if (n == 0) return exchange_error{true, "the proxy closed the connection without answering"};
    answer.append(buf, static_cast<std::size_t>(n));
    if (answer.size() > max_response_size)
      return exchange_error{true, "the answer is larger than 4 MiB"};
  }
  answer.resize(answer.find('\n'));
  return answer;
}

int run_dwctl(std::span<const std::string_view> args, const char* env_socket, std::ostream& out,
              std::ostream& err) {
  auto opts = parse_cli(args, env_socket);
  if (!opts) {
    err << "dwctl: " << opts.error().message << "\n\n" << usage_text;
    return exit_usage;
  }
  if (opts->show_help) {
    out << usage_text;
    return exit_ok;
  }
  auto answer = exchange(opts->socket_path, write_request(opts->req), opts->timeout);
  if (!answer) {
    err << "dwctl: " << answer.error().message << '\n';
    if (answer.error().connected) return exit_failed;
    err << "dwctl: is dwproxy running with control.socket set, and may this user open it? "
           "(--socket or $DWCTL_SOCKET choose another path)\n";
    return exit_no_connection;
  }
  auto r = parse_response(opts->req.cmd, *answer);
  if (opts->json) out << *answer << '\n';
  if (!r) {
    err << "dwctl: " << r.error().message << '\n';
    return exit_failed;
  }
  if (!r->ok) {
    err << "dwctl: " << r->error << '\n';
    return exit_failed;
  }
  if (!opts->json) render_human(opts->req.cmd, *r, out);
  return exit_ok;
}

}  // namespace dw::control
