// Backfill's per-table bookkeeping when several workers copy chunks of one table at once:
// chunks are handed out in key order but may finish in any order, and the checkpoint may
// only claim the complete prefix (every chunk up to its key is on NEW). A crash then costs
// the chunks after that prefix, which the next run copies again (copying is idempotent).
// Pure; the caller serialises access.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "migrate/checkpoint.hpp"

namespace dw::migrate {

class chunk_tracker {
 public:
  /// Starts from a resume point (the checkpoint's progress for the table, or nothing).
  explicit chunk_tracker(table_progress start) : progress_{std::move(start)} {}

  /// Registers the next chunk, which ends at `up_to` (std::nullopt: at the table's end).
  /// Returns its number for close().
  std::uint64_t open(std::optional<compare::key_value> up_to);
  /// Marks a chunk copied. Returns true when the complete prefix grew, i.e. when progress()
  /// changed and is worth saving.
  bool close(std::uint64_t chunk, std::uint64_t rows, std::uint64_t bytes);

  /// The complete prefix as a resume point; `done` once the chunk reaching the table's end
  /// and every chunk before it are copied.
  [[nodiscard]] const table_progress& progress() const noexcept { return progress_; }
  /// Chunks opened and not closed.
  [[nodiscard]] std::size_t in_flight() const noexcept;

 private:
  struct pending {
    std::optional<compare::key_value> up_to;
    bool closed = false;
    std::uint64_t rows = 0;
    std::uint64_t bytes = 0;
  };
  table_progress progress_;
  std::uint64_t next_ = 0;
  std::map<std::uint64_t, pending> pending_;  ///< opened chunks past the complete prefix
};

}  // namespace dw::migrate
