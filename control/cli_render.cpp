// dwctl's human output: a small aligned table for status, one or two lines for the rest.
// Scripts should use --json; this form may change to read better.
#include <fmt/format.h>

#include <ostream>

#include "control/cli.hpp"

namespace dw::control {
namespace {

void row(std::ostream& out, std::string_view label, const std::string& value) {
  out << fmt::format("{:<13}{}\n", label, value);
}

std::string gate_list(const std::vector<gate_failure>& gates) {
  std::string s;
  for (const auto& g : gates) s += (s.empty() ? "" : "; ") + g.message;
  return s;
}

void render_gates(const gate_inputs& g, std::ostream& out) {
  row(out, "shadow lag",
      g.shadow_lag ? fmt::format("{} ms", g.shadow_lag->count()) : "no shadow attached");
  if (g.read_diffs)
    row(out, "read diffs",
        fmt::format("{} of {} sampled reads differed", g.read_diffs->mismatches,
                    g.read_diffs->samples));
  if (g.last_verification)
    row(out, "verification",
        fmt::format("{}, {} s ago", g.last_verification->passed ? "passed" : "FAILED",
                    g.last_verification->age.count()));
}

void render_backends(const std::vector<backend_status>& backends, std::ostream& out) {
  if (backends.empty()) return;
  out << fmt::format("\n{:<9}{:<9}{:<11}{}\n", "backend", "role", "reachable", "latency");
  for (const auto& b : backends) {
    out << fmt::format("{:<9}{:<9}{:<11}{}\n", b.name, b.role, b.reachable ? "yes" : "NO",
                       b.latency_ms ? fmt::format("{:.2f} ms", *b.latency_ms) : "-");
  }
}

void render_status(const status_data& s, std::ostream& out) {
  const auto& p = s.proxy;
  row(out, "phase", describe(p.current));
  row(out, "paused", p.paused ? "yes (new transactions wait)" : "no");
  row(out, "sessions", fmt::format("{} ({} in a transaction)", p.sessions, p.in_transaction));
  render_gates(p.gates, out);
  row(out, "diverged",
      fmt::format("{} session(s); {} divergence(s) recorded", p.gates.diverged_sessions,
                  p.divergences));
  row(out, "last move",
      fmt::format("{}  {}{}", format_utc(s.last_move.updated_at), s.last_move.reason,
                  s.last_move.forced ? " (forced)" : ""));
  if (s.next) {
    row(out, "next",
        s.next_blocked_by.empty()
            ? describe(*s.next) + ": gates pass"
            : describe(*s.next) + ": blocked: " + gate_list(s.next_blocked_by));
  }
  if (s.queued_commands > 0)
    row(out, "queued", fmt::format("{} command(s) running or waiting", s.queued_commands));
  render_backends(p.backends, out);
}

void render_move(const move_data& m, std::ostream& out) {
  if (!m.changed) {
    out << fmt::format("already in phase {}; nothing to do\n", describe(m.current));
    return;
  }
  std::string line = fmt::format("phase {} -> {}: done", describe(m.from), describe(m.current));
  if (m.report) line += fmt::format(" in {} ms", m.report->took.count());
  if (m.flip && m.report)
    line += fmt::format("; flip held new transactions for {} ms", m.report->paused_for.count());
  if (m.attach_shadows) line += "; shadows attach at each session's next transaction boundary";
  out << line << '\n';
  if (!m.overridden.empty()) out << "forced past: " << gate_list(m.overridden) << '\n';
}

void render_pause(command sent, const pause_data& p, std::ostream& out) {
  if (sent == command::pause) {
    out << (p.changed ? "paused" : "already paused");
    if (p.in_flight && *p.in_flight > 0)
      out << fmt::format("; {} transaction(s) still finishing", *p.in_flight);
    out << '\n';
  } else {
    out << (p.changed ? "resumed\n" : "was not paused; nothing to do\n");
  }
}

}  // namespace

void render_human(command sent, const response& r, std::ostream& out) {
  if (const auto* s = std::get_if<status_data>(&r.data))
    render_status(*s, out);
  else if (const auto* m = std::get_if<move_data>(&r.data))
    render_move(*m, out);
  else if (const auto* p = std::get_if<pause_data>(&r.data))
    render_pause(sent, *p, out);
  else if (const auto* a = std::get_if<ack_data>(&r.data))
    out << (a->acknowledged > 0
                ? fmt::format("acknowledged {} diverged session(s)\n", a->acknowledged)
                : std::string("nothing to acknowledge\n"));
  else if (const auto* h = std::get_if<help_data>(&r.data))
    for (const auto& c : h->commands) out << c << '\n';
}

}  // namespace dw::control
