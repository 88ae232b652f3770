// Adaptive chunk size, as pt-table-checksum does it: aim every chunk at a target time, so a
// chunk holds its locks and snapshot briefly whatever the row width and server load. The rate
// (rows per second) is a weighted average over the chunks so far; the next size is that rate
// times the target, at most doubling per chunk and clamped to [min_rows, max_rows]. Pure.
//
// rate_limiter caps rows per second over all workers of one run (--max-rate), so that a
// verification or backfill leaves room for production. Pure arithmetic plus a mutex; the
// caller sleeps for what it is told.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace dw::compare {

struct chunk_limits {
  std::uint64_t initial_rows = 10'000;
  std::uint64_t min_rows = 100;
  std::uint64_t max_rows = 200'000;
  std::chrono::milliseconds target{500};
  bool adaptive = true;  ///< false: every chunk has initial_rows
};

class chunk_sizer {
 public:
  explicit chunk_sizer(chunk_limits limits) noexcept;

  /// Rows the next chunk should hold.
  [[nodiscard]] std::uint64_t next() const noexcept { return next_; }
  /// A chunk of `rows` took `took`; adjusts next().
  void record(std::uint64_t rows, std::chrono::microseconds took) noexcept;
  /// The last chunk failed on a lock or serialization conflict: try a smaller one.
  void shrink() noexcept;

 private:
  chunk_limits limits_;
  std::uint64_t next_;
  double rate_ = 0;  ///< rows per second, weighted average; 0: nothing measured yet
};

class rate_limiter {
 public:
  /// 0: unlimited.
  explicit rate_limiter(double max_rows_per_second) noexcept : max_rate_{max_rows_per_second} {}

  /// Counts `rows` more as done at `now` and returns how long the caller should pause so the
  /// run stays at or below the rate. The clock starts at the first call.
  [[nodiscard]] std::chrono::milliseconds admit(std::uint64_t rows,
                                                std::chrono::steady_clock::time_point now);

 private:
  std::mutex mutex_;
  double max_rate_;
  std::uint64_t rows_ = 0;
  std::chrono::steady_clock::time_point start_{};
  bool started_ = false;
};

}  // namespace dw::compare
