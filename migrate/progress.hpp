// Backfill's progress bar: rows (of the planner's estimate), bytes, rate and ETA over all
// tables, redrawn in place on a terminal and printed as a line every few seconds otherwise
// (logs, CI). The formatting is pure; progress_meter owns the printing thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <iosfwd>
#include <mutex>
#include <string>
#include <thread>

namespace dw::migrate {

/// "1.2 MB", "15.0 GB".
[[nodiscard]] std::string format_bytes(std::uint64_t bytes);

struct progress_numbers {
  std::uint64_t rows = 0;
  std::uint64_t estimated_rows = 0;  ///< 0: unknown (tables never analyzed)
  std::uint64_t bytes = 0;
  std::chrono::milliseconds elapsed{0};
};

/// "412000/~1000000 rows (41%), 38.2 MB, 205000 rows/s, ETA 3 s".
[[nodiscard]] std::string format_progress(const progress_numbers& p);
/// The bar's last state: "1000000 rows, 91.1 MB in 2.6 s (384615 rows/s)".
[[nodiscard]] std::string format_done(const progress_numbers& p);

class progress_meter {
 public:
  /// `out` nullptr: silent. `estimated_rows` counts what this run still has to copy.
  progress_meter(std::ostream* out, bool terminal, std::uint64_t estimated_rows);
  ~progress_meter();
  progress_meter(const progress_meter&) = delete;
  progress_meter& operator=(const progress_meter&) = delete;

  void add(std::uint64_t rows, std::uint64_t bytes) noexcept;
  /// A line of its own, between redraws ("public.accounts: 1000000 rows in 4.1 s").
  void note(const std::string& line);
  /// Stops redrawing and ends the bar's line.
  void finish();

 private:
  void run();
  void draw(bool final_line);

  std::ostream* out_;
  bool terminal_;
  std::uint64_t estimated_rows_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<std::uint64_t> rows_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dw::migrate
