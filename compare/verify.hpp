// `dwctl verify` without the command line: compares OLD and NEW and returns the report.
// Tables run in parallel over `jobs` pairs of connections; the schema, constraint, sequence
// and rule checks run on the first pair once the tables are done.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "compare/pg_connection.hpp"
#include "compare/table_catalog.hpp"
#include "compare/table_checksum.hpp"
#include "compare/verify_checks.hpp"
#include "compare/verify_report.hpp"

namespace dw::compare {

struct verify_options {
  std::vector<table_pattern> tables;  ///< empty: every table on OLD
  unsigned jobs = 2;
  chunk_limits chunking;
  double max_rows_per_second = 0;     ///< 0: unlimited
  int recheck_rounds = 3;
  std::chrono::milliseconds recheck_delay{200};
  std::vector<business_rule> rules;
  const std::atomic<bool>* stop = nullptr;
  /// Called from worker threads as each table finishes (for progress lines).
  std::function<void(const table_comparison&)> on_table;
};

/// Throws pg_error when a backend cannot be reached or a connection is lost, and
/// std::invalid_argument when --tables names a table OLD lacks.
[[nodiscard]] verify_report run_verify(const pg_endpoint& old_side, const pg_endpoint& new_side,
                                       const verify_options& options);

/// The table pairs to compare: each selected OLD table with its namesake on NEW, or a
/// comparison already failed with "table missing on NEW". Shared with repair.
struct table_plan {
  std::vector<table_pair> pairs;
  std::vector<table_comparison> missing_on_new;
  std::vector<table_info> selected_old;
  std::vector<table_info> new_tables;
};
[[nodiscard]] table_plan plan_tables(pg_connection& old_conn, pg_connection& new_conn,
                                     const std::vector<table_pattern>& patterns);

/// Runs work(old, new, i) for i in [0, count) on min(jobs, count) threads, each with its own
/// pair of connections; items are taken in order. An exception (a lost connection) stops
/// the other workers at their next item and is rethrown. Shared by verify and backfill.
void run_parallel(const pg_endpoint& old_side, const pg_endpoint& new_side, std::size_t count,
                  unsigned jobs,
                  const std::function<void(pg_connection&, pg_connection&, std::size_t)>& work);

}  // namespace dw::compare
