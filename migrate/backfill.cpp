// The per-table loop of backfill: resume point, chunk, retry, checkpoint, progress, throttle.
#include "migrate/backfill.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <ostream>
#include <thread>

#include "compare/verify.hpp"
#include "migrate/checkpoint.hpp"
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

class table_job {
 public:
  table_job(pg_connection& o, pg_connection& n, const compare::table_pair& pair,
            const backfill_options& opts, checkpoint& cp, progress_meter& meter,
            compare::rate_limiter& limiter)
      : o_{o}, n_{n}, pair_{pair}, opts_{opts}, cp_{cp}, meter_{meter}, limiter_{limiter},
        sizer_{opts.chunking} {
    out_.table = pair.old_table.name;
  }

  table_backfill run() {
    const auto started = clock_type::now();
    auto progress = cp_.get(out_.table);
    if (progress.done) {
      out_.already_done = true;
      return out_;
    }
    try {
      chunk_copier copier{o_, n_, plan_copy(pair_.old_table, pair_.new_table), opts_.copying};
      out_.method = fmt::format("{} ({} COPY)",
                                pair_.old_table.primary_key.empty() ? "whole table" : "chunks",
                                copier.plan().binary ? "binary" : "text");
      if (!copier.replica_role()) out_.method += ", triggers on";
      if (pair_.old_table.primary_key.empty())
        copy_whole(copier, progress);
      else
        copy_chunks(copier, progress);
    } catch (const pg_error& e) {
      if (e.connection_failed()) throw;
      out_.error = e.what();
    }
    out_.seconds = seconds_since(started);
    if (progress.done)
      meter_.note(fmt::format("{}: {} rows, {} in {:.1f} s", out_.table.display(), out_.rows,
                              format_bytes(out_.bytes), out_.seconds));
    return out_;
  }

 private:
  template <class Fn>
  chunk_result retried(Fn&& copy) {
    return with_retries(opts_.max_retries, copy, [this] {
      ++out_.retries;
      sizer_.shrink();
    });
  }

  void account(const chunk_result& r, table_progress& progress) {
    ++out_.chunks;
    out_.staged_chunks += r.staged ? 1 : 0;
    out_.rows += r.rows;
    out_.bytes += r.bytes;
    progress.rows += r.rows;
    progress.bytes += r.bytes;
    meter_.add(r.rows, r.bytes);
  }

  void finish(table_progress& progress) {
    if (opts_.sequences) out_.sequences_moved = catch_up_sequences(o_, n_, {out_.table});
    progress.done = true;
    cp_.record(out_.table, progress);
    out_.completed = true;
  }

  void copy_whole(chunk_copier& copier, table_progress& progress) {
    progress = {};
    account(retried([&] { return copier.copy_whole_table(); }), progress);
    finish(progress);
  }

  void copy_chunks(chunk_copier& copier, table_progress& progress) {
    out_.resumed = progress.after.has_value();
    for (;;) {
      if (opts_.stop != nullptr && opts_.stop->load()) return;
      const auto started = clock_type::now();
      const auto rows = sizer_.next();
      const auto r = retried([&] { return copier.copy_range(progress.after, rows); });
      sizer_.record(r.rows, std::chrono::duration_cast<std::chrono::microseconds>(
                                clock_type::now() - started));
      account(r, progress);
      if (!r.up_to) return finish(progress);
      progress.after = r.up_to;
      cp_.record(out_.table, progress);
      std::this_thread::sleep_for(limiter_.admit(r.rows, clock_type::now()));
    }
  }

  pg_connection& o_;
  pg_connection& n_;
  const compare::table_pair& pair_;
  const backfill_options& opts_;
  checkpoint& cp_;
  progress_meter& meter_;
  compare::rate_limiter& limiter_;
  compare::chunk_sizer sizer_;
  table_backfill out_;
};

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
void moved_sequences_only(pg_connection& o, pg_connection& n, const compare::table_plan& plan,
                          const backfill_options& options, backfill_summary& s) {
  std::vector<compare::table_name> tables;
  if (!options.tables.empty())
    for (const auto& p : plan.pairs) tables.push_back(p.old_table.name);
  const auto moved = catch_up_sequences(o, n, tables);
  s.notes.push_back(fmt::format("sequences only: {} sequence(s) on NEW moved up to OLD's", moved));
}

}  // namespace

bool backfill_summary::ok() const noexcept {
  if (interrupted) return false;
  for (const auto& t : tables)
    if (!t.error.empty()) return false;
  return true;
}

std::uint64_t backfill_summary::rows() const noexcept {
  std::uint64_t n = 0;
  for (const auto& t : tables) n += t.rows;
  return n;
}

std::uint64_t backfill_summary::bytes() const noexcept {
  std::uint64_t n = 0;
  for (const auto& t : tables) n += t.bytes;
  return n;
}

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
    moved_sequences_only(old_conn, new_conn, plan, options, s);
    s.seconds = seconds_since(started);
    return s;
  }
  checkpoint cp{options.checkpoint, old_side.description, new_side.description, options.restart};
  if (cp.resumed())
    s.notes.push_back("resumed from checkpoint " + options.checkpoint.string());
  for (const auto& m : plan.missing_on_new) {
    table_backfill missing;
    missing.table = m.table;
    missing.error = "table missing on NEW: create the schema on NEW first";
    s.tables.push_back(std::move(missing));
  }

  progress_meter meter{options.progress, options.progress_terminal, remaining_estimate(plan, cp)};
  compare::rate_limiter limiter{options.max_rows_per_second};
  std::vector<table_backfill> done(plan.pairs.size());
  compare::run_parallel(old_side, new_side, plan.pairs.size(), options.jobs,
                        [&](pg_connection& o, pg_connection& n, std::size_t i) {
                          done[i] = table_job{o, n, plan.pairs[i], options, cp, meter, limiter}.run();
                        });
  meter.finish();
  s.tables.insert(s.tables.end(), done.begin(), done.end());
  s.interrupted = options.stop != nullptr && options.stop->load();
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

void render_backfill(const backfill_summary& s, std::ostream& out) {
  out << fmt::format("backfill OLD {} -> NEW {}\n\n", s.old_endpoint, s.new_endpoint);
  out << fmt::format("{:<32} {:<28} {:>10} {:>10} {:>7} {:>7} {:>8} {:>8}  {}\n", "TABLE",
                     "METHOD", "ROWS", "BYTES", "CHUNKS", "STAGED", "RETRIES", "SECONDS",
                     "RESULT");
  for (const auto& t : s.tables) {
    const std::string result = !t.error.empty() ? "ERROR"
                               : t.already_done ? "done earlier"
                               : t.completed    ? "done"
                                                : "partial";
    out << fmt::format("{:<32} {:<28} {:>10} {:>10} {:>7} {:>7} {:>8} {:>8.1f}  {}\n",
                       t.table.display(), t.method, t.rows, format_bytes(t.bytes), t.chunks,
                       t.staged_chunks, t.retries, t.seconds, result);
  }
  for (const auto& t : s.tables)
    if (!t.error.empty()) out << fmt::format("{}: {}\n", t.table.display(), t.error);
  for (const auto& n : s.notes) out << "note: " << n << '\n';
  const double rate = s.seconds > 0 ? static_cast<double>(s.rows()) / s.seconds : 0;
  const auto totals = fmt::format("{} table(s), {} rows, {} in {:.1f} s ({:.0f} rows/s)",
                                  s.tables.size(), s.rows(), format_bytes(s.bytes()), s.seconds,
                                  rate);
  if (s.interrupted)
    out << "INTERRUPTED: " << totals << "; run the same command again to resume\n";
  else if (!s.ok())
    out << "FAILED: " << totals << "; fix the errors above and run it again (it resumes)\n";
  else
    out << "DONE: " << totals << "; next: dwctl verify\n";
}

std::string backfill_json(const backfill_summary& s) {
  namespace json = boost::json;
  json::array tables;
  for (const auto& t : s.tables)
    tables.push_back(json::object{{"table", t.table.display()},
                                  {"method", t.method},
                                  {"rows", t.rows},
                                  {"bytes", t.bytes},
                                  {"chunks", t.chunks},
                                  {"staged_chunks", t.staged_chunks},
                                  {"retries", t.retries},
                                  {"sequences_moved", t.sequences_moved},
                                  {"completed", t.completed},
                                  {"already_done", t.already_done},
                                  {"resumed", t.resumed},
                                  {"seconds", t.seconds},
                                  {"error", t.error}});
  json::array notes;
  for (const auto& n : s.notes) notes.emplace_back(n);
  return json::serialize(json::object{{"ok", s.ok()},
                                      {"interrupted", s.interrupted},
                                      {"old", s.old_endpoint},
                                      {"new", s.new_endpoint},
                                      {"rows", s.rows()},
                                      {"bytes", s.bytes()},
                                      {"seconds", s.seconds},
                                      {"tables", std::move(tables)},
                                      {"notes", std::move(notes)}});
}

}  // namespace dw::migrate
