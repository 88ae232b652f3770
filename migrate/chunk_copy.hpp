// Copies rows from a source to a target backend (OLD to NEW for backfill; either way for a
// keyless table's repair) safely while dwproxy writes to both (docs/verify-backfill.md).
//
// A keyed chunk, (after, up_to] with up_to found beforehand (find_chunk_end): on the source,
// in one READ COMMITTED transaction, COPY (SELECT ... FOR SHARE) its rows out, locking each
// as it is read; on the target,
// COPY them straight into the table when its range is empty, else into a staging table and
// upsert from there. The target commits first, then the source releases its locks. So an
// UPDATE or DELETE of one of those rows through the proxy waits on the source until the chunk
// is on the target, and its shadow copy lands on the target after the chunk: it can neither
// be overwritten by stale data nor resurrected. A write that committed before a row was read
// is in the copy (FOR SHARE waits for a running writer and reads what it committed), and its
// shadow copy already holds its row locks on the target (ordered mode), so the target's COPY
// or upsert waits for it. The target never deletes in a keyed chunk: a row the source no
// longer has is the shadow's to delete, or repair's.
//
// A keyless table: LOCK TABLE ... IN SHARE MODE on the source (writers wait, readers do not),
// then on the target LOCK TABLE ... IN EXCLUSIVE MODE (shadow writers still running finish
// first), DELETE every row and COPY the source's, in one transaction. Writers to the table
// wait for the whole copy: keyless tables are meant to be small.
//
// Lock waits are bounded (lock_timeout) so the copier, never a client, loses a deadlock;
// failures leave both transactions rolled back and throw, and the caller retries.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compare/pg_connection.hpp"
#include "compare/table_model.hpp"
#include "compare/table_sql.hpp"

namespace dw::migrate {

/// How one table is copied, decided once from both sides' catalogs. Pure.
struct copy_plan {
  compare::table_info source;
  compare::table_info target;
  std::vector<std::string> columns;  ///< written columns: shared, never generated
  bool binary = true;  ///< binary COPY: every column's type is built in and the same on both
  std::string upsert_sql;  ///< staging table -> target, for keyed tables
};

[[nodiscard]] copy_plan plan_copy(const compare::table_info& source,
                                  const compare::table_info& target);

/// INSERT of `rows_sql` (a SELECT or VALUES giving `columns`) into `target`, updating a row
/// whose key exists when its text differs (rows that match are left alone, so re-runs write
/// nothing). Identity ALWAYS columns are written on insert only. Pure.
[[nodiscard]] std::string upsert_sql(const compare::table_info& target,
                                     const std::vector<std::string>& columns,
                                     std::string_view rows_sql);

struct copy_settings {
  std::chrono::milliseconds source_lock_timeout{200};  ///< under deadlock_timeout (1 s default)
  /// The copier waits on the target for a shadow transaction whose client may in turn wait on
  /// the source for the copier's row locks, a cycle no server sees; this ends it. Kept well
  /// under shadow.lag_bound_ms (2 s by default), so no shadow falls behind its bound for it.
  std::chrono::milliseconds target_lock_timeout{1000};
};

struct chunk_result {
  std::uint64_t rows = 0;                    ///< rows read from the source
  std::uint64_t bytes = 0;                   ///< COPY payload bytes
  bool staged = false;                       ///< went through the staging table
};

/// Sets the lock timeouts on both sessions, and session_replication_role = replica on the
/// target when allowed (triggers and foreign-key checks off for the rows written, as in a
/// restore; verify checks foreign keys afterwards). Returns whether replica took.
bool prepare_sessions(compare::pg_connection& source, compare::pg_connection& target,
                      const copy_settings& settings);

/// The key of the row `rows` positions after `after` in key order on the source: the last
/// key of the next chunk. std::nullopt when fewer rows remain (that chunk runs to the end).
[[nodiscard]] std::optional<compare::key_value> find_chunk_end(
    compare::pg_connection& source, const compare::table_info& table,
    const std::optional<compare::key_value>& after, std::uint64_t rows);

/// ROLLBACK on the target, then on the source, after a failure; errors there are dropped,
/// since the failure that led here is the one worth reporting.
void roll_back(compare::pg_connection& target, compare::pg_connection& source) noexcept;

class chunk_copier {
 public:
  /// Prepares both sessions (prepare_sessions); replica_role() says whether replica took.
  chunk_copier(compare::pg_connection& source, compare::pg_connection& target, copy_plan plan,
               copy_settings settings);

  /// Copies the rows of `range` (either end open when unset).
  chunk_result copy_range(const compare::key_range& range);
  /// Replaces the target's whole table with the source's (keyless tables).
  chunk_result copy_whole_table();

  [[nodiscard]] bool replica_role() const noexcept { return replica_role_; }
  [[nodiscard]] const copy_plan& plan() const noexcept { return plan_; }

 private:
  chunk_result copy_locked_range(const compare::key_range& range);
  std::uint64_t pipe(const std::string& select, const std::string& into, std::uint64_t& bytes);
  std::uint64_t stage_and_upsert(const std::string& select, std::uint64_t& bytes);
  void roll_back_both() noexcept;

  compare::pg_connection& source_;
  compare::pg_connection& target_;
  copy_plan plan_;
  bool replica_role_ = false;
  bool stage_ready_ = false;
};

}  // namespace dw::migrate
