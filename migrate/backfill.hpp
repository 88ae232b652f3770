// `dwctl backfill` without the command line: copies every selected table from OLD to NEW in
// key-ordered chunks (chunk_copy.hpp), spread over `jobs` connection pairs (one large table
// is copied by all of them at once), each table's completed chunks recorded in the
// checkpoint. Resumes from the checkpoint; stops between chunks when `stop` is set (Ctrl-C),
// leaving the checkpoint for the next run.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "compare/chunk_sizer.hpp"
#include "compare/pg_connection.hpp"
#include "compare/pg_identifier.hpp"
#include "migrate/chunk_copy.hpp"

namespace dw::migrate {

struct backfill_options {
  std::vector<compare::table_pattern> tables;  ///< empty: every table on OLD
  unsigned jobs = 2;  ///< workers, each with its own OLD and NEW connections
  compare::chunk_limits chunking;
  double max_rows_per_second = 0;  ///< 0: unlimited
  std::filesystem::path checkpoint = "dwctl-backfill.checkpoint.json";
  bool restart = false;            ///< ignore an existing checkpoint
  /// Move NEW's owned sequences up to OLD's after each table. Only safe when nothing writes:
  /// under dual-write an insert in flight has taken its value on OLD and not yet on NEW, and
  /// moving NEW then would shift every later value by one.
  bool sequences = false;
  bool sequences_only = false;     ///< copy no rows: only move the sequences (before phase 1)
  copy_settings copying;
  int max_retries = 100;           ///< per chunk, for lock timeouts and serialization failures
  const std::atomic<bool>* stop = nullptr;
  std::ostream* progress = nullptr;  ///< nullptr: silent
  bool progress_terminal = false;
};

struct table_backfill {
  compare::table_name table;
  std::string method;  ///< "chunks (binary COPY)", "whole table (text COPY)", ...
  std::uint64_t rows = 0;    ///< this run
  std::uint64_t bytes = 0;   ///< this run
  std::uint64_t chunks = 0;
  std::uint64_t staged_chunks = 0;  ///< NEW already had rows in the range: upserted
  std::uint64_t retries = 0;
  std::size_t sequences_moved = 0;
  bool completed = false;     ///< every row of the table is on NEW
  bool already_done = false;  ///< the checkpoint said so
  bool resumed = false;       ///< started after the checkpoint's key
  std::string error;
  double seconds = 0;
};

struct backfill_summary {
  std::string old_endpoint;
  std::string new_endpoint;
  std::vector<table_backfill> tables;
  std::vector<std::string> notes;
  bool interrupted = false;
  double seconds = 0;

  [[nodiscard]] bool ok() const noexcept;
  [[nodiscard]] std::uint64_t rows() const noexcept;
  [[nodiscard]] std::uint64_t bytes() const noexcept;
};

/// Throws pg_error when a backend cannot be reached or a connection is lost,
/// std::invalid_argument for a --tables name OLD lacks, std::runtime_error for a checkpoint
/// that belongs elsewhere.
[[nodiscard]] backfill_summary run_backfill(const compare::pg_endpoint& old_side,
                                            const compare::pg_endpoint& new_side,
                                            const backfill_options& options);

/// The summary for people, and as JSON.
void render_backfill(const backfill_summary& s, std::ostream& out);
[[nodiscard]] std::string backfill_json(const backfill_summary& s);

}  // namespace dw::migrate
