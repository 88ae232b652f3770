// The two transactions of a chunk, and the COPY pipe between them. COPY takes no parameters,
// so key values inside its SELECT are literals escaped by libpq (PQescapeLiteral); everything
// else binds them as parameters.
#include "migrate/chunk_copy.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "compare/schema_diff.hpp"
#include "compare/table_sql.hpp"

namespace dw::migrate {
namespace {

using compare::column_list;
using compare::key_range;
using compare::pg_connection;
using compare::pg_error;
using compare::quote_ident;
using compare::value_binder;

constexpr std::string_view stage_name = "dw_backfill_stage";
constexpr std::string_view stage_table = "pg_temp.dw_backfill_stage";
constexpr std::string_view unique_violation = "23505";

std::string in_lock_timeout(std::chrono::milliseconds t) {
  return fmt::format("SET lock_timeout = '{}ms'", t.count());
}

void drain(pg_connection& conn) noexcept {
  try {
    std::string chunk;
    while (conn.read_copy(chunk)) {
    }
  } catch (const pg_error&) {  // the other side's failure is the one reported
  }
}

std::string format_clause(bool binary) { return binary ? " (FORMAT binary)" : ""; }

}  // namespace

std::string upsert_sql(const compare::table_info& target, const std::vector<std::string>& columns,
                       std::string_view rows_sql) {
  const auto& key = target.primary_key;
  std::vector<std::string> settable;
  for (const auto& c : columns) {
    const auto* col = target.column(c);
    // An identity ALWAYS column can only be updated to DEFAULT; it is written on insert only.
    if (std::find(key.begin(), key.end(), c) == key.end() && col != nullptr && col->identity != 'a')
      settable.push_back(c);
  }
  const auto cols = column_list(columns);
  std::string sql = "INSERT INTO " + target.name.sql() + " AS dst (" + cols +
                    ") OVERRIDING SYSTEM VALUE " + std::string{rows_sql} + " ON CONFLICT (" +
                    column_list(key) + ") DO ";
  if (settable.empty()) return sql + "NOTHING";
  std::string set, dst_row, new_row;
  for (const auto& c : settable) {
    const auto q = quote_ident(c);
    set += (set.empty() ? "" : ", ") + q + " = EXCLUDED." + q;
    dst_row += (dst_row.empty() ? "" : ", ") + ("dst." + q);
    new_row += (new_row.empty() ? "" : ", ") + ("EXCLUDED." + q);
  }
  // Compared as text: json, point and xml have no equality operator. Unchanged rows are not
  // rewritten, so a re-run leaves no dead tuples behind.
  return sql + "UPDATE SET " + set + " WHERE ROW(" + dst_row + ")::text IS DISTINCT FROM ROW(" +
         new_row + ")::text";
}

copy_plan plan_copy(const compare::table_info& source, const compare::table_info& target) {
  copy_plan p;
  p.source = source;
  p.target = target;
  p.columns = compare::shared_columns(source, target);
  for (const auto& c : p.columns) {
    const auto* s = source.column(c);
    const auto* t = target.column(c);
    // Binary COPY carries type OIDs inside arrays and records, and a binary int4 does not
    // read as int8: text is the safe format for anything not identical and built in.
    if (s->type != t->type || !s->builtin_type || !t->builtin_type) p.binary = false;
  }
  if (!target.primary_key.empty())
    p.upsert_sql = upsert_sql(target, p.columns,
                              "SELECT " + column_list(p.columns) + " FROM " + std::string{stage_table});
  return p;
}

bool prepare_sessions(pg_connection& source, pg_connection& target,
                      const copy_settings& settings) {
  source.run(in_lock_timeout(settings.source_lock_timeout));
  target.run(in_lock_timeout(settings.target_lock_timeout));
  try {
    target.run("SET session_replication_role = replica");
    return true;
  } catch (const pg_error& e) {
    if (e.connection_failed()) throw;
    return false;
  }
}

chunk_copier::chunk_copier(pg_connection& source, pg_connection& target, copy_plan plan,
                           copy_settings settings)
    : source_{source},
      target_{target},
      plan_{std::move(plan)},
      replica_role_{prepare_sessions(source, target, settings)} {}

void roll_back(pg_connection& target, pg_connection& source) noexcept {
  for (auto* c : {&target, &source}) {
    try {
      c->run("ROLLBACK");
    } catch (const pg_error&) {
    }
  }
}

void chunk_copier::roll_back_both() noexcept { roll_back(target_, source_); }

std::uint64_t chunk_copier::pipe(const std::string& select, const std::string& into,
                                 std::uint64_t& bytes) {
  source_.begin_copy_out("COPY (" + select + ") TO STDOUT" + format_clause(plan_.binary));
  try {
    target_.begin_copy_in("COPY " + into + " (" + column_list(plan_.columns) + ") FROM STDIN" +
                          format_clause(plan_.binary));
  } catch (...) {
    drain(source_);
    throw;
  }
  std::string chunk;
  for (;;) {
    bool more = false;
    try {
      more = source_.read_copy(chunk);
    } catch (...) {
      target_.abort_copy();
      throw;
    }
    if (!more) break;
    try {
      target_.put_copy(chunk);
    } catch (...) {
      drain(source_);
      throw;
    }
    bytes += chunk.size();
  }
  return target_.end_copy();
}

std::uint64_t chunk_copier::stage_and_upsert(const std::string& select, std::uint64_t& bytes) {
  if (!stage_ready_) {
    // Created inside the chunk's transaction, so a rollback takes it away (copy_range resets
    // stage_ready_); otherwise it lives as long as the session.
    target_.run("DROP TABLE IF EXISTS " + std::string{stage_table});
    target_.run("CREATE TEMP TABLE " + std::string{stage_name} + " AS SELECT " +
                column_list(plan_.columns) + " FROM " + plan_.target.name.sql() +
                " WITH NO DATA");
    stage_ready_ = true;
  }
  target_.run("TRUNCATE " + std::string{stage_table});
  const auto rows = pipe(select, std::string{stage_table}, bytes);
  target_.exec(plan_.upsert_sql);
  return rows;
}

std::optional<compare::key_value> find_chunk_end(pg_connection& source,
                                                 const compare::table_info& table,
                                                 const std::optional<compare::key_value>& after,
                                                 std::uint64_t rows) {
  value_binder b;
  const auto sql = compare::next_boundary_sql(table.name, table.primary_key, after, rows, b);
  const auto boundary = source.exec(sql, b.params);
  if (boundary.size() == 0) return std::nullopt;
  compare::key_value end;
  for (std::size_t c = 0; c < table.primary_key.size(); ++c) end.emplace_back(boundary.value(0, c));
  return end;
}

chunk_result chunk_copier::copy_range(const key_range& range) {
  try {
    return copy_locked_range(range);
  } catch (...) {
    roll_back_both();
    // A failed transaction may have dropped a staging table created inside it.
    stage_ready_ = false;
    throw;
  }
}

chunk_result chunk_copier::copy_locked_range(const key_range& range) {
  const auto& key = plan_.source.primary_key;
  const auto& table = plan_.source.name;
  chunk_result out;
  // READ COMMITTED, not REPEATABLE READ: a row a client changes while the chunk is read is
  // waited for and then locked and copied as committed (FOR SHARE follows the update), where
  // a snapshot would fail the whole chunk with a serialization error.
  source_.run("BEGIN");
  // The rows are locked as COPY reads them, in the same pass, and stay locked until the
  // source commits, after the target did.
  value_binder literals;
  literals.literal = [this](std::string_view v) { return source_.literal(v); };
  const auto select = "SELECT " + column_list(plan_.columns) + " FROM " + table.sql() + " WHERE " +
                      compare::range_predicate(key, range, literals) + " ORDER BY " +
                      column_list(key) + " FOR SHARE";

  target_.run("BEGIN");
  value_binder probe;
  const auto probe_sql = "SELECT EXISTS (SELECT 1 FROM " + plan_.target.name.sql() + " WHERE " +
                         compare::range_predicate(plan_.target.primary_key, range, probe) + ")";
  const auto occupied = target_.exec(probe_sql, probe.params);
  bool staged = occupied.boolean(0, 0);
  if (!staged) {
    // Straight into the table; a shadow insert racing us into the range shows up as a
    // duplicate key, and the chunk goes through the staging table instead.
    target_.run("SAVEPOINT dw_direct");
    try {
      out.rows = pipe(select, plan_.target.name.sql(), out.bytes);
    } catch (const pg_error& e) {
      if (e.sqlstate() != unique_violation) throw;
      target_.run("ROLLBACK TO SAVEPOINT dw_direct");
      out.bytes = 0;
      staged = true;
    }
  }
  if (staged) out.rows = stage_and_upsert(select, out.bytes);
  out.staged = staged;
  target_.run("COMMIT");
  source_.run("COMMIT");
  return out;
}

chunk_result chunk_copier::copy_whole_table() {
  chunk_result out;
  try {
    // LOCK first: in READ COMMITTED the COPY's snapshot is taken after the lock, so it sees
    // every write that committed before it and none can start until both sides commit.
    source_.run("BEGIN");
    source_.run("LOCK TABLE " + plan_.source.name.sql() + " IN SHARE MODE");
    target_.run("BEGIN");
    // A writer that committed on the source before the lock may not have committed its shadow
    // copy on the target yet; its rows are in the source's COPY, so wait for it (EXCLUSIVE
    // conflicts with its ROW EXCLUSIVE) or they would land twice. Readers are not blocked.
    target_.run("LOCK TABLE " + plan_.target.name.sql() + " IN EXCLUSIVE MODE");
    target_.run("DELETE FROM " + plan_.target.name.sql());
    out.rows = pipe("SELECT " + column_list(plan_.columns) + " FROM " + plan_.source.name.sql(),
                    plan_.target.name.sql(), out.bytes);
    target_.run("COMMIT");
    source_.run("COMMIT");
  } catch (...) {
    roll_back_both();
    throw;
  }
  return out;
}

}  // namespace dw::migrate
