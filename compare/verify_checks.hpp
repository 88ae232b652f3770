// The checks of `dwctl verify` beyond row data: constraints in force on NEW, sequence
// positions, and business rules (the operator's own SQL, whose results must match).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "compare/pg_connection.hpp"
#include "compare/table_model.hpp"
#include "compare/verify_report.hpp"

namespace dw::compare {

struct business_rule {
  std::string name;
  std::string sql;  ///< run as written on both sides; every row and column is compared
};

/// On NEW, for the tables in `tables`: rows that break a foreign key (orphans; backfill
/// writes with triggers off, so nothing else checked them), rows that break a CHECK added
/// NOT VALID, constraints left NOT VALID, and invalid indexes (which enforce nothing).
[[nodiscard]] std::vector<constraint_finding> check_constraints(
    pg_connection& new_conn, const std::vector<table_info>& new_tables,
    const std::vector<table_name>& tables);

/// Pairs sequences by name; those owned by a table outside `tables` are left out unless
/// `tables` is empty (everything). NEW lags when its next value is behind OLD's. Pure.
[[nodiscard]] std::vector<sequence_comparison> compare_sequences(
    const std::vector<sequence_info>& old_sequences,
    const std::vector<sequence_info>& new_sequences, const std::vector<table_name>& tables);

/// Whether NEW's next value is behind OLD's, in the sequence's direction. Pure.
[[nodiscard]] bool sequence_lags(std::int64_t increment, std::int64_t old_next,
                                 std::int64_t new_next) noexcept;

/// How often, and how far apart, a difference that live writes may explain is looked at again.
struct settle {
  int rounds = 3;
  std::chrono::milliseconds delay{200};
};

/// Runs each rule on both sides and compares the results as text; a mismatch is run again
/// up to `again.rounds` times and counts only if it never matched.
[[nodiscard]] std::vector<rule_outcome> run_rules(pg_connection& old_conn,
                                                  pg_connection& new_conn,
                                                  const std::vector<business_rule>& rules,
                                                  const settle& again);

/// compare_sequences over both sides' catalogs; a sequence NEW seems to lag is read again on
/// NEW up to `again.rounds` times, since an insert in flight takes its value on OLD first.
[[nodiscard]] std::vector<sequence_comparison> settled_sequences(
    pg_connection& old_conn, pg_connection& new_conn, const std::vector<table_name>& tables,
    const settle& again);

}  // namespace dw::compare
