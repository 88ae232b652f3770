// Finding (through compare_table), planning and applying repairs, and the change log.
#include "migrate/repair.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <map>
#include <ostream>
#include <stdexcept>

#include "compare/table_sql.hpp"
#include "compare/verify.hpp"
#include "compare/verify_report.hpp"
#include "migrate/retry.hpp"

namespace dw::migrate {
namespace {

namespace json = boost::json;
using compare::column_list;
using compare::key_value;
using compare::pg_connection;
using compare::pg_error;
using compare::row_difference_kind;
using compare::value_binder;

/// Append-only JSON lines, private to the operator: the rows it records are the data itself.
class change_log {
 public:
  explicit change_log(const std::filesystem::path& file)
      : fd_{::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)} {
    if (fd_ < 0) throw std::runtime_error{"cannot open repair log " + file.string()};
  }
  ~change_log() { ::close(fd_); }
  change_log(const change_log&) = delete;
  change_log& operator=(const change_log&) = delete;

  void write(const json::object& entry) {
    const auto line = json::serialize(entry) + "\n";
    std::size_t done = 0;
    while (done < line.size()) {
      const auto n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error{"cannot write the repair log"};
      done += static_cast<std::size_t>(n);
    }
  }

 private:
  int fd_;
};

json::object key_json(const std::vector<std::string>& columns, const key_value& key) {
  json::object o;
  for (std::size_t i = 0; i < columns.size() && i < key.size(); ++i) o[columns[i]] = key[i];
  return o;
}

/// One side's current rows for a batch of keys: key -> (row text, column values).
struct current_row {
  std::string text;
  std::vector<std::optional<std::string>> values;
};
using current_rows = std::map<std::string, current_row>;

current_rows read_rows(pg_connection& conn, const compare::table_info& t,
                       const std::vector<std::string>& columns, const std::vector<key_value>& keys) {
  value_binder b;
  const auto select = column_list(t.primary_key) + ", ROW(" + column_list(columns) + ")::text" +
                      (columns.empty() ? "" : ", " + column_list(columns));
  const auto sql = compare::rows_by_key_sql(t.name, t.primary_key, select, keys, b);
  const auto rows = conn.exec(sql, b.params);
  current_rows out;
  const auto k = t.primary_key.size();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    key_value key;
    for (std::size_t c = 0; c < k; ++c) key.emplace_back(rows.value(r, c));
    current_row row{std::string{rows.value(r, k)}, {}};
    for (std::size_t c = 0; c < columns.size(); ++c) row.values.push_back(rows.optional(r, k + 1 + c));
    out.emplace(compare::flat_key(key), std::move(row));
  }
  return out;
}

class fixer {
 public:
  fixer(pg_connection& source, pg_connection& target, const compare::table_info& src,
        const compare::table_info& tgt, const repair_options& opts, change_log& log,
        table_repair& out)
      : source_{source}, target_{target}, src_{src}, tgt_{tgt}, opts_{opts}, log_{log}, out_{out},
        columns_{compare::shared_columns(src, tgt)} {
    std::string values;
    for (std::size_t i = 0; i < columns_.size(); ++i) values += fmt::format("{}${}", i ? ", " : "", i + 1);
    upsert_ = upsert_sql(tgt, columns_, "VALUES (" + values + ")");
  }

  void apply(const std::vector<key_value>& keys) {
    with_retries(opts_.max_retries, [&] { apply_locked(keys); }, [] {});
  }

 private:
  void apply_locked(const std::vector<key_value>& keys) {
    std::vector<json::object> entries;
    std::uint64_t equal = 0;
    try {
      source_.run("BEGIN");
      source_.run("LOCK TABLE " + src_.name.sql() + " IN SHARE MODE");
      const auto wanted = read_rows(source_, src_, columns_, keys);
      target_.run("BEGIN");
      const auto present = read_rows(target_, tgt_, columns_, keys);
      for (const auto& key : keys) {
        const auto s = wanted.find(compare::flat_key(key));
        const auto t = present.find(compare::flat_key(key));
        const bool on_source = s != wanted.end(), on_target = t != present.end();
        if (on_source == on_target && (!on_source || s->second.text == t->second.text)) {
          ++equal;
          continue;
        }
        entries.push_back(change(key, on_source ? &s->second : nullptr,
                                 on_target ? &t->second : nullptr));
      }
      target_.run("COMMIT");
      source_.run("COMMIT");
    } catch (...) {
      roll_back(target_, source_);
      throw;
    }
    out_.already_equal += equal;
    for (auto& e : entries) {
      const auto action = e["action"].as_string();
      (action == "insert" ? out_.inserted : action == "update" ? out_.updated : out_.deleted)++;
      log_.write(e);
    }
  }

  json::object change(const key_value& key, const current_row* wanted, const current_row* present) {
    json::object e{{"time", compare::utc_timestamp(std::chrono::system_clock::now())},
                   {"direction", opts_.direction == repair_direction::old_to_new ? "old_to_new"
                                                                                 : "new_to_old"},
                   {"table", tgt_.name.display()},
                   {"key", key_json(tgt_.primary_key, key)},
                   {"before", present ? json::value(present->text) : json::value(nullptr)},
                   {"after", wanted ? json::value(wanted->text) : json::value(nullptr)}};
    if (wanted != nullptr) {
      target_.exec(upsert_, wanted->values);
      e["action"] = to_string(present ? repair_action::update : repair_action::insert);
    } else {
      value_binder b;
      const auto sql = "DELETE FROM " + tgt_.name.sql() + " WHERE (" +
                       column_list(tgt_.primary_key) + ") = " + bind_key(key, b);
      target_.exec(sql, b.params);
      e["action"] = to_string(repair_action::remove);
    }
    return e;
  }

  static std::string bind_key(const key_value& key, value_binder& b) {
    std::string s = "(";
    for (std::size_t i = 0; i < key.size(); ++i) s += (i ? ", " : "") + b.bind(key[i]);
    return s + ")";
  }

  pg_connection& source_;
  pg_connection& target_;
  const compare::table_info& src_;
  const compare::table_info& tgt_;
  const repair_options& opts_;
  change_log& log_;
  table_repair& out_;
  std::vector<std::string> columns_;
  std::string upsert_;
};

struct sides {
  pg_connection& source;
  pg_connection& target;
  const compare::table_info& src;
  const compare::table_info& tgt;
};

sides oriented(pg_connection& o, pg_connection& n, const compare::table_pair& p,
               repair_direction d) {
  if (d == repair_direction::old_to_new) return {o, n, p.old_table, p.new_table};
  return {n, o, p.new_table, p.old_table};
}

/// The rows a keyless table's replacement removes from the target and adds to it, as the
/// comparison listed them (row text and surplus copies).
std::pair<json::array, json::array> surplus_rows(const compare::table_comparison& found,
                                                 repair_direction d) {
  json::array removed, added;
  for (const auto& u : found.unkeyed) {
    const auto on_target = d == repair_direction::old_to_new ? u.only_on_new : u.only_on_old;
    const auto on_source = d == repair_direction::old_to_new ? u.only_on_old : u.only_on_new;
    if (on_target > 0) removed.push_back(json::object{{"row", u.text}, {"copies", on_target}});
    if (on_source > 0) added.push_back(json::object{{"row", u.text}, {"copies", on_source}});
  }
  return {std::move(removed), std::move(added)};
}

void replace_whole(const sides& s, const compare::table_comparison& found,
                   const repair_options& opts, change_log& log, table_repair& out) {
  chunk_copier copier{s.source, s.target, plan_copy(s.src, s.tgt), opts.copying};
  const auto before = s.target.exec("SELECT count(*) FROM " + s.tgt.name.sql()).integer(0, 0);
  const auto r = with_retries(opts.max_retries, [&] { return copier.copy_whole_table(); }, [] {});
  out.replaced = true;
  auto [removed, added] = surplus_rows(found, opts.direction);
  json::object entry{{"time", compare::utc_timestamp(std::chrono::system_clock::now())},
                     {"table", s.tgt.name.display()},
                     {"action", to_string(repair_action::replace_table)},
                     {"rows_before", before},
                     {"rows_after", r.rows}};
  // A table too large to list was compared by its counts alone (table_checksum.hpp).
  if (found.unkeyed_listed) {
    entry["rows_removed"] = std::move(removed);
    entry["rows_added"] = std::move(added);
  }
  log.write(entry);
}

void repair_table(pg_connection& o, pg_connection& n, const compare::table_pair& pair,
                  const compare::compare_settings& settings, const repair_options& opts,
                  change_log* log, table_repair& out) {
  const auto found = compare::compare_table(o, n, pair, settings);
  if (!found.error.empty()) {
    out.error = found.error;
    return;
  }
  if (found.matches()) return;
  if (out.key.empty()) {
    out.planned.push_back({repair_action::replace_table, {}});
    if (log != nullptr)
      replace_whole(oriented(o, n, pair, opts.direction), found, opts, *log, out);
    return;
  }
  out.planned = plan_fixes(found.rows, opts.direction);
  if (log == nullptr) return;
  const auto s = oriented(o, n, pair, opts.direction);
  prepare_sessions(s.source, s.target, opts.copying);
  fixer f{s.source, s.target, s.src, s.tgt, opts, *log, out};
  for (std::size_t i = 0; i < out.planned.size(); i += opts.batch_rows) {
    if (opts.stop != nullptr && opts.stop->load()) return;
    std::vector<key_value> keys;
    for (std::size_t j = i; j < std::min(out.planned.size(), i + opts.batch_rows); ++j)
      keys.push_back(out.planned[j].key);
    f.apply(keys);
  }
}

}  // namespace

std::string_view to_string(repair_action a) noexcept {
  switch (a) {
    case repair_action::insert:
      return "insert";
    case repair_action::update:
      return "update";
    case repair_action::remove:
      return "delete";
    case repair_action::replace_table:
      return "replace_table";
  }
  return "update";
}

std::vector<planned_fix> plan_fixes(const std::vector<compare::row_difference>& rows,
                                    repair_direction direction) {
  const bool forward = direction == repair_direction::old_to_new;
  std::vector<planned_fix> out;
  for (const auto& r : rows) {
    repair_action a = repair_action::update;
    if (r.kind == row_difference_kind::missing_on_new)
      a = forward ? repair_action::insert : repair_action::remove;
    else if (r.kind == row_difference_kind::extra_on_new)
      a = forward ? repair_action::remove : repair_action::insert;
    out.push_back({a, r.key});
  }
  return out;
}

std::uint64_t repair_summary::planned() const noexcept {
  std::uint64_t n = 0;
  for (const auto& t : tables) n += t.planned.size();
  return n;
}

std::uint64_t repair_summary::changed() const noexcept {
  std::uint64_t n = 0;
  for (const auto& t : tables) n += t.inserted + t.updated + t.deleted + (t.replaced ? 1 : 0);
  return n;
}

bool repair_summary::ok() const noexcept {
  if (interrupted) return false;
  for (const auto& t : tables)
    if (!t.error.empty()) return false;
  return true;
}

repair_summary run_repair(const compare::pg_endpoint& old_side,
                          const compare::pg_endpoint& new_side, const repair_options& options) {
  repair_summary s;
  s.old_endpoint = old_side.description;
  s.new_endpoint = new_side.description;
  s.direction = options.direction;
  s.applied = options.apply;
  s.log = options.log;
  pg_connection o{old_side};
  pg_connection n{new_side};
  const auto plan = compare::plan_tables(o, n, options.tables);
  for (const auto& m : plan.missing_on_new) {
    table_repair t;
    t.table = m.table;
    t.error = "table missing on NEW: repair fixes rows, not schemas";
    s.tables.push_back(std::move(t));
  }
  std::unique_ptr<change_log> log;
  if (options.apply) log = std::make_unique<change_log>(options.log);
  compare::rate_limiter limiter{options.max_rows_per_second};
  compare::compare_settings settings;
  settings.chunking = options.chunking;
  settings.limiter = &limiter;
  settings.recheck_rounds = options.recheck_rounds;
  settings.recheck_delay = options.recheck_delay;
  settings.stop = options.stop;
  for (const auto& pair : plan.pairs) {
    if (options.stop != nullptr && options.stop->load()) break;
    table_repair t;
    t.table = pair.old_table.name;
    t.key = pair.old_table.primary_key;
    try {
      repair_table(o, n, pair, settings, options, log.get(), t);
    } catch (const pg_error& e) {
      if (e.connection_failed()) throw;
      t.error = e.what();
    }
    s.tables.push_back(std::move(t));
  }
  s.interrupted = options.stop != nullptr && options.stop->load();
  return s;
}

void render_repair(const repair_summary& s, std::ostream& out, std::size_t max_rows) {
  const bool forward = s.direction == repair_direction::old_to_new;
  out << fmt::format("repair {} {} -> {} {}{}\n\n", forward ? "OLD" : "NEW",
                     forward ? s.old_endpoint : s.new_endpoint, forward ? "NEW" : "OLD",
                     forward ? s.new_endpoint : s.old_endpoint,
                     s.applied ? "" : " (dry run: nothing is changed; --apply to change)");
  for (const auto& t : s.tables) {
    if (!t.error.empty()) out << fmt::format("{}: ERROR: {}\n", t.table.display(), t.error);
    if (t.planned.empty()) continue;
    if (t.key.empty()) {
      out << fmt::format("{} (no key): {} the whole table on {}\n", t.table.display(),
                         t.replaced ? "replaced" : "would replace", forward ? "NEW" : "OLD");
      continue;
    }
    out << fmt::format("{}: {} row(s) differ", t.table.display(), t.planned.size());
    if (s.applied)
      out << fmt::format("; {} inserted, {} updated, {} deleted, {} equal by now", t.inserted,
                         t.updated, t.deleted, t.already_equal);
    out << '\n';
    for (std::size_t i = 0; i < t.planned.size() && i < max_rows; ++i) {
      std::string key;
      for (std::size_t c = 0; c < t.key.size(); ++c)
        key += fmt::format("{}{}={}", c ? ", " : "", t.key[c], t.planned[i].key[c]);
      out << fmt::format("  {} {}\n", to_string(t.planned[i].action), key);
    }
    if (t.planned.size() > max_rows)
      out << fmt::format("  ... and {} more\n", t.planned.size() - max_rows);
  }
  if (!s.ok())
    out << "FAILED: see the errors above\n";
  else if (s.planned() == 0)
    out << "NOTHING TO REPAIR: the tables match\n";
  else if (!s.applied)
    out << fmt::format("PENDING: {} change(s); run again with --apply\n", s.planned());
  else
    out << fmt::format("APPLIED: {} change(s), each logged to {}; next: dwctl verify\n",
                       s.changed(), s.log.string());
}

std::string repair_json(const repair_summary& s) {
  json::array tables;
  for (const auto& t : s.tables) {
    json::array rows;
    for (const auto& p : t.planned)
      rows.push_back(json::object{{"action", to_string(p.action)}, {"key", key_json(t.key, p.key)}});
    tables.push_back(json::object{{"table", t.table.display()},
                                  {"planned", std::move(rows)},
                                  {"inserted", t.inserted},
                                  {"updated", t.updated},
                                  {"deleted", t.deleted},
                                  {"already_equal", t.already_equal},
                                  {"replaced", t.replaced},
                                  {"error", t.error}});
  }
  return json::serialize(json::object{
      {"ok", s.ok()},
      {"applied", s.applied},
      {"direction", s.direction == repair_direction::old_to_new ? "old_to_new" : "new_to_old"},
      {"planned", s.planned()},
      {"changed", s.changed()},
      {"log", s.applied ? json::value(s.log.string()) : json::value(nullptr)},
      {"tables", std::move(tables)}});
}

}  // namespace dw::migrate
