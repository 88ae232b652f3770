// The backfill run. A scheduler hands out the chunks of the selected tables in key order to
// `jobs` workers, each with its own pair of connections: a large table is copied by every
// worker at once, and the next table starts as soon as a worker finds nothing left to claim
// in the previous one. Each table's complete prefix of chunks goes to the checkpoint
// (chunk_tracker), and its sequences move up once its last chunk landed.
#include "migrate/backfill.hpp"

#include <fmt/format.h>

#include <memory>
#include <mutex>
#include <thread>

#include "compare/verify.hpp"
#include "migrate/checkpoint.hpp"
#include "migrate/chunk_tracker.hpp"
#include "migrate/progress.hpp"
#include "migrate/retry.hpp"
#include "migrate/sequences.hpp"

namespace dw::migrate {
namespace {

using clock_type = std::chrono::steady_clock;
using compare::pg_connection;
using compare::pg_error;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

/// One table's shared state, guarded by `mutex`.
struct table_state {
  table_state(const compare::table_pair& p, const table_progress& start,
              const compare::chunk_limits& limits)
      : pair{p}, tracker{start}, sizer{limits}, cursor{start.after} {
    out.table = p.old_table.name;
    out.already_done = start.done;
    out.resumed = start.after.has_value() && !start.done;
  }

  const compare::table_pair& pair;
  std::mutex mutex;
  chunk_tracker tracker;
  compare::chunk_sizer sizer;
  std::optional<compare::key_value> cursor;  ///< the next chunk starts after this key
  bool exhausted = false;  ///< the chunk reaching the table's end has been handed out
  bool failed = false;
  std::optional<clock_type::time_point> started;
  table_backfill out;
};

/// One chunk handed to a worker.
struct ticket {
  table_state* table = nullptr;
  std::uint64_t chunk = 0;
  compare::key_range range;
  bool whole_table = false;  ///< no key: the table is copied as a whole
};

class scheduler {
 public:
  scheduler(const compare::table_plan& plan, const backfill_options& opts, checkpoint& cp,
            progress_meter& meter)
      : opts_{opts}, cp_{cp}, meter_{meter} {
    for (const auto& p : plan.pairs)
      tables_.push_back(
          std::make_unique<table_state>(p, cp.get(p.old_table.name), opts.chunking));
  }

  /// The next chunk to copy, its end found on `source`; std::nullopt when nothing is left.
  std::optional<ticket> claim(pg_connection& source) {
    for (auto& t : tables_) {
      const std::lock_guard lock{t->mutex};
      if (t->out.already_done || t->failed || t->exhausted) continue;
      if (!t->started) t->started = clock_type::now();
      ticket k{t.get(), 0, {t->cursor, std::nullopt}, t->pair.old_table.primary_key.empty()};
      try {
        if (!k.whole_table)
          k.range.up_to = find_chunk_end(source, t->pair.old_table, t->cursor, t->sizer.next());
      } catch (const pg_error& e) {
        if (e.connection_failed()) throw;
        fail(*t, e.what());
        continue;
      }
      k.chunk = t->tracker.open(k.range.up_to);
      t->cursor = k.range.up_to;
      t->exhausted = !k.range.up_to;
      return k;
    }
    return std::nullopt;
  }

  void describe(const ticket& k, const chunk_copier& copier) {
    const std::lock_guard lock{k.table->mutex};
    if (!k.table->out.method.empty()) return;
    k.table->out.method = fmt::format("{} ({} COPY)", k.whole_table ? "whole table" : "chunks",
                                      copier.plan().binary ? "binary" : "text");
    if (!copier.replica_role()) k.table->out.method += ", triggers on";
  }

  void retried(const ticket& k) {
    const std::lock_guard lock{k.table->mutex};
    ++k.table->out.retries;
    k.table->sizer.shrink();
  }

  void failed(const ticket& k, const std::string& message) {
    const std::lock_guard lock{k.table->mutex};
    fail(*k.table, message);
  }

  /// Accounts a copied chunk; saves the checkpoint when the table's complete prefix grew,
  /// and finishes the table (sequences, `done`) once its last chunk is in.
  void finished(const ticket& k, const chunk_result& r, std::chrono::microseconds took,
                pg_connection& source, pg_connection& target) {
    auto& t = *k.table;
    std::unique_lock lock{t.mutex};
    if (!k.whole_table) t.sizer.record(r.rows, took);
    ++t.out.chunks;
    t.out.staged_chunks += r.staged ? 1 : 0;
    t.out.rows += r.rows;
    t.out.bytes += r.bytes;
    meter_.add(r.rows, r.bytes);
    if (!t.tracker.close(k.chunk, r.rows, r.bytes)) return;
    auto progress = t.tracker.progress();
    if (!progress.done) {
      cp_.record(t.out.table, progress);
      return;
    }
    lock.unlock();
    // Once per table: only the close that completed the prefix gets here.
    const auto moved = opts_.sequences ? catch_up_sequences(source, target, {t.out.table}) : 0;
    lock.lock();
    cp_.record(t.out.table, progress);
    t.out.sequences_moved = moved;
    t.out.completed = true;
    t.out.seconds = seconds_since(*t.started);
    meter_.note(fmt::format("{}: {} rows, {} in {:.1f} s", t.out.table.display(), t.out.rows,
                            format_bytes(t.out.bytes), t.out.seconds));
  }

  [[nodiscard]] std::vector<table_backfill> results() {
    std::vector<table_backfill> out;
    for (auto& t : tables_) {
      const std::lock_guard lock{t->mutex};
      if (!t->out.completed && t->started) t->out.seconds = seconds_since(*t->started);
      out.push_back(t->out);
    }
    return out;
  }

 private:
  static void fail(table_state& t, const std::string& message) {
    t.failed = true;
    if (t.out.error.empty()) t.out.error = message;
  }

  const backfill_options& opts_;
  checkpoint& cp_;
  progress_meter& meter_;
  std::vector<std::unique_ptr<table_state>> tables_;
};

bool stopping(const backfill_options& o) { return o.stop != nullptr && o.stop->load(); }

/// One worker: claims chunks until none are left or the run is stopped. A statement that
/// fails for good fails its table; a lost connection ends the run (rethrown).
void work(pg_connection& o, pg_connection& n, scheduler& s, const backfill_options& opts,
          compare::rate_limiter& limiter) {
  std::unique_ptr<chunk_copier> copier;
  const table_state* copier_for = nullptr;
  while (!stopping(opts)) {
    const auto k = s.claim(o);
    if (!k) return;
    std::uint64_t rows = 0;
    try {
      // A worker never returns to a table it left, so one copier (and staging table) at a time.
      if (copier_for != k->table) {
        copier = std::make_unique<chunk_copier>(
            o, n, plan_copy(k->table->pair.old_table, k->table->pair.new_table), opts.copying);
        copier_for = k->table;
        s.describe(*k, *copier);
      }
      const auto started = clock_type::now();
      const auto r = with_retries(
          opts.max_retries,
          [&] { return k->whole_table ? copier->copy_whole_table() : copier->copy_range(k->range); },
          [&] { s.retried(*k); });
      rows = r.rows;
      s.finished(*k, r,
                 std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - started),
                 o, n);
    } catch (const pg_error& e) {
      if (e.connection_failed()) throw;
      s.failed(*k, e.what());
    }
    std::this_thread::sleep_for(limiter.admit(rows, clock_type::now()));
  }
}

std::uint64_t remaining_estimate(const compare::table_plan& plan, const checkpoint& cp) {
  std::uint64_t total = 0;
  for (const auto& p : plan.pairs) {
    const auto done = cp.get(p.old_table.name);
    const auto estimate = static_cast<std::uint64_t>(std::max(0.0, p.old_table.estimated_rows));
    if (!done.done && estimate > done.rows) total += estimate - done.rows;
  }
  return total;
}

/// --sequences-only: no rows and no checkpoint (a backfill in progress keeps its own).
void move_sequences_only(pg_connection& o, pg_connection& n, const compare::table_plan& plan,
                         const backfill_options& options, backfill_summary& s) {
  std::vector<compare::table_name> tables;
  if (!options.tables.empty())
    for (const auto& p : plan.pairs) tables.push_back(p.old_table.name);
  const auto moved = catch_up_sequences(o, n, tables);
  s.notes.push_back(fmt::format("sequences only: {} sequence(s) on NEW moved up to OLD's", moved));
}

}  // namespace

backfill_summary run_backfill(const compare::pg_endpoint& old_side,
                              const compare::pg_endpoint& new_side,
                              const backfill_options& options) {
  const auto started = clock_type::now();
  backfill_summary s;
  s.old_endpoint = old_side.description;
  s.new_endpoint = new_side.description;
  pg_connection old_conn{old_side};
  pg_connection new_conn{new_side};
  const auto plan = compare::plan_tables(old_conn, new_conn, options.tables);
  if (options.sequences_only) {
    move_sequences_only(old_conn, new_conn, plan, options, s);
    s.seconds = seconds_since(started);
    return s;
  }
  checkpoint cp{options.checkpoint, old_side.description, new_side.description, options.restart};
  if (cp.resumed()) s.notes.push_back("resumed from checkpoint " + options.checkpoint.string());
  for (const auto& m : plan.missing_on_new) {
    table_backfill missing;
    missing.table = m.table;
    missing.error = "table missing on NEW: create the schema on NEW first";
    s.tables.push_back(std::move(missing));
  }

  progress_meter meter{options.progress, options.progress_terminal, remaining_estimate(plan, cp)};
  compare::rate_limiter limiter{options.max_rows_per_second};
  scheduler chunks{plan, options, cp, meter};
  compare::run_parallel(old_side, new_side, options.jobs, options.jobs,
                        [&](pg_connection& o, pg_connection& n, std::size_t) {
                          work(o, n, chunks, options, limiter);
                        });
  meter.finish();
  const auto done = chunks.results();
  s.tables.insert(s.tables.end(), done.begin(), done.end());
  s.interrupted = stopping(options);
  for (const auto& t : s.tables)
    if (t.method.find("triggers on") != std::string::npos) {
      s.notes.push_back(
          "session_replication_role = replica was refused on NEW (needs superuser): triggers "
          "and foreign-key checks fired for copied rows");
      break;
    }
  s.seconds = seconds_since(started);
  if (s.ok()) cp.remove();
  return s;
}

}  // namespace dw::migrate
