// Request lines of the control protocol: parsing, writing, and the help text. Requests come
// from anyone who can open the socket, so parsing bounds the length and refuses control
// characters (they would otherwise end up verbatim in the proxy's log).
#include <fmt/format.h>

#include <array>
#include <charconv>

#include "control/control_protocol.hpp"

namespace dw::control {
namespace {

constexpr std::array<std::string_view, 7> command_names = {
    "status", "phase", "pause", "resume", "ack-divergence", "diffs", "help"};

constexpr std::array<std::string_view, 7> help_lines = {
    "status                 phase, sessions, backends, shadow lag, divergences, gates",
    "phase N [--force]      move to phase N (0-4 or its name); answers when the move is done",
    "pause                  stop admitting new transactions (clients wait, nobody is refused)",
    "resume                 admit transactions again",
    "ack-divergence         acknowledge recorded divergences so the gates open again",
    "diffs [--limit N] [--reset]  sampled-read diffs, worst query shapes first; --reset clears",
    "help                   this list",
};

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

/// Quotes what the client sent, cut short: enough to recognise a typo, not an echo chamber.
std::string quote(std::string_view word) {
  constexpr std::size_t max_echo = 40;
  if (word.size() > max_echo) return fmt::format("'{}...'", word.substr(0, max_echo));
  return fmt::format("'{}'", word);
}

outcome<request> parse_phase_args(std::span<const std::string_view> args) {
  request r{.cmd = command::phase};
  std::optional<phase> target;
  for (auto a : args) {
    if (a == "--force") {
      if (r.force) return fail("'phase' got --force twice");
      r.force = true;
    } else if (target) {
      return fail("'phase' takes one phase, got " + quote(a) + " as well");
    } else if (target = parse_phase(a); !target) {
      return fail(
          "'phase' needs 0-4 or a phase name (passthrough, dual-write, shadow-read, "
          "cutover, cleanup), got " +
          quote(a));
    }
  }
  if (!target) return fail("'phase' needs a phase: phase N [--force]");
  r.target = *target;
  return r;
}

outcome<request> parse_diffs_args(std::span<const std::string_view> args) {
  request r{.cmd = command::diffs};
  bool limit_seen = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--reset") {
      if (r.reset) return fail("'diffs' got --reset twice");
      r.reset = true;
    } else if (args[i] == "--limit") {
      if (limit_seen) return fail("'diffs' got --limit twice");
      limit_seen = true;
      if (i + 1 >= args.size()) return fail("'diffs --limit' needs a number");
      auto n = parse_diffs_limit(args[++i]);
      if (!n) return n.error();
      r.limit = *n;
    } else {
      return fail("'diffs' takes --limit N and --reset, got " + quote(args[i]));
    }
  }
  return r;
}

}  // namespace

outcome<std::size_t> parse_diffs_limit(std::string_view text) {
  std::size_t n = 0;
  const auto* end = text.data() + text.size();
  if (auto [p, ec] = std::from_chars(text.data(), end, n);
      ec != std::errc{} || p != end || n < 1 || n > max_diffs_limit)
    return fail(fmt::format("the diffs limit must be 1-{}, got {}", max_diffs_limit, quote(text)));
  return n;
}

std::string_view command_name(command c) noexcept {
  return command_names.at(static_cast<std::size_t>(c));
}

std::span<const std::string_view> command_help() noexcept { return help_lines; }

outcome<request> parse_request(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > max_line_length)
    return fail(fmt::format("request longer than {} bytes", max_line_length));
  for (const char ch : line) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return fail("request contains control characters");
  }

  const auto words = split_words(line);
  if (words.empty()) return fail("empty request; send 'help' for the commands");
  const std::span<const std::string_view> args{words.data() + 1, words.size() - 1};
  for (std::size_t i = 0; i < command_names.size(); ++i) {
    if (words[0] != command_names[i]) continue;
    const auto cmd = static_cast<command>(i);
    if (cmd == command::phase) return parse_phase_args(args);
    if (cmd == command::diffs) return parse_diffs_args(args);
    if (!args.empty())
      return fail(fmt::format("'{}' takes no arguments, got {}", words[0], quote(args[0])));
    return request{.cmd = cmd};
  }
  return fail("unknown command " + quote(words[0]) + "; send 'help' for the commands");
}

std::string write_request(const request& r) {
  if (r.cmd == command::diffs)
    return fmt::format("diffs{}{}\n",
                       r.limit != default_diffs_limit ? fmt::format(" --limit {}", r.limit) : "",
                       r.reset ? " --reset" : "");
  if (r.cmd != command::phase) return std::string(command_name(r.cmd)) + "\n";
  return fmt::format("phase {}{}\n", phase_number(r.target), r.force ? " --force" : "");
}

response error_response(std::string message) {
  return response{.ok = false, .error = std::move(message), .data = {}};
}

}  // namespace dw::control
