// Rendering metric_samples in the Prometheus text format, and the metrics every status
// snapshot yields. Pure: no I/O, so the format is unit tested byte for byte.
#include "control/metrics.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <map>

namespace dw::control {
namespace {

bool valid_name(std::string_view n, bool allow_colon) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                       (allow_colon && c == ':');
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

/// HELP text escapes backslash and newline; label values also escape the double quote.
std::string escape(std::string_view s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);  // shortest round-trip form; integers print without ".0"
}

bool valid_sample(const metric_sample& m) {
  if (!valid_name(m.name, true)) return false;
  for (const auto& [k, v] : m.labels)
    if (!valid_name(k, false) || k.starts_with("__")) return false;
  return true;
}

metric_sample gauge(std::string name, std::string help, double v,
                    std::vector<std::pair<std::string, std::string>> labels = {}) {
  return {std::move(name), std::move(help), metric_type::gauge, std::move(labels), v};
}

double as_double(std::uint64_t n) { return static_cast<double>(n); }

}  // namespace

std::vector<metric_sample> status_metrics(const status_data& s) {
  const auto& p = s.proxy;
  std::vector<metric_sample> out;
  out.push_back(gauge("dwproxy_phase", "Migration phase (0 passthrough .. 4 cleanup)",
                      phase_number(p.current)));
  out.push_back(gauge("dwproxy_paused", "1 when new transactions are held by an operator pause",
                      p.paused ? 1 : 0));
  out.push_back(gauge("dwproxy_sessions", "Client sessions open", as_double(p.sessions)));
  out.push_back(gauge("dwproxy_sessions_in_transaction",
                      "Client sessions inside a transaction", as_double(p.in_transaction)));
  out.push_back(gauge("dwproxy_diverged_sessions", "Sessions whose shadow has diverged",
                      as_double(p.gates.diverged_sessions)));
  out.push_back({"dwproxy_divergences_total", "Divergence events recorded since start",
                 metric_type::counter, {}, as_double(p.divergences)});
  if (p.gates.shadow_lag)
    out.push_back(gauge("dwproxy_shadow_lag_seconds", "Worst session's shadow lag",
                        std::chrono::duration<double>(*p.gates.shadow_lag).count()));
  out.push_back(gauge("dwproxy_next_phase_blocked",
                      "Gates the next forward move would fail now",
                      static_cast<double>(s.next_blocked_by.size())));
  out.push_back(gauge("dwproxy_queued_commands", "Mutating control commands running or waiting",
                      as_double(s.queued_commands)));
  for (const auto& b : p.backends) {
    out.push_back(gauge("dwproxy_backend_up", "1 when the backend is reachable",
                        b.reachable ? 1 : 0, {{"backend", b.name}, {"role", b.role}}));
    if (b.latency_ms)
      out.push_back(gauge("dwproxy_backend_latency_seconds", "Last measured round trip",
                          *b.latency_ms / 1000.0, {{"backend", b.name}}));
  }
  return out;
}

std::string write_prometheus(std::span<const metric_sample> samples) {
  // Family order is first appearance; a family's samples must be contiguous in the output.
  std::vector<std::string_view> order;
  std::map<std::string_view, std::vector<const metric_sample*>, std::less<>> families;
  for (const auto& m : samples) {
    if (!valid_sample(m)) continue;
    auto& f = families[m.name];
    if (f.empty()) order.push_back(m.name);
    f.push_back(&m);
  }
  std::string out;
  for (const auto name : order) {
    const auto& f = families.find(name)->second;
    const metric_sample& first = *f.front();
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape(first.help, false), name,
                       first.type == metric_type::counter ? "counter" : "gauge");
    for (const auto* m : f) {
      out += name;
      if (!m->labels.empty()) {
        out += '{';
        for (std::size_t i = 0; i < m->labels.size(); ++i) {
          if (i > 0) out += ',';
          out += fmt::format("{}=\"{}\"", m->labels[i].first, escape(m->labels[i].second, true));
        }
        out += '}';
      }
      out += ' ';
      out += format_value(m->value);
      out += '\n';
    }
  }
  return out;
}

}  // namespace dw::control
