// The chunk loop of compare_table, the drill-down and the recheck. OLD and NEW always work
// at the same time: each statement is sent to both before either answer is read.
#include "compare/table_checksum.hpp"

#include <algorithm>
#include <exception>
#include <map>
#include <set>
#include <thread>

#include "compare/table_sql.hpp"

namespace dw::compare {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::size_t keys_per_lookup = 500;

struct both_rows {
  pg_rows old_rows;
  pg_rows new_rows;
};

/// Runs `sql` on both sides at once. Both answers are always collected, so neither
/// connection is left busy when one side fails; the first failure is rethrown.
both_rows on_both(pg_connection& o, pg_connection& n, const std::string& sql,
                  const value_binder& values) {
  o.send(sql, values.params);
  try {
    n.send(sql, values.params);
  } catch (...) {
    try {
      (void)o.collect();
    } catch (const pg_error&) {  // the send failure is the one worth reporting
    }
    throw;
  }
  both_rows out;
  std::exception_ptr first;
  try {
    out.old_rows = o.collect();
  } catch (const pg_error&) {
    first = std::current_exception();
  }
  try {
    out.new_rows = n.collect();
  } catch (const pg_error&) {
    if (!first) first = std::current_exception();
  }
  if (first) std::rethrow_exception(first);
  return out;
}

key_value key_of(const pg_rows& rows, std::size_t r, std::size_t key_columns) {
  key_value k;
  for (std::size_t c = 0; c < key_columns; ++c) k.emplace_back(rows.value(r, c));
  return k;
}

std::vector<keyed_hash> keyed_hashes(const pg_rows& rows, std::size_t key_columns) {
  std::vector<keyed_hash> out;
  out.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r)
    out.push_back({key_of(rows, r, key_columns), std::string{rows.value(r, key_columns)}});
  return out;
}

/// Both snapshots, taken back to back.
void begin_snapshots(pg_connection& o, pg_connection& n) {
  o.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  n.run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  (void)on_both(o, n, "SELECT 1", {});
}

void end_snapshots(pg_connection& o, pg_connection& n) {
  for (auto* c : {&o, &n}) {
    try {
      c->run("ROLLBACK");
    } catch (const pg_error& e) {
      if (e.connection_failed()) throw;
    }
  }
}

void pause(const compare_settings& s, std::uint64_t rows) {
  if (s.limiter == nullptr) return;
  std::this_thread::sleep_for(s.limiter->admit(rows, clock_type::now()));
}

class keyed_pass {
 public:
  keyed_pass(pg_connection& o, pg_connection& n, const table_pair& t, const compare_settings& s,
             table_comparison& out)
      : o_{o}, n_{n}, t_{t}, s_{s}, out_{out}, key_{t.old_table.primary_key}, sizer_{s.chunking} {}

  void run() {
    std::optional<key_value> after;
    for (;;) {
      if (s_.stop != nullptr && s_.stop->load()) throw std::runtime_error{"interrupted"};
      const auto started = clock_type::now();
      value_binder b;
      const auto sql = next_boundary_sql(t_.old_table.name, key_, after, sizer_.next(), b);
      const auto boundary = o_.exec(sql, b.params);
      const key_range range{after, boundary.size() == 0
                                       ? std::nullopt
                                       : std::optional{key_of(boundary, 0, key_.size())}};
      const auto rows = checksum(range);
      sizer_.record(rows, std::chrono::duration_cast<std::chrono::microseconds>(
                              clock_type::now() - started));
      pause(s_, rows);
      if (!range.up_to) return;
      after = range.up_to;
    }
  }

 private:
  std::uint64_t checksum(const key_range& range) {
    value_binder b;
    const auto sql = checksum_sql(t_.old_table.name, key_, t_.columns, range, b);
    const auto sums = on_both(o_, n_, sql, b);
    const auto old_count = sums.old_rows.integer(0, 0);
    const auto new_count = sums.new_rows.integer(0, 0);
    ++out_.chunks;
    out_.rows_old += old_count;
    out_.rows_new += new_count;
    if (old_count != new_count || sums.old_rows.value(0, 1) != sums.new_rows.value(0, 1)) {
      ++out_.differing_chunks;
      drill(range);
    }
    return static_cast<std::uint64_t>(old_count);
  }

  void drill(const key_range& range) {
    value_binder b;
    const auto sql = row_hashes_sql(t_.old_table.name, key_, t_.columns, range, b);
    const auto rows = on_both(o_, n_, sql, b);
    auto found = diff_keyed_rows(keyed_hashes(rows.old_rows, key_.size()),
                                 keyed_hashes(rows.new_rows, key_.size()));
    out_.rows.insert(out_.rows.end(), found.begin(), found.end());
  }

  pg_connection& o_;
  pg_connection& n_;
  const table_pair& t_;
  const compare_settings& s_;
  table_comparison& out_;
  const std::vector<std::string>& key_;
  chunk_sizer sizer_;
};

std::vector<counted_row> counted_rows(const pg_rows& rows) {
  std::vector<counted_row> out;
  out.reserve(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r)
    out.push_back({std::string{rows.value(r, 0)}, rows.integer(r, 1), std::string{rows.value(r, 2)}});
  return out;
}

void whole_table_pass(pg_connection& o, pg_connection& n, const table_pair& t,
                      const compare_settings& s, table_comparison& out) {
  value_binder b;
  const auto sums = on_both(o, n, checksum_sql(t.old_table.name, {}, t.columns, {}, b), b);
  out.chunks = 1;
  out.rows_old = sums.old_rows.integer(0, 0);
  out.rows_new = sums.new_rows.integer(0, 0);
  pause(s, static_cast<std::uint64_t>(out.rows_old));
  if (out.rows_old == out.rows_new && sums.old_rows.value(0, 1) == sums.new_rows.value(0, 1))
    return;
  out.differing_chunks = 1;
  if (static_cast<std::uint64_t>(out.rows_old + out.rows_new) > s.max_unkeyed_rows) {
    out.unkeyed_listed = false;
    return;
  }
  const auto rows = on_both(o, n, row_multiset_sql(t.old_table.name, t.columns), {});
  out.unkeyed = diff_row_multisets(counted_rows(rows.old_rows), counted_rows(rows.new_rows));
}

std::set<std::pair<row_difference_kind, key_value>> as_set(const std::vector<row_difference>& v) {
  std::set<std::pair<row_difference_kind, key_value>> s;
  for (const auto& r : v) s.emplace(r.kind, r.key);
  return s;
}

/// Keeps the rows of `before` (in its order) that `again` still lists, with again's kind.
std::vector<row_difference> still_differing(const std::vector<row_difference>& before,
                                            const std::vector<row_difference>& again) {
  std::map<key_value, row_difference_kind> now;
  for (const auto& r : again) now.emplace(r.key, r.kind);
  std::vector<row_difference> out;
  for (const auto& r : before)
    if (auto it = now.find(r.key); it != now.end()) out.push_back({it->second, r.key});
  return out;
}

void recheck(pg_connection& o, pg_connection& n, const table_pair& t, const compare_settings& s,
             table_comparison& out) {
  for (int round = 0; round < s.recheck_rounds && !out.rows.empty(); ++round) {
    std::this_thread::sleep_for(s.recheck_delay);
    auto again = still_differing(out.rows, recheck_rows(o, n, t, out.rows));
    const bool settled = as_set(again) == as_set(out.rows);
    out.rows = std::move(again);
    if (settled) return;
  }
}

}  // namespace

std::uint64_t table_comparison::count(row_difference_kind k) const noexcept {
  std::uint64_t n = 0;
  for (const auto& r : rows) n += r.kind == k ? 1 : 0;
  for (const auto& u : unkeyed) {
    if (k == row_difference_kind::missing_on_new) n += static_cast<std::uint64_t>(u.only_on_old);
    if (k == row_difference_kind::extra_on_new) n += static_cast<std::uint64_t>(u.only_on_new);
  }
  return n;
}

bool table_comparison::matches() const noexcept {
  return error.empty() && differing_chunks == 0;
}

table_comparison compare_table(pg_connection& old_conn, pg_connection& new_conn,
                               const table_pair& table, const compare_settings& settings) {
  table_comparison out;
  out.table = table.old_table.name;
  out.key = table.old_table.primary_key;
  const auto started = clock_type::now();
  try {
    begin_snapshots(old_conn, new_conn);
    if (out.key.empty())
      whole_table_pass(old_conn, new_conn, table, settings, out);
    else
      keyed_pass{old_conn, new_conn, table, settings, out}.run();
    end_snapshots(old_conn, new_conn);
    if (!out.key.empty()) recheck(old_conn, new_conn, table, settings, out);
    // A chunk whose rows all matched on recheck no longer counts as differing.
    if (!out.key.empty() && out.rows.empty()) out.differing_chunks = 0;
  } catch (const pg_error& e) {
    if (e.connection_failed()) throw;
    out.error = e.what();
    end_snapshots(old_conn, new_conn);
  } catch (const std::runtime_error& e) {
    out.error = e.what();
    end_snapshots(old_conn, new_conn);
  }
  out.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  return out;
}

std::vector<keyed_hash> fetch_row_hashes(pg_connection& conn, const table_pair& table,
                                         const std::vector<key_value>& keys) {
  const auto& key = table.old_table.primary_key;
  const auto select = column_list(key) + ", " + row_hash_expr(table.columns);
  std::vector<keyed_hash> out;
  for (std::size_t i = 0; i < keys.size(); i += keys_per_lookup) {
    const std::vector<key_value> batch(
        keys.begin() + static_cast<std::ptrdiff_t>(i),
        keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), i + keys_per_lookup)));
    value_binder b;
    const auto sql = rows_by_key_sql(table.old_table.name, key, select, batch, b);
    const auto rows = conn.exec(sql, b.params);
    auto found = keyed_hashes(rows, key.size());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

std::vector<row_difference> recheck_rows(pg_connection& old_conn, pg_connection& new_conn,
                                         const table_pair& table,
                                         const std::vector<row_difference>& rows) {
  std::vector<key_value> keys;
  keys.reserve(rows.size());
  for (const auto& r : rows) keys.push_back(r.key);
  return diff_keyed_rows(fetch_row_hashes(old_conn, table, keys),
                         fetch_row_hashes(new_conn, table, keys));
}

}  // namespace dw::compare
