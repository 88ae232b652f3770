// The divergence log: append-only JSON lines (divergence_record.hpp), rotated by size. Any
// session thread may call write(); one mutex serialises them, which is fine because divergences
// are rare and the shadow drainer, not the client's relay path, reports them. write() never
// throws and never fails the caller: the shadow never fails a client (DESIGN.md, "Failure
// policy"), so I/O errors are counted in stats() for metrics and the status command instead.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string_view>

#include "shadow/divergence_record.hpp"

namespace dw::shadow {

enum class fsync_policy : std::uint8_t {
  none,          ///< each record is handed to the kernel with write(2); a crash of the host may lose it
  every_record,  ///< fdatasync after each record
};

struct divergence_log_options {
  std::filesystem::path path;
  std::uint64_t max_bytes = 64ULL * 1024 * 1024;  ///< rotate before a record would pass this; 0: never
  unsigned keep_files = 5;                         ///< path.1 .. path.N kept after rotation
  fsync_policy fsync = fsync_policy::none;
  // Literals too by default: a simple-query statement carries its values inline
  // (ALTER ROLE ... PASSWORD '...'), and secrets must never reach the file (STYLE.md 31).
  redaction_mode redaction = redaction_mode::values_and_literals;
  std::size_t max_field_bytes = 64 * 1024;  ///< see record_format_options
};

struct divergence_log_stats {
  std::uint64_t records_written = 0;
  std::uint64_t records_dropped = 0;  ///< not (completely) written because of an error
  std::uint64_t records_truncated = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t io_errors = 0;  ///< failed open/write/fsync/rename calls
  std::uint64_t rotations = 0;
  int last_errno = 0;  ///< of the latest I/O error, 0 if none yet
  /// Divergences reported, by divergence_kind, whether or not the write succeeded.
  std::array<std::uint64_t, divergence_kind_count> by_kind{};
};

class divergence_log {
 public:
  /// Opens (creating, mode 0600) lazily: a path that cannot be opened yet is retried on each write.
  explicit divergence_log(divergence_log_options options);
  ~divergence_log();
  divergence_log(const divergence_log&) = delete;
  divergence_log& operator=(const divergence_log&) = delete;

  /// Redacts, formats and appends one record. Thread-safe; never throws.
  void write(const divergence_record& record) noexcept;

  [[nodiscard]] divergence_log_stats stats() const;
  [[nodiscard]] const divergence_log_options& options() const noexcept { return options_; }

 private:
  bool open_locked() noexcept;
  void rotate_locked() noexcept;
  bool append_locked(std::string_view line) noexcept;
  void count_error_locked(int error) noexcept;

  const divergence_log_options options_;
  mutable std::mutex mutex_;
  int fd_ = -1;
  std::uint64_t size_ = 0;  ///< bytes in the current file
  divergence_log_stats stats_;
};

}  // namespace dw::shadow
