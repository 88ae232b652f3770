// dwctl's human output: a small aligned table for status, one or two lines for the rest.
// Scripts should use --json; this form may change to read better.
#include <fmt/format.h>

#include <algorithm>
#include <ostream>

#include "control/cli.hpp"
#include "compare/read_stats.hpp"
#include "control/read_diffs_json.hpp"
#include "control/state_file.hpp"

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

std::string latency_text(const compare::latency_summary& l) {
  if (l.count == 0) return "-";
  return fmt::format("{:.2f}/{:.2f}", l.p50_ms, l.p99_ms);
}

std::string totals_line(const compare::sample_totals& t) {
  return fmt::format("{} compared: {} match, {} mismatch ({:.2f}%), {} noise; {} skipped",
                     t.samples, t.matches, t.mismatches, t.mismatch_rate() * 100, t.noise,
                     t.skipped);
}

/// Cuts `s` to `width` columns (counting bytes; UTF-8 continuation bytes are not cut apart).
std::string clip(std::string_view s, std::size_t width) {
  if (s.size() <= width) return std::string{s};
  std::size_t cut = width - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string{s.substr(0, cut)} + "...";
}

/// The primary's and the shadow's answer next to each other, then the rows only one side had.
void render_example(std::string_view label, const compare::sample_example& e,
                    std::ostream& out) {
  constexpr std::size_t half = 48;
  out << fmt::format("  {} at {}: {}\n", label, format_utc(e.at), e.detail);
  if (!e.parameters.empty()) out << fmt::format("  parameters: {}\n", e.parameters);
  if (!e.noisy_columns.empty()) {
    std::string cols;
    for (const auto& c : e.noisy_columns) cols += (cols.empty() ? "" : ", ") + c;
    out << fmt::format("  columns that change between primary runs: {}\n", cols);
  }
  out << fmt::format("  {:<{}}| {}\n", "primary", half, "shadow");
  out << fmt::format("  {:<{}}| {}\n", clip(e.primary, half - 1), half, clip(e.shadow, half));
  const std::size_t rows = std::max(e.primary_rows.size(), e.shadow_rows.size());
  for (std::size_t i = 0; i < rows; ++i) {
    const std::string left = i < e.primary_rows.size() ? clip(e.primary_rows[i], half - 1) : "";
    const std::string right = i < e.shadow_rows.size() ? clip(e.shadow_rows[i], half) : "";
    out << fmt::format("  {:<{}}| {}\n", left, half, right);
  }
}

void render_diffs(const diffs_data& d, std::ostream& out) {
  const auto& r = d.report;
  row(out, "all samples", totals_line(r.totals));
  row(out, fmt::format("last {} s", r.window_span.count()), totals_line(r.window));
  row(out, "latency", fmt::format("OLD p50/p99 {} ms, NEW p50/p99 {} ms",
                                  latency_text(r.totals.old_latency),
                                  latency_text(r.totals.new_latency)));
  if (d.reset) out << "statistics reset after this report\n";
  if (r.worst.empty()) {
    out << "\nno read sampled yet (phase 2 samples shadow_reads.sample_rate of plain reads)\n";
    return;
  }
  out << fmt::format("\n{:<17}{:>8}{:>8}{:>9}{:>7}{:>8}  {:<14}{:<14}{}\n", "fingerprint",
                     "samples", "match", "mismatch", "noise", "skipped", "OLD p50/p99",
                     "NEW p50/p99", "statement");
  for (const auto& f : r.worst) {
    out << fmt::format("{:<17}{:>8}{:>8}{:>9}{:>7}{:>8}  {:<14}{:<14}{}\n",
                       f.fingerprint == 0 ? std::string{"(other)"}
                                          : compare::fingerprint_hex(f.fingerprint),
                       f.samples, f.matches, f.mismatches, f.noise, f.skipped,
                       latency_text(f.old_latency), latency_text(f.new_latency),
                       clip(f.statement, 60));
  }
  for (const auto& f : r.worst) {
    if (!f.last_mismatch && !f.last_noise) continue;
    out << fmt::format("\n{}  {}\n", compare::fingerprint_hex(f.fingerprint),
                       clip(f.statement, 100));
    if (f.last_mismatch) render_example("last mismatch", *f.last_mismatch, out);
    if (f.last_noise) render_example("last noise", *f.last_noise, out);
  }
}

void render_auto_actions(const std::vector<auto_action>& actions, std::ostream& out) {
  for (const auto& a : actions)
    row(out, "auto action",
        fmt::format("{}  {} -> {}: {} ({})", format_utc(a.at), phase_number(a.from),
                    phase_number(a.to), a.reason, a.ok ? a.outcome : "FAILED: " + a.outcome));
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
  if (p.read_totals.samples + p.read_totals.skipped > 0)
    row(out, "read samples", totals_line(p.read_totals) + " (dwctl diffs)");
  render_auto_actions(s.auto_actions, out);
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
  else if (const auto* d = std::get_if<diffs_data>(&r.data))
    render_diffs(*d, out);
  else if (const auto* h = std::get_if<help_data>(&r.data))
    for (const auto& c : h->commands) out << c << '\n';
}

}  // namespace dw::control
