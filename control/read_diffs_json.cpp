// Encoding and decoding the read-diff statistics (read_diffs_json.hpp has the shapes). Decoding
// exists so that dwctl renders the human form from typed values.
#include "control/read_diffs_json.hpp"

#include <fmt/format.h>

#include "compare/read_stats.hpp"
#include "control/json_fields.hpp"
#include "control/state_file.hpp"

namespace dw::control::read_diffs_json {
namespace {

namespace json = boost::json;
using compare::fingerprint_stats;
using compare::latency_summary;
using compare::sample_example;
using compare::sample_totals;
using json_fields::field;
using json_fields::optional_field;

json::object latency_json(const latency_summary& l) {
  return {{"count", l.count}, {"p50_ms", l.p50_ms}, {"p99_ms", l.p99_ms}};
}

outcome<latency_summary> latency_field(const json::object& o, std::string_view key) {
  DW_TRY(l, field<const json::object*>(o, key));
  DW_TRY(count, field<std::uint64_t>(*l, "count"));
  DW_TRY(p50, field<double>(*l, "p50_ms"));
  DW_TRY(p99, field<double>(*l, "p99_ms"));
  return latency_summary{count, p50, p99};
}

/// The counters shared by totals and one query shape.
void put_counters(json::object& o, const sample_totals& t) {
  o["samples"] = t.samples;
  o["matches"] = t.matches;
  o["mismatches"] = t.mismatches;
  o["noise"] = t.noise;
  o["skipped"] = t.skipped;
  o["mismatch_rate"] = t.mismatch_rate();
  o["old_latency"] = latency_json(t.old_latency);
  o["new_latency"] = latency_json(t.new_latency);
}

json::array strings_json(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

outcome<std::vector<std::string>> strings_field(const json::object& o, std::string_view key) {
  DW_TRY(a, field<const json::array*>(o, key));
  std::vector<std::string> out;
  for (const auto& v : *a) {
    if (!v.is_string()) return fail("field '" + std::string(key) + "' must hold strings");
    out.emplace_back(v.get_string().data(), v.get_string().size());
  }
  return out;
}

json::value example_json(const std::optional<sample_example>& e) {
  if (!e) return nullptr;
  return json::object{{"at", format_utc(e->at)},
                      {"statement", e->statement},
                      {"parameters", e->parameters},
                      {"detail", e->detail},
                      {"primary", e->primary},
                      {"shadow", e->shadow},
                      {"primary_rows", strings_json(e->primary_rows)},
                      {"shadow_rows", strings_json(e->shadow_rows)},
                      {"noisy_columns", strings_json(e->noisy_columns)}};
}

outcome<std::optional<sample_example>> example_field(const json::object& o, std::string_view key) {
  DW_TRY(ex, optional_field<const json::object*>(o, key));
  if (!ex) return std::optional<sample_example>{};
  const json::object& e = **ex;
  sample_example out;
  DW_TRY(at_text, field<std::string>(e, "at"));
  const auto at = parse_utc(at_text);
  if (!at) return fail("field 'at' of '" + std::string(key) + "' is not a UTC time");
  out.at = *at;
  for (auto [name, dest] : {std::pair{"statement", &out.statement},
                            {"parameters", &out.parameters},
                            {"detail", &out.detail},
                            {"primary", &out.primary},
                            {"shadow", &out.shadow}}) {
    DW_TRY(text, field<std::string>(e, name));
    *dest = std::move(text);
  }
  for (auto [name, dest] : {std::pair{"primary_rows", &out.primary_rows},
                            {"shadow_rows", &out.shadow_rows},
                            {"noisy_columns", &out.noisy_columns}}) {
    DW_TRY(list, strings_field(e, name));
    *dest = std::move(list);
  }
  return std::optional<sample_example>{std::move(out)};
}

json::object shape_json(const fingerprint_stats& f) {
  json::object o;
  o["fingerprint"] = compare::fingerprint_hex(f.fingerprint);
  o["statement"] = f.statement;
  put_counters(o, {f.samples, f.matches, f.mismatches, f.noise, f.skipped, f.old_latency,
                   f.new_latency});
  o["last_mismatch"] = example_json(f.last_mismatch);
  o["last_noise"] = example_json(f.last_noise);
  return o;
}

outcome<std::uint64_t> fingerprint_field(const json::object& o) {
  DW_TRY(text, field<std::string>(o, "fingerprint"));
  const auto fp = compare::parse_fingerprint_hex(text);
  if (!fp) return fail("field 'fingerprint' must be 1 to 16 hex digits, got '" + text + "'");
  return *fp;
}

outcome<fingerprint_stats> shape_fields(const json::object& o) {
  fingerprint_stats f;
  DW_TRY(fp, fingerprint_field(o));
  DW_TRY(statement, field<std::string>(o, "statement"));
  DW_TRY(t, totals_fields(o));
  DW_TRY(last_mismatch, example_field(o, "last_mismatch"));
  DW_TRY(last_noise, example_field(o, "last_noise"));
  return fingerprint_stats{fp,        std::move(statement), t.samples,
                           t.matches, t.mismatches,         t.noise,
                           t.skipped, t.old_latency,        t.new_latency,
                           std::move(last_mismatch), std::move(last_noise)};
}

}  // namespace

json::object totals_json(const sample_totals& t) {
  json::object o;
  put_counters(o, t);
  return o;
}

outcome<sample_totals> totals_fields(const json::object& o) {
  sample_totals t;
  for (auto [name, dest] : {std::pair{"samples", &t.samples},
                            {"matches", &t.matches},
                            {"mismatches", &t.mismatches},
                            {"noise", &t.noise},
                            {"skipped", &t.skipped}}) {
    DW_TRY(n, field<std::uint64_t>(o, name));
    *dest = n;
  }
  DW_TRY(old_latency, latency_field(o, "old_latency"));
  DW_TRY(new_latency, latency_field(o, "new_latency"));
  t.old_latency = old_latency;
  t.new_latency = new_latency;
  return t;
}

void put_report(json::object& o, const diffs_report& r) {
  o["totals"] = totals_json(r.totals);
  o["window"] = totals_json(r.window);
  o["window_s"] = r.window_span.count();
  json::array worst;
  for (const auto& f : r.worst) worst.push_back(shape_json(f));
  o["worst"] = std::move(worst);
}

outcome<diffs_report> report_fields(const json::object& o) {
  diffs_report r;
  DW_TRY(totals, field<const json::object*>(o, "totals"));
  DW_TRY(window, field<const json::object*>(o, "window"));
  DW_TRY(t, totals_fields(*totals));
  DW_TRY(w, totals_fields(*window));
  DW_TRY(span, field<std::int64_t>(o, "window_s"));
  DW_TRY(worst, field<const json::array*>(o, "worst"));
  r.totals = t;
  r.window = w;
  r.window_span = std::chrono::seconds{span};
  for (const auto& v : *worst) {
    const json::object* shape = v.if_object();
    if (shape == nullptr) return fail("field 'worst' must hold objects");
    DW_TRY(f, shape_fields(*shape));
    r.worst.push_back(std::move(f));
  }
  return r;
}

}  // namespace dw::control::read_diffs_json
