// Response lines of the control protocol: typed data <-> one JSON object per line. The same
// JSON is what `dwctl --json` prints and what the HTTP API will serve, so field names are the
// public contract; decoding exists so dwctl can render the human form from typed values.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "control/control_protocol.hpp"
#include "control/json_fields.hpp"
#include "control/read_diffs_json.hpp"

namespace dw::control {
namespace {

namespace json = boost::json;
using json_fields::field;
using json_fields::optional_field;

json::value phase_json(phase p) { return json::value(phase_number(p)); }

json::array gates_json(const std::vector<gate_failure>& gates) {
  json::array a;
  for (const auto& g : gates)
    a.push_back(json::object{{"gate", gate_name(g.which)},
                             {"value", g.value},
                             {"bound", g.bound},
                             {"message", g.message}});
  return a;
}

json::array backends_json(const std::vector<backend_status>& backends) {
  json::array a;
  for (const auto& b : backends) {
    json::object o{{"name", b.name}, {"role", b.role}, {"reachable", b.reachable}};
    o["latency_ms"] = b.latency_ms ? json::value(*b.latency_ms) : json::value(nullptr);
    a.push_back(std::move(o));
  }
  return a;
}

void put_gate_inputs(json::object& o, const gate_inputs& g) {
  o["diverged_sessions"] = g.diverged_sessions;
  o["shadow_lag_ms"] = g.shadow_lag ? json::value(g.shadow_lag->count()) : json::value(nullptr);
  o["read_diffs"] = g.read_diffs
                        ? json::value(json::object{{"samples", g.read_diffs->samples},
                                                   {"mismatches", g.read_diffs->mismatches}})
                        : json::value(nullptr);
  o["verification"] = g.last_verification
                          ? json::value(json::object{{"age_s", g.last_verification->age.count()},
                                                     {"passed", g.last_verification->passed}})
                          : json::value(nullptr);
}

json::array auto_actions_json(const std::vector<auto_action>& actions) {
  json::array a;
  for (const auto& x : actions)
    a.push_back(json::object{{"at", format_utc(x.at)},
                             {"from", phase_json(x.from)},
                             {"to", phase_json(x.to)},
                             {"reason", x.reason},
                             {"ok", x.ok},
                             {"outcome", x.outcome}});
  return a;
}

struct data_encoder {
  json::object& o;

  void operator()(std::monostate) const {}

  void operator()(const status_data& s) const {
    o["phase"] = phase_json(s.proxy.current);
    o["phase_name"] = phase_name(s.proxy.current);
    o["paused"] = s.proxy.paused;
    o["sessions"] = s.proxy.sessions;
    o["in_transaction"] = s.proxy.in_transaction;
    o["backends"] = backends_json(s.proxy.backends);
    put_gate_inputs(o, s.proxy.gates);
    o["divergences"] = s.proxy.divergences;
    o["last_move"] = json::object{{"at", format_utc(s.last_move.updated_at)},
                                  {"reason", s.last_move.reason},
                                  {"forced", s.last_move.forced}};
    o["next"] = s.next ? json::value(json::object{{"phase", phase_json(*s.next)},
                                                  {"phase_name", phase_name(*s.next)},
                                                  {"blocked_by", gates_json(s.next_blocked_by)}})
                       : json::value(nullptr);
    o["queued_commands"] = s.queued_commands;
    o["read_totals"] = read_diffs_json::totals_json(s.proxy.read_totals);
    o["rollback_window"] = s.proxy.rollback_window
                               ? json::value(read_diffs_json::totals_json(*s.proxy.rollback_window))
                               : json::value(nullptr);
    o["auto_actions"] = auto_actions_json(s.auto_actions);
  }

  void operator()(const move_data& m) const {
    o["phase"] = phase_json(m.current);
    o["phase_name"] = phase_name(m.current);
    o["from"] = phase_json(m.from);
    o["target"] = phase_json(m.target);
    o["changed"] = m.changed;
    o["flip"] = m.flip;
    o["attach_shadows"] = m.attach_shadows;
    o["detach_shadows"] = m.detach_shadows;
    o["forced"] = m.forced;
    o["overridden"] = gates_json(m.overridden);
    o["refused_by"] = gates_json(m.refused_by);
    o["took_ms"] = m.report ? json::value(m.report->took.count()) : json::value(nullptr);
    o["paused_for_ms"] =
        m.report ? json::value(m.report->paused_for.count()) : json::value(nullptr);
  }

  void operator()(const pause_data& p) const {
    o["paused"] = p.paused;
    o["changed"] = p.changed;
    if (p.in_flight) o["in_flight"] = *p.in_flight;
  }

  void operator()(const ack_data& a) const { o["acknowledged"] = a.acknowledged; }

  void operator()(const diffs_data& d) const {
    read_diffs_json::put_report(o, d.report);
    o["reset"] = d.reset;
  }

  void operator()(const help_data& h) const {
    json::array a;
    for (const auto& c : h.commands) a.push_back(json::value(c));
    o["commands"] = std::move(a);
  }
};

outcome<phase> phase_field(const json::object& o, std::string_view key) {
  DW_TRY(n, field<std::int64_t>(o, key));
  const auto p = phase_from_number(static_cast<long>(n));
  if (!p) return fail("field '" + std::string(key) + "' is not a phase 0-4");
  return *p;
}

outcome<gate> gate_from_name(std::string_view name) {
  for (auto g : {gate::diverged_sessions, gate::shadow_lag, gate::diff_rate, gate::diff_samples,
                 gate::verification})
    if (gate_name(g) == name) return g;
  return fail("unknown gate '" + std::string(name) + "'");
}

outcome<std::vector<gate_failure>> gates_field(const json::object& o, std::string_view key) {
  DW_TRY(array, field<const json::array*>(o, key));
  std::vector<gate_failure> out;
  for (const auto& v : *array) {
    const json::object* g = v.if_object();
    if (g == nullptr) return fail("field '" + std::string(key) + "' must hold objects");
    DW_TRY(name, field<std::string>(*g, "gate"));
    DW_TRY(which, gate_from_name(name));
    DW_TRY(value, field<double>(*g, "value"));
    DW_TRY(bound, field<double>(*g, "bound"));
    DW_TRY(message, field<std::string>(*g, "message"));
    out.push_back({which, value, bound, std::move(message)});
  }
  return out;
}

outcome<std::vector<backend_status>> backends_field(const json::object& o) {
  DW_TRY(array, field<const json::array*>(o, "backends"));
  std::vector<backend_status> out;
  for (const auto& v : *array) {
    const json::object* b = v.if_object();
    if (b == nullptr) return fail("field 'backends' must hold objects");
    DW_TRY(name, field<std::string>(*b, "name"));
    DW_TRY(role, field<std::string>(*b, "role"));
    DW_TRY(reachable, field<bool>(*b, "reachable"));
    DW_TRY(latency, optional_field<double>(*b, "latency_ms"));
    out.push_back({std::move(name), std::move(role), reachable, latency});
  }
  return out;
}

outcome<gate_inputs> gate_inputs_fields(const json::object& o) {
  gate_inputs g;
  DW_TRY(diverged, field<std::uint64_t>(o, "diverged_sessions"));
  DW_TRY(lag, optional_field<std::int64_t>(o, "shadow_lag_ms"));
  DW_TRY(diffs, optional_field<const json::object*>(o, "read_diffs"));
  DW_TRY(verification, optional_field<const json::object*>(o, "verification"));
  g.diverged_sessions = diverged;
  if (lag) g.shadow_lag = std::chrono::milliseconds{*lag};
  if (diffs) {
    DW_TRY(samples, field<std::uint64_t>(**diffs, "samples"));
    DW_TRY(mismatches, field<std::uint64_t>(**diffs, "mismatches"));
    g.read_diffs = gate_inputs::diffs{samples, mismatches};
  }
  if (verification) {
    DW_TRY(age, field<std::int64_t>(**verification, "age_s"));
    DW_TRY(passed, field<bool>(**verification, "passed"));
    g.last_verification = gate_inputs::verification{std::chrono::seconds{age}, passed};
  }
  return g;
}

outcome<persisted_state> last_move_field(const json::object& o) {
  DW_TRY(m, field<const json::object*>(o, "last_move"));
  DW_TRY(at_text, field<std::string>(*m, "at"));
  const auto at = parse_utc(at_text);
  if (!at) return fail("field 'last_move.at' is not a UTC time");
  DW_TRY(reason, field<std::string>(*m, "reason"));
  DW_TRY(forced, field<bool>(*m, "forced"));
  return persisted_state{phase::passthrough, *at, std::move(reason), forced};
}

outcome<std::vector<auto_action>> auto_actions_field(const json::array& array) {
  std::vector<auto_action> out;
  for (const auto& v : array) {
    const json::object* a = v.if_object();
    if (a == nullptr) return fail("field 'auto_actions' must hold objects");
    DW_TRY(at_text, field<std::string>(*a, "at"));
    const auto at = parse_utc(at_text);
    if (!at) return fail("field 'auto_actions[].at' is not a UTC time");
    DW_TRY(from, phase_field(*a, "from"));
    DW_TRY(to, phase_field(*a, "to"));
    DW_TRY(reason, field<std::string>(*a, "reason"));
    DW_TRY(ok, field<bool>(*a, "ok"));
    DW_TRY(result, field<std::string>(*a, "outcome"));
    out.push_back({*at, from, to, std::move(reason), ok, std::move(result)});
  }
  return out;
}

/// The read-diff parts of a status answer; absent in an older proxy's answer.
outcome<void> read_status_fields(const json::object& o, status_data& s) {
  DW_TRY(totals, optional_field<const json::object*>(o, "read_totals"));
  DW_TRY(window, optional_field<const json::object*>(o, "rollback_window"));
  DW_TRY(actions, optional_field<const json::array*>(o, "auto_actions"));
  if (totals) {
    DW_TRY(read_totals, read_diffs_json::totals_fields(**totals));
    s.proxy.read_totals = read_totals;
  }
  if (window) {
    DW_TRY(rollback_window, read_diffs_json::totals_fields(**window));
    s.proxy.rollback_window = rollback_window;
  }
  if (actions) {
    DW_TRY(list, auto_actions_field(**actions));
    s.auto_actions = std::move(list);
  }
  return {};
}

outcome<status_data> status_fields(const json::object& o) {
  status_data s;
  DW_TRY(current, phase_field(o, "phase"));
  DW_TRY(paused, field<bool>(o, "paused"));
  DW_TRY(sessions, field<std::uint64_t>(o, "sessions"));
  DW_TRY(in_tx, field<std::uint64_t>(o, "in_transaction"));
  DW_TRY(backends, backends_field(o));
  DW_TRY(gates, gate_inputs_fields(o));
  DW_TRY(divergences, field<std::uint64_t>(o, "divergences"));
  DW_TRY(last_move, last_move_field(o));
  DW_TRY(next, optional_field<const json::object*>(o, "next"));
  DW_TRY(queued, field<std::uint64_t>(o, "queued_commands"));
  s.proxy.current = current;
  s.proxy.paused = paused;
  s.proxy.sessions = sessions;
  s.proxy.in_transaction = in_tx;
  s.proxy.backends = std::move(backends);
  s.proxy.gates = gates;
  s.proxy.divergences = divergences;
  s.last_move = std::move(last_move);
  s.last_move.current = current;
  if (next) {
    DW_TRY(next_phase, phase_field(**next, "phase"));
    DW_TRY(blocked, gates_field(**next, "blocked_by"));
    s.next = next_phase;
    s.next_blocked_by = std::move(blocked);
  }
  s.queued_commands = queued;
  if (auto read = read_status_fields(o, s); !read) return read.error();
  return s;
}

outcome<move_data> move_fields(const json::object& o) {
  move_data m;
  DW_TRY(current, phase_field(o, "phase"));
  DW_TRY(from, phase_field(o, "from"));
  DW_TRY(target, phase_field(o, "target"));
  m.current = current;
  m.from = from;
  m.target = target;
  for (auto [key, flag] : {std::pair{"changed", &m.changed},
                           {"flip", &m.flip},
                           {"attach_shadows", &m.attach_shadows},
                           {"detach_shadows", &m.detach_shadows},
                           {"forced", &m.forced}}) {
    DW_TRY(value, field<bool>(o, key));
    *flag = value;
  }
  DW_TRY(overridden, gates_field(o, "overridden"));
  DW_TRY(refused_by, gates_field(o, "refused_by"));
  DW_TRY(took, optional_field<std::int64_t>(o, "took_ms"));
  DW_TRY(paused_for, optional_field<std::int64_t>(o, "paused_for_ms"));
  m.overridden = std::move(overridden);
  m.refused_by = std::move(refused_by);
  if (took)
    m.report = move_report{std::chrono::milliseconds{*took},
                           std::chrono::milliseconds{paused_for.value_or(0)}};
  return m;
}

outcome<pause_data> pause_fields(const json::object& o) {
  DW_TRY(paused, field<bool>(o, "paused"));
  DW_TRY(changed, field<bool>(o, "changed"));
  DW_TRY(in_flight, optional_field<std::uint64_t>(o, "in_flight"));
  return pause_data{paused, changed, in_flight};
}

outcome<help_data> help_fields(const json::object& o) {
  DW_TRY(array, field<const json::array*>(o, "commands"));
  help_data h;
  for (const auto& v : *array) {
    if (!v.is_string()) return fail("field 'commands' must hold strings");
    h.commands.emplace_back(v.get_string().data(), v.get_string().size());
  }
  return h;
}

template <class T>
outcome<response_data> as_data(outcome<T> r) {
  if (!r) return r.error();
  return response_data{std::move(*r)};
}

/// The data of a response to `sent`; a bare error (no data keys) decodes to monostate.
outcome<response_data> data_fields(command sent, const json::object& o) {
  switch (sent) {
    case command::status:
      return o.contains("sessions") ? as_data(status_fields(o)) : response_data{};
    case command::phase:
      return o.contains("target") ? as_data(move_fields(o)) : response_data{};
    case command::pause:
    case command::resume:
      return o.contains("paused") ? as_data(pause_fields(o)) : response_data{};
    case command::ack_divergence: {
      if (!o.contains("acknowledged")) return response_data{};
      DW_TRY(n, field<std::uint64_t>(o, "acknowledged"));
      return response_data{ack_data{n}};
    }
    case command::diffs: {
      if (!o.contains("totals")) return response_data{};
      DW_TRY(report, read_diffs_json::report_fields(o));
      DW_TRY(reset, field<bool>(o, "reset"));
      return response_data{diffs_data{std::move(report), reset}};
    }
    case command::help:
      return o.contains("commands") ? as_data(help_fields(o)) : response_data{};
  }
  return response_data{};
}

}  // namespace

std::string write_response(const response& r) {
  json::object o;
  o["ok"] = r.ok;
  if (!r.ok) o["error"] = r.error;
  std::visit(data_encoder{o}, r.data);
  return json::serialize(o) + "\n";
}

outcome<response> parse_response(command sent, std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  json::error_code ec;
  const json::value v = json::parse(line, ec);
  if (ec) return fail("response is not valid JSON (" + ec.message() + ")");
  const json::object* o = v.if_object();
  if (o == nullptr) return fail("response is not a JSON object");
  response r;
  DW_TRY(ok, field<bool>(*o, "ok"));
  r.ok = ok;
  if (!ok) {
    DW_TRY(error, field<std::string>(*o, "error"));
    r.error = std::move(error);
  }
  auto data = data_fields(sent, *o);
  if (!data)
    return fail("malformed '" + std::string(command_name(sent)) +
                "' response: " + data.error().message);
  r.data = std::move(*data);
  return r;
}

}  // namespace dw::control
