#include "tests/support/table_compare.hpp"

#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/libpq_session.hpp"

namespace dw::test {
namespace {

// Settings that change the text form of values; pinned per snapshot so both sides print alike.
constexpr const char* snapshot_begin =
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
    "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; "
    "SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3; "
    "SET LOCAL bytea_output = 'hex'";

/// Runs `body` inside a read-only snapshot and always ends the transaction.
template <class Body>
auto in_snapshot(PGconn* conn, Body body) {
  pg_exec(conn, snapshot_begin);
  try {
    auto out = body();
    pg_exec(conn, "COMMIT");
    return out;
  } catch (...) {
    PQclear(PQexec(conn, "ROLLBACK"));
    throw;
  }
}

std::string columns_of(PGconn* conn, const std::string& table) {
  return pg_value(conn,
                  "SELECT coalesce(string_agg(quote_ident(attname) || ' ' || "
                  "format_type(atttypid, atttypmod), ', ' ORDER BY attnum), '') "
                  "FROM pg_attribute WHERE attrelid = '" +
                      table + "'::regclass AND attnum > 0 AND NOT attisdropped");
}

std::vector<std::string> rows_of(PGconn* conn, const std::string& table) {
  const auto r = pg_exec(
      conn, "SELECT (t.*)::text FROM " + table + " AS t ORDER BY (t.*)::text COLLATE \"C\"");
  std::vector<std::string> rows;
  const int n = PQntuples(r.get());
  rows.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    rows.emplace_back(PQgetvalue(r.get(), i, 0),
                      static_cast<std::size_t>(PQgetlength(r.get(), i, 0)));
  return rows;
}

struct table_snapshot {
  std::string columns;
  std::vector<std::string> rows;
};

std::vector<table_snapshot> read_tables(PGconn* conn, const std::vector<std::string>& tables) {
  return in_snapshot(conn, [&] {
    std::vector<table_snapshot> out;
    for (const auto& t : tables) out.push_back({columns_of(conn, t), rows_of(conn, t)});
    return out;
  });
}

std::string shorten(const std::string& row) {
  constexpr std::size_t max = 300;
  return row.size() <= max ? row
                           : row.substr(0, max) + "...(" + std::to_string(row.size()) + " bytes)";
}

/// Merges the two sorted row lists; describes rows present on one side only.
std::string describe_difference(const std::vector<std::string>& old_rows,
                                const std::vector<std::string>& new_rows, std::size_t max_rows) {
  std::vector<std::string> only_old, only_new;
  std::size_t count_old = 0, count_new = 0;
  std::size_t i = 0, j = 0;
  while (i < old_rows.size() || j < new_rows.size()) {
    if (j == new_rows.size() || (i < old_rows.size() && old_rows[i] < new_rows[j])) {
      if (only_old.size() < max_rows) only_old.push_back(old_rows[i]);
      ++count_old;
      ++i;
    } else if (i == old_rows.size() || new_rows[j] < old_rows[i]) {
      if (only_new.size() < max_rows) only_new.push_back(new_rows[j]);
      ++count_new;
      ++j;
    } else {
      ++i;
      ++j;
    }
  }
  std::ostringstream s;
  s << old_rows.size() << " rows on OLD, " << new_rows.size() << " on NEW; " << count_old
    << " only on OLD, " << count_new << " only on NEW\n";
  for (const auto& r : only_old) s << "      only on OLD: " << shorten(r) << '\n';
  for (const auto& r : only_new) s << "      only on NEW: " << shorten(r) << '\n';
  return s.str();
}

}  // namespace

::testing::AssertionResult tables_identical(PGconn* old_conn, PGconn* new_conn,
                                            const std::vector<std::string>& tables,
                                            std::size_t max_rows_reported) {
  std::vector<table_snapshot> old_side, new_side;
  try {
    old_side = read_tables(old_conn, tables);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "reading the tables on OLD failed: " << e.what();
  }
  try {
    new_side = read_tables(new_conn, tables);
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "reading the tables on NEW failed: " << e.what();
  }
  std::ostringstream report;
  std::size_t differing = 0;
  for (std::size_t k = 0; k < tables.size(); ++k) {
    const auto& o = old_side[k];
    const auto& n = new_side[k];
    if (o.columns != n.columns) {
      ++differing;
      report << "  " << tables[k] << ": columns differ\n      OLD: " << o.columns
             << "\n      NEW: " << n.columns << '\n';
      continue;
    }
    if (o.rows != n.rows) {
      ++differing;
      report << "  " << tables[k] << ": " << describe_difference(o.rows, n.rows, max_rows_reported);
    }
  }
  if (differing == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << differing << " of " << tables.size() << " table(s) differ between OLD and NEW:\n"
         << report.str();
}

bool expect_tables_identical(PGconn* old_conn, PGconn* new_conn,
                             const std::vector<std::string>& tables, std::source_location where) {
  const auto result = tables_identical(old_conn, new_conn, tables);
  if (!result)
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line())) << result.message();
  return static_cast<bool>(result);
}

std::vector<std::string> table_fingerprints(PGconn* conn, const std::vector<std::string>& tables) {
  return in_snapshot(conn, [&] {
    std::vector<std::string> out;
    for (const auto& t : tables) {
      const auto r = pg_exec(conn,
                             "SELECT count(*)::text || ' ' || coalesce(md5(string_agg((t.*)::text, "
                             "E'\\n' ORDER BY (t.*)::text COLLATE \"C\")), '-') FROM " +
                                 t + " AS t");
      out.push_back(columns_of(conn, t) + " | " + PQgetvalue(r.get(), 0, 0));
    }
    return out;
  });
}

bool wait_for_identical_fingerprints(PGconn* old_conn, PGconn* new_conn,
                                     const std::vector<std::string>& tables,
                                     std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    try {
      if (table_fingerprints(old_conn, tables) == table_fingerprints(new_conn, tables)) return true;
    } catch (const std::exception&) {
      // A table missing on one side is a difference; the final comparison reports it.
    }
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
}

}  // namespace dw::test
