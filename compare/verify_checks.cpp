#include "compare/verify_checks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <thread>

#include "compare/table_catalog.hpp"
#include "compare/table_sql.hpp"

namespace dw::compare {
namespace {

constexpr std::size_t max_rule_text = 1000;

bool selected(const std::vector<table_name>& tables, const table_name& t) {
  return tables.empty() || std::find(tables.begin(), tables.end(), t) != tables.end();
}

/// Child rows whose non-NULL key has no parent row (MATCH SIMPLE: any NULL column exempts).
std::string orphans_sql(const foreign_key& fk) {
  std::string not_null, joined;
  for (std::size_t i = 0; i < fk.child_columns.size(); ++i) {
    const auto c = "c." + quote_ident(fk.child_columns[i]);
    not_null += (i ? " AND " : "") + c + " IS NOT NULL";
    joined += (i ? " AND " : "") + ("p." + quote_ident(fk.parent_columns[i])) + " = " + c;
  }
  return "SELECT count(*) FROM " + fk.child.sql() + " c WHERE " + not_null +
         " AND NOT EXISTS (SELECT 1 FROM " + fk.parent.sql() + " p WHERE " + joined + ")";
}

void check_foreign_keys(pg_connection& conn, const std::vector<table_name>& tables,
                        std::vector<constraint_finding>& out) {
  for (const auto& fk : read_foreign_keys(conn)) {
    if (!selected(tables, fk.child)) continue;
    const auto orphans = conn.exec(orphans_sql(fk)).integer(0, 0);
    if (orphans > 0)
      out.push_back({fk.child, fk.name, severity::error,
                     fmt::format("foreign key {}: {} row(s) on NEW reference no row of {}",
                                 quote_ident(fk.name), orphans, fk.parent.display())});
    else if (!fk.validated)
      out.push_back({fk.child, fk.name, severity::warning,
                     fmt::format("foreign key {} is NOT VALID on NEW (every row satisfies it "
                                 "now; ALTER TABLE ... VALIDATE CONSTRAINT makes it binding)",
                                 quote_ident(fk.name))});
  }
}

void check_unvalidated_checks(pg_connection& conn, const std::vector<table_name>& tables,
                              std::vector<constraint_finding>& out) {
  for (const auto& c : read_check_constraints(conn)) {
    // A validated CHECK is enforced on every write, even with triggers off: nothing to count.
    if (c.validated || !selected(tables, c.table)) continue;
    const auto broken =
        conn.exec("SELECT count(*) FROM " + c.table.sql() + " WHERE (" + c.expression + ") IS FALSE")
            .integer(0, 0);
    out.push_back({c.table, c.name, broken > 0 ? severity::error : severity::warning,
                   broken > 0 ? fmt::format("check constraint {} (NOT VALID): {} row(s) on NEW "
                                            "break it",
                                            quote_ident(c.name), broken)
                              : fmt::format("check constraint {} is NOT VALID on NEW (every row "
                                            "satisfies it now)",
                                            quote_ident(c.name))});
  }
}

std::string result_text(const pg_rows& rows) {
  std::string s;
  for (std::size_t r = 0; r < rows.size() && s.size() < max_rule_text; ++r) {
    if (r > 0) s += "\n";
    for (std::size_t c = 0; c < rows.columns(); ++c) {
      if (c > 0) s += " | ";
      s += rows.is_null(r, c) ? std::string{"NULL"} : std::string{rows.value(r, c)};
    }
  }
  if (s.size() > max_rule_text) s = s.substr(0, max_rule_text) + "...";
  return s;
}

}  // namespace

std::vector<constraint_finding> check_constraints(pg_connection& new_conn,
                                                  const std::vector<table_info>& new_tables,
                                                  const std::vector<table_name>& tables) {
  std::vector<constraint_finding> out;
  check_foreign_keys(new_conn, tables, out);
  check_unvalidated_checks(new_conn, tables, out);
  for (const auto& t : new_tables) {
    if (!selected(tables, t.name)) continue;
    for (const auto& i : t.indexes)
      if (!i.valid)
        out.push_back({t.name, i.name, severity::error,
                       fmt::format("index {} is invalid on NEW (a failed CREATE INDEX "
                                   "CONCURRENTLY?): it enforces and serves nothing; REINDEX it",
                                   quote_ident(i.name))});
  }
  return out;
}

bool sequence_lags(std::int64_t increment, std::int64_t old_next, std::int64_t new_next) noexcept {
  return increment >= 0 ? new_next < old_next : new_next > old_next;
}

std::vector<sequence_comparison> compare_sequences(const std::vector<sequence_info>& old_sequences,
                                                   const std::vector<sequence_info>& new_sequences,
                                                   const std::vector<table_name>& tables) {
  std::map<table_name, const sequence_info*> on_new;
  for (const auto& s : new_sequences) on_new.emplace(s.name, &s);
  std::vector<sequence_comparison> out;
  for (const auto& o : old_sequences) {
    if (!tables.empty() && !(o.owned_by && selected(tables, *o.owned_by))) continue;
    sequence_comparison c{o.name, o.next_value, std::nullopt, true};
    if (auto n = on_new.find(o.name); n != on_new.end()) {
      c.new_next = n->second->next_value;
      c.lags = sequence_lags(o.increment, o.next_value, *c.new_next);
    }
    out.push_back(c);
  }
  return out;
}

std::vector<rule_outcome> run_rules(pg_connection& old_conn, pg_connection& new_conn,
                                    const std::vector<business_rule>& rules, const settle& again) {
  std::vector<rule_outcome> out;
  for (const auto& rule : rules) {
    rule_outcome r;
    r.name = rule.name;
    try {
      // Each side answers at its own instant: under live writes a sum can differ for the
      // moment a write takes to reach NEW, so a mismatch is asked again before it counts.
      for (int round = 0;; ++round) {
        r.old_result = result_text(old_conn.exec(rule.sql));
        r.new_result = result_text(new_conn.exec(rule.sql));
        r.matches = r.old_result == r.new_result;
        if (r.matches || round >= again.rounds) break;
        std::this_thread::sleep_for(again.delay);
      }
    } catch (const pg_error& e) {
      if (e.connection_failed()) throw;
      r.error = e.what();
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<sequence_comparison> settled_sequences(pg_connection& old_conn,
                                                   pg_connection& new_conn,
                                                   const std::vector<table_name>& tables,
                                                   const settle& again) {
  const auto old_sequences = read_sequences(old_conn);
  auto out = compare_sequences(old_sequences, read_sequences(new_conn), tables);
  const auto behind = [&] {
    return std::any_of(out.begin(), out.end(), [](const auto& c) { return c.lags && c.new_next; });
  };
  // OLD takes an insert's value before the shadow takes it on NEW; NEW only lags if it has not
  // reached, a moment later, where OLD stood at the first look.
  for (int round = 0; round < again.rounds && behind(); ++round) {
    std::this_thread::sleep_for(again.delay);
    out = compare_sequences(old_sequences, read_sequences(new_conn), tables);
  }
  return out;
}

}  // namespace dw::compare
