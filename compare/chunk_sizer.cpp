#include "compare/chunk_sizer.hpp"

#include <algorithm>
#include <cmath>

namespace dw::compare {
namespace {

// pt-table-checksum's weight: the newest chunk counts a quarter, history three quarters, so
// one slow chunk (a checkpoint, a lock wait) does not halve the next one.
constexpr double history_weight = 0.75;

}  // namespace

chunk_sizer::chunk_sizer(chunk_limits limits) noexcept
    : limits_{limits},
      next_{std::clamp(limits.initial_rows, limits.min_rows, std::max(limits.min_rows,
                                                                      limits.max_rows))} {
  if (!limits_.adaptive) next_ = std::max<std::uint64_t>(limits.initial_rows, 1);
}

void chunk_sizer::record(std::uint64_t rows, std::chrono::microseconds took) noexcept {
  if (!limits_.adaptive || rows == 0) return;
  const double seconds = std::max(static_cast<double>(took.count()) / 1e6, 1e-4);
  const double rate = static_cast<double>(rows) / seconds;
  rate_ = rate_ == 0 ? rate : history_weight * rate_ + (1 - history_weight) * rate;
  const double target_s = static_cast<double>(limits_.target.count()) / 1000.0;
  const double wanted = std::min(rate_ * target_s, static_cast<double>(next_) * 2.0);
  const auto rounded = static_cast<std::uint64_t>(std::llround(std::max(wanted, 1.0)));
  next_ = std::clamp(rounded, limits_.min_rows, std::max(limits_.min_rows, limits_.max_rows));
}

void chunk_sizer::shrink() noexcept {
  if (!limits_.adaptive) return;
  next_ = std::max(limits_.min_rows, next_ / 2);
  rate_ /= 2;
}

std::chrono::milliseconds rate_limiter::admit(std::uint64_t rows,
                                              std::chrono::steady_clock::time_point now) {
  if (max_rate_ <= 0) return std::chrono::milliseconds{0};
  const std::lock_guard lock{mutex_};
  if (!started_) {
    started_ = true;
    start_ = now;
  }
  rows_ += rows;
  // The time these rows may take at the rate, minus the time they did take.
  const double due_s = static_cast<double>(rows_) / max_rate_;
  const double spent_s = std::chrono::duration<double>(now - start_).count();
  if (due_s <= spent_s) return std::chrono::milliseconds{0};
  return std::chrono::milliseconds{static_cast<std::int64_t>(std::ceil((due_s - spent_s) * 1000))};
}

}  // namespace dw::compare
