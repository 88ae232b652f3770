// Backfill's resume point: per table, the last key whose chunk is committed on NEW, with rows
// and bytes so far. Saved atomically after every chunk (write, fsync, rename), so a crash,
// SIGKILL or Ctrl-C loses at most the chunk in flight, which a resumed run copies again
// (copying is idempotent). The file names the endpoints it belongs to; a run against other
// backends refuses it rather than skip rows. Removed when a run completes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "compare/table_model.hpp"

namespace dw::migrate {

struct table_progress {
  std::optional<compare::key_value> after;  ///< chunks up to this key are on NEW
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  bool done = false;

  friend bool operator==(const table_progress&, const table_progress&) = default;
};

struct checkpoint_state {
  std::string old_endpoint;
  std::string new_endpoint;
  std::map<compare::table_name, table_progress> tables;

  friend bool operator==(const checkpoint_state&, const checkpoint_state&) = default;
};

/// Larger checkpoint files are refused unread.
inline constexpr std::uintmax_t max_checkpoint_bytes = std::uintmax_t{64} << 20;

/// Pure (de)serialisation. parse_checkpoint throws std::runtime_error on anything else.
[[nodiscard]] std::string checkpoint_json(const checkpoint_state& s);
[[nodiscard]] checkpoint_state parse_checkpoint(std::string_view json);

/// The file, shared by every worker of a run.
class checkpoint {
 public:
  /// Reads `file` when it exists (and `fresh` is false). Throws std::runtime_error when it is
  /// unreadable or belongs to other endpoints.
  checkpoint(std::filesystem::path file, std::string old_endpoint, std::string new_endpoint,
             bool fresh);

  [[nodiscard]] bool resumed() const noexcept { return resumed_; }
  [[nodiscard]] table_progress get(const compare::table_name& t) const;
  /// Records a table's progress and saves the file before returning.
  void record(const compare::table_name& t, const table_progress& p);
  /// The run finished: the file goes.
  void remove();

 private:
  std::filesystem::path file_;
  mutable std::mutex mutex_;
  checkpoint_state state_;
  bool resumed_ = false;
};

}  // namespace dw::migrate
