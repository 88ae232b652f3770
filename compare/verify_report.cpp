// JSON and text renderings of a verify_report, and the file helpers the report and the
// backfill checkpoint share. The JSON is the contract for scripts and for the gate: fields are
// only ever added.
#include "compare/verify_report.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <ostream>
#include <sstream>

namespace dw::compare {
namespace {

namespace json = boost::json;

constexpr std::string_view report_format = "dwctl-verify/1";

std::string_view level_name(severity s) { return s == severity::error ? "error" : "warning"; }

std::string_view table_result(const table_comparison& t) {
  if (!t.error.empty()) return "error";
  return t.matches() ? "match" : "differ";
}

json::object key_object(const std::vector<std::string>& columns, const key_value& key) {
  json::object o;
  for (std::size_t i = 0; i < columns.size() && i < key.size(); ++i) o[columns[i]] = key[i];
  return o;
}

json::object table_json(const table_comparison& t, std::size_t max_rows) {
  json::object o;
  o["table"] = t.table.display();
  o["schema"] = t.table.schema;
  o["name"] = t.table.name;
  json::array key;
  for (const auto& k : t.key) key.emplace_back(k);
  o["key"] = std::move(key);
  o["method"] = t.key.empty() ? "whole_table" : "chunks";
  o["result"] = table_result(t);
  o["rows_old"] = t.rows_old;
  o["rows_new"] = t.rows_new;
  o["chunks"] = t.chunks;
  o["differing_chunks"] = t.differing_chunks;
  o["missing_on_new"] = t.count(row_difference_kind::missing_on_new);
  o["extra_on_new"] = t.count(row_difference_kind::extra_on_new);
  o["different"] = t.count(row_difference_kind::different);
  o["seconds"] = t.seconds;
  if (!t.error.empty()) o["error"] = t.error;
  json::array rows;
  for (std::size_t i = 0; i < t.rows.size() && i < max_rows; ++i)
    rows.push_back(json::object{{"kind", to_string(t.rows[i].kind)},
                                {"key", key_object(t.key, t.rows[i].key)}});
  o["rows"] = std::move(rows);
  o["rows_truncated"] = t.rows.size() > max_rows;
  json::array unkeyed;
  for (std::size_t i = 0; i < t.unkeyed.size() && i < max_rows; ++i)
    unkeyed.push_back(json::object{{"row", t.unkeyed[i].text},
                                   {"only_on_old", t.unkeyed[i].only_on_old},
                                   {"only_on_new", t.unkeyed[i].only_on_new}});
  o["unkeyed_rows"] = std::move(unkeyed);
  o["unkeyed_rows_listed"] = t.unkeyed_listed;
  return o;
}

struct totals {
  std::uint64_t differing_tables = 0, missing = 0, extra = 0, different = 0;
  std::uint64_t schema_errors = 0, schema_warnings = 0, constraint_errors = 0;
  std::uint64_t lagging = 0, rules_failed = 0;
};

totals count_totals(const verify_report& r) {
  totals t;
  for (const auto& tc : r.tables) {
    t.differing_tables += tc.matches() ? 0 : 1;
    t.missing += tc.count(row_difference_kind::missing_on_new);
    t.extra += tc.count(row_difference_kind::extra_on_new);
    t.different += tc.count(row_difference_kind::different);
  }
  for (const auto& s : r.schema) (s.level == severity::error ? t.schema_errors : t.schema_warnings)++;
  for (const auto& c : r.constraints) t.constraint_errors += c.level == severity::error ? 1 : 0;
  for (const auto& s : r.sequences) t.lagging += s.lags ? 1 : 0;
  for (const auto& x : r.rules) t.rules_failed += x.matches ? 0 : 1;
  return t;
}

json::array schema_json(const verify_report& r) {
  json::array out;
  for (const auto& s : r.schema)
    out.push_back(json::object{{"table", s.table.display()},
                               {"severity", level_name(s.level)},
                               {"message", s.message}});
  return out;
}

std::string key_text(const std::vector<std::string>& columns, const key_value& key) {
  std::string s;
  for (std::size_t i = 0; i < columns.size() && i < key.size(); ++i)
    s += fmt::format("{}{}={}", i ? ", " : "", columns[i], key[i]);
  return s;
}

void render_tables(const verify_report& r, std::ostream& out) {
  out << fmt::format("{:<32} {:<12} {:>10} {:>10} {:>7} {:>8} {:>8} {:>9}  {}\n", "TABLE", "KEY",
                     "ROWS OLD", "ROWS NEW", "CHUNKS", "MISSING", "EXTRA", "DIFFERENT",
                     "RESULT");
  for (const auto& t : r.tables) {
    std::string key = t.key.empty() ? "(none)" : t.key.front();
    if (t.key.size() > 1) key += fmt::format("+{}", t.key.size() - 1);
    std::string result = t.error.empty() ? (t.matches() ? "ok" : "DIFFERS") : "ERROR";
    out << fmt::format("{:<32} {:<12} {:>10} {:>10} {:>7} {:>8} {:>8} {:>9}  {}\n",
                       t.table.display(), key, t.rows_old, t.rows_new,
                       t.key.empty() ? std::string{"whole"} : std::to_string(t.chunks),
                       t.count(row_difference_kind::missing_on_new),
                       t.count(row_difference_kind::extra_on_new),
                       t.key.empty() ? std::string{"-"}
                                     : std::to_string(t.count(row_difference_kind::different)),
                       result);
  }
}

void render_rows(const verify_report& r, std::ostream& out, std::size_t max_rows) {
  for (const auto& t : r.tables) {
    if (!t.error.empty()) out << fmt::format("{}: {}\n", t.table.display(), t.error);
    for (std::size_t i = 0; i < t.rows.size() && i < max_rows; ++i)
      out << fmt::format("  {} {} {}\n", t.table.display(), to_string(t.rows[i].kind),
                         key_text(t.key, t.rows[i].key));
    if (t.rows.size() > max_rows)
      out << fmt::format("  {} ... and {} more rows\n", t.table.display(), t.rows.size() - max_rows);
    for (std::size_t i = 0; i < t.unkeyed.size() && i < max_rows; ++i) {
      const auto& u = t.unkeyed[i];
      out << fmt::format("  {} row {}: {} more on OLD, {} more on NEW\n", t.table.display(),
                         u.text.substr(0, 200), u.only_on_old, u.only_on_new);
    }
    if (!t.unkeyed_listed)
      out << fmt::format("  {} differs; too many rows to list without a key\n", t.table.display());
  }
}

void render_findings(const verify_report& r, std::ostream& out) {
  for (const auto& s : r.schema)
    out << fmt::format("schema {}: {}: {}\n", level_name(s.level), s.table.display(), s.message);
  for (const auto& c : r.constraints)
    out << fmt::format("constraint {}: {}: {}\n", level_name(c.level), c.table.display(),
                       c.message);
  for (const auto& s : r.sequences) {
    if (!s.lags) continue;
    out << (s.new_next ? fmt::format("sequence {}: NEW's next value {} lags OLD's {}\n",
                                     s.sequence.display(), *s.new_next, s.old_next)
                       : fmt::format("sequence {}: missing on NEW\n", s.sequence.display()));
  }
  for (const auto& x : r.rules) {
    if (x.matches) continue;
    if (!x.error.empty())
      out << fmt::format("rule {}: {}\n", x.name, x.error);
    else
      out << fmt::format("rule {}: OLD gives [{}], NEW gives [{}]\n", x.name, x.old_result,
                         x.new_result);
  }
  for (const auto& n : r.notes) out << "note: " << n << '\n';
}

}  // namespace

bool verify_report::passed() const noexcept {
  if (interrupted) return false;
  for (const auto& t : tables)
    if (!t.matches()) return false;
  for (const auto& s : schema)
    if (s.level == severity::error) return false;
  for (const auto& c : constraints)
    if (c.level == severity::error) return false;
  for (const auto& s : sequences)
    if (s.lags) return false;
  for (const auto& x : rules)
    if (!x.matches) return false;
  return true;
}

std::string utc_timestamp(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms.count() % 1000);
}

std::string report_json(const verify_report& r, std::size_t max_rows) {
  const totals t = count_totals(r);
  json::object o;
  o["format"] = report_format;
  o["passed"] = r.passed();
  o["interrupted"] = r.interrupted;
  o["started_at"] = utc_timestamp(r.started);
  o["finished_at"] = utc_timestamp(r.finished);
  o["finished_at_unix"] =
      std::chrono::duration_cast<std::chrono::seconds>(r.finished.time_since_epoch()).count();
  o["seconds"] = std::chrono::duration<double>(r.finished - r.started).count();
  o["old"] = r.old_endpoint;
  o["new"] = r.new_endpoint;
  o["summary"] = json::object{{"tables", r.tables.size()},
                              {"tables_differing", t.differing_tables},
                              {"rows_missing_on_new", t.missing},
                              {"rows_extra_on_new", t.extra},
                              {"rows_different", t.different},
                              {"schema_errors", t.schema_errors},
                              {"schema_warnings", t.schema_warnings},
                              {"constraint_errors", t.constraint_errors},
                              {"sequences_lagging", t.lagging},
                              {"rules_failed", t.rules_failed}};
  json::array tables;
  for (const auto& tc : r.tables) tables.push_back(table_json(tc, max_rows));
  o["tables"] = std::move(tables);
  o["schema"] = schema_json(r);
  json::array constraints;
  for (const auto& c : r.constraints)
    constraints.push_back(json::object{{"table", c.table.display()},
                                       {"constraint", c.constraint},
                                       {"severity", level_name(c.level)},
                                       {"message", c.message}});
  o["constraints"] = std::move(constraints);
  json::array sequences;
  for (const auto& s : r.sequences)
    sequences.push_back(json::object{
        {"sequence", s.sequence.display()},
        {"old_next", s.old_next},
        {"new_next", s.new_next ? json::value(*s.new_next) : json::value(nullptr)},
        {"lags", s.lags}});
  o["sequences"] = std::move(sequences);
  json::array rules;
  for (const auto& x : r.rules)
    rules.push_back(json::object{{"name", x.name},
                                 {"matches", x.matches},
                                 {"old", x.old_result},
                                 {"new", x.new_result},
                                 {"error", x.error}});
  o["rules"] = std::move(rules);
  json::array notes;
  for (const auto& n : r.notes) notes.emplace_back(n);
  o["notes"] = std::move(notes);
  return json::serialize(o);
}

void render_report(const verify_report& r, std::ostream& out, std::size_t max_rows) {
  out << fmt::format("verify OLD {} against NEW {}\n\n", r.old_endpoint, r.new_endpoint);
  render_tables(r, out);
  out << '\n';
  render_rows(r, out, max_rows);
  render_findings(r, out);
  const totals t = count_totals(r);
  if (r.passed()) {
    out << fmt::format("PASSED: {} table(s) identical, {} sequence(s) in step, {} rule(s) hold",
                       r.tables.size(), r.sequences.size(), r.rules.size());
    if (t.schema_warnings > 0) out << fmt::format(", {} schema warning(s)", t.schema_warnings);
    out << '\n';
    return;
  }
  out << fmt::format(
      "FAILED{}: {} table(s) differ ({} rows missing on NEW, {} extra on NEW, {} different), "
      "{} schema error(s), {} constraint error(s), {} lagging sequence(s), {} failed rule(s)\n",
      r.interrupted ? " (interrupted)" : "", t.differing_tables, t.missing, t.extra, t.different,
      t.schema_errors, t.constraint_errors, t.lagging, t.rules_failed);
}

summary_or_error read_verify_summary(const std::filesystem::path& file) {
  std::error_code size_error;
  const auto size = std::filesystem::file_size(file, size_error);
  if (size_error) return {std::nullopt, "no verify report at " + file.string()};
  if (size > max_verify_report_bytes)
    return {std::nullopt, file.string() + " is too large to be a dwctl verify report"};
  std::ifstream in{file, std::ios::binary};
  if (!in) return {std::nullopt, "no verify report at " + file.string()};
  std::stringstream text;
  text << in.rdbuf();
  return parse_verify_summary(text.str(), file.string());
}

summary_or_error parse_verify_summary(std::string_view text, const std::string& file) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* format = o ? o->if_contains("format") : nullptr;
  const auto* passed = o ? o->if_contains("passed") : nullptr;
  const auto* finished = o ? o->if_contains("finished_at_unix") : nullptr;
  // system_clock counts nanoseconds in 64 bits: a time past 2262 would overflow it.
  constexpr std::int64_t last_second = 9'000'000'000;
  if (format == nullptr || !format->is_string() || format->get_string() != report_format ||
      passed == nullptr || !passed->is_bool() || finished == nullptr || !finished->is_int64() ||
      finished->get_int64() < 0 || finished->get_int64() > last_second)
    return {std::nullopt, file + " is not a dwctl verify report"};
  return {verify_summary{passed->get_bool(),
                         std::chrono::system_clock::time_point{
                             std::chrono::seconds{finished->get_int64()}}},
          ""};
}

void write_file_atomically(const std::filesystem::path& file, std::string_view content) {
  const auto tmp = std::filesystem::path{file.string() + ".tmp"};
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error{"cannot write " + tmp.string() + ": " + strerror(errno)};
  std::size_t done = 0;
  while (done < content.size()) {
    const auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error{"cannot write " + tmp.string() + ": " + strerror(errno)};
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), file.c_str()) != 0)
    throw std::runtime_error{"cannot write " + file.string() + ": " + strerror(errno)};
}

}  // namespace dw::compare
