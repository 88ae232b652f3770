// Row-for-row comparison of tables on two backends (OLD and NEW), for the dual-write tests.
// Each row is read as its whole-row text `(t.*)::text` and the rows are sorted bytewise
// (COLLATE "C"), so any column type compares, tables without a key (pgbench_history) compare
// as multisets, and two rows differ exactly when some column's text differs. Both sides are
// read in one REPEATABLE READ snapshot each, with TimeZone, DateStyle and float output
// pinned so that text form is stable.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstddef>
#include <source_location>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace dw::test {

/// Success when every table has the same columns (names and types, in order) and the same
/// rows on both sides. Failure names each differing table with its row counts and up to
/// `max_rows_reported` rows found only on OLD and only on NEW (the first in sort order).
/// The connections must be idle (not inside a transaction); tables are SQL names as written.
[[nodiscard]] ::testing::AssertionResult tables_identical(PGconn* old_conn, PGconn* new_conn,
                                                          const std::vector<std::string>& tables,
                                                          std::size_t max_rows_reported = 5);

/// EXPECT-style: records a non-fatal failure at the caller's line when the tables differ.
/// Returns whether they were identical.
bool expect_tables_identical(PGconn* old_conn, PGconn* new_conn,
                             const std::vector<std::string>& tables,
                             std::source_location where = std::source_location::current());

/// Row count and md5 of the sorted row texts of each table, in one snapshot: a cheap
/// fingerprint for polling until NEW has caught up, without moving whole tables.
[[nodiscard]] std::vector<std::string> table_fingerprints(PGconn* conn,
                                                          const std::vector<std::string>& tables);

/// Polls the fingerprints of both sides until they agree or `deadline` passes; true when
/// they agreed. Use it to await a shadow that is still applying its last statements, then
/// call expect_tables_identical for the verdict and the report.
bool wait_for_identical_fingerprints(PGconn* old_conn, PGconn* new_conn,
                                     const std::vector<std::string>& tables,
                                     std::chrono::milliseconds deadline);

}  // namespace dw::test
