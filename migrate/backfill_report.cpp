// The backfill summary: totals, and the table for people or JSON for scripts.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <ostream>

#include "migrate/backfill.hpp"
#include "migrate/progress.hpp"

namespace dw::migrate {

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
