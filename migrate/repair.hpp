// `dwctl repair` without the command line: finds the differing rows as verify does (same
// chunked comparison, same recheck), then makes the target match the source, OLD -> NEW by
// default or NEW -> OLD (phase 3, when NEW is the primary). A dry run lists what it would do;
// with `apply` every change is made and logged (JSON lines: table, key, action, the target's
// row before and after), and nothing is changed that is not logged.
//
// Live writes: each batch of keys locks the source table IN SHARE MODE (writers wait briefly,
// readers do not), re-reads those rows on the source, and changes the target in a transaction
// that commits before the source lock is released. A row's fate follows the source as it is
// under that lock, not as verify saw it; a write through the proxy that waited on the lock
// reaches the target after the repair. Keyless tables are replaced as a whole
// (chunk_copier::copy_whole_table).
#pragma once

#include <atomic>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "compare/chunk_sizer.hpp"
#include "compare/pg_connection.hpp"
#include "compare/row_diff.hpp"
#include "migrate/chunk_copy.hpp"

namespace dw::migrate {

enum class repair_direction { old_to_new, new_to_old };

enum class repair_action { insert, update, remove, replace_table };

/// "insert", "update", "delete", "replace_table".
[[nodiscard]] std::string_view to_string(repair_action a) noexcept;

struct planned_fix {
  repair_action action = repair_action::update;
  compare::key_value key;

  friend bool operator==(const planned_fix&, const planned_fix&) = default;
};

/// What the target needs for each differing row, seen from `direction`. Pure.
[[nodiscard]] std::vector<planned_fix> plan_fixes(const std::vector<compare::row_difference>& rows,
                                                  repair_direction direction);

struct repair_options {
  std::vector<compare::table_pattern> tables;
  repair_direction direction = repair_direction::old_to_new;
  bool apply = false;
  std::filesystem::path log = "dwctl-repair.jsonl";
  compare::chunk_limits chunking;
  double max_rows_per_second = 0;
  int recheck_rounds = 3;
  std::chrono::milliseconds recheck_delay{200};
  copy_settings copying;
  int max_retries = 100;
  std::size_t batch_rows = 200;
  const std::atomic<bool>* stop = nullptr;
};

struct table_repair {
  compare::table_name table;
  std::vector<std::string> key;
  std::vector<planned_fix> planned;
  std::uint64_t inserted = 0, updated = 0, deleted = 0;
  std::uint64_t already_equal = 0;  ///< differed at comparison, equal under the lock
  bool replaced = false;            ///< keyless table replaced as a whole
  std::string error;
};

struct repair_summary {
  std::string old_endpoint;
  std::string new_endpoint;
  repair_direction direction = repair_direction::old_to_new;
  bool applied = false;
  std::filesystem::path log;
  std::vector<table_repair> tables;
  bool interrupted = false;

  [[nodiscard]] std::uint64_t planned() const noexcept;
  [[nodiscard]] std::uint64_t changed() const noexcept;
  [[nodiscard]] bool ok() const noexcept;  ///< no error; with apply, everything applied
};

[[nodiscard]] repair_summary run_repair(const compare::pg_endpoint& old_side,
                                        const compare::pg_endpoint& new_side,
                                        const repair_options& options);

void render_repair(const repair_summary& s, std::ostream& out, std::size_t max_rows);
[[nodiscard]] std::string repair_json(const repair_summary& s);

}  // namespace dw::migrate
