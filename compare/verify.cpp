#include "compare/verify.hpp"

#include <algorithm>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

namespace dw::compare {
namespace {

std::vector<table_name> names_of(const std::vector<table_info>& tables) {
  std::vector<table_name> out;
  for (const auto& t : tables) out.push_back(t.name);
  return out;
}

void add_notes(const table_plan& plan, verify_report& r) {
  for (const auto& p : plan.pairs)
    if (p.old_table.primary_key.empty())
      r.notes.push_back(p.old_table.name.display() +
                        " has no primary key: compared as a whole table (a multiset of rows), "
                        "without chunks; repair replaces it as a whole");
}

}  // namespace

table_plan plan_tables(pg_connection& old_conn, pg_connection& new_conn,
                       const std::vector<table_pattern>& patterns) {
  table_plan plan;
  plan.selected_old = select_tables(read_tables(old_conn), patterns);
  plan.new_tables = read_tables(new_conn);
  std::map<table_name, const table_info*> on_new;
  for (const auto& t : plan.new_tables) on_new.emplace(t.name, &t);
  for (const auto& o : plan.selected_old) {
    const auto n = on_new.find(o.name);
    if (n == on_new.end()) {
      table_comparison missing;
      missing.table = o.name;
      missing.key = o.primary_key;
      missing.error = "table missing on NEW";
      plan.missing_on_new.push_back(std::move(missing));
      continue;
    }
    plan.pairs.push_back({o, *n->second, shared_columns(o, *n->second)});
  }
  return plan;
}

void run_parallel(const pg_endpoint& old_side, const pg_endpoint& new_side, std::size_t count,
                  unsigned jobs,
                  const std::function<void(pg_connection&, pg_connection&, std::size_t)>& work) {
  std::mutex mutex;
  std::size_t next = 0;
  std::exception_ptr failure;
  auto worker = [&] {
    try {
      pg_connection o{old_side};
      pg_connection n{new_side};
      for (;;) {
        std::size_t i = 0;
        {
          const std::lock_guard lock{mutex};
          if (failure || next == count) return;
          i = next++;
        }
        work(o, n, i);
      }
    } catch (...) {
      const std::lock_guard lock{mutex};
      if (!failure) failure = std::current_exception();
    }
  };
  if (count == 0) return;
  const auto threads = std::clamp<std::size_t>(jobs, 1, count);
  std::vector<std::thread> pool;
  for (std::size_t i = 0; i < threads; ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

verify_report run_verify(const pg_endpoint& old_side, const pg_endpoint& new_side,
                         const verify_options& options) {
  verify_report r;
  r.started = std::chrono::system_clock::now();
  r.old_endpoint = old_side.description;
  r.new_endpoint = new_side.description;
  pg_connection old_conn{old_side};
  pg_connection new_conn{new_side};
  const table_plan plan = plan_tables(old_conn, new_conn, options.tables);
  r.schema = diff_schemas(plan.selected_old, plan.new_tables, options.tables.empty());

  rate_limiter limiter{options.max_rows_per_second};
  compare_settings settings;
  settings.chunking = options.chunking;
  settings.limiter = &limiter;
  settings.recheck_rounds = options.recheck_rounds;
  settings.recheck_delay = options.recheck_delay;
  settings.stop = options.stop;
  r.tables.resize(plan.pairs.size());
  run_parallel(old_side, new_side, plan.pairs.size(), options.jobs,
               [&](pg_connection& o, pg_connection& n, std::size_t i) {
                 r.tables[i] = compare_table(o, n, plan.pairs[i], settings);
                 if (options.on_table) options.on_table(r.tables[i]);
               });
  r.tables.insert(r.tables.end(), plan.missing_on_new.begin(), plan.missing_on_new.end());
  std::sort(r.tables.begin(), r.tables.end(),
            [](const auto& a, const auto& b) { return a.table < b.table; });
  add_notes(plan, r);

  const auto names = options.tables.empty() ? std::vector<table_name>{} : names_of(plan.selected_old);
  r.constraints = check_constraints(new_conn, plan.new_tables, names);
  const settle again{options.recheck_rounds, options.recheck_delay};
  r.sequences = settled_sequences(old_conn, new_conn, names, again);
  r.rules = run_rules(old_conn, new_conn, options.rules, again);
  r.interrupted = options.stop != nullptr && options.stop->load();
  r.finished = std::chrono::system_clock::now();
  return r;
}

}  // namespace dw::compare
