// Adaptive chunk sizing and the rate limiter behind --chunk-time-ms and --max-rate
// (compare/chunk_sizer): chunks grow toward the target time, never more than double at once,
// stay within their limits, halve after a lock conflict; the limiter pauses just enough.
#include <gtest/gtest.h>

#include "compare/chunk_sizer.hpp"

namespace dw::compare {
namespace {

using namespace std::chrono_literals;

chunk_limits limits(std::uint64_t initial, std::uint64_t min, std::uint64_t max) {
  chunk_limits l;
  l.initial_rows = initial;
  l.min_rows = min;
  l.max_rows = max;
  l.target = 500ms;
  return l;
}

TEST(chunk_sizer, starts_at_the_initial_size_clamped_to_the_limits) {
  EXPECT_EQ(chunk_sizer{limits(1000, 100, 5000)}.next(), 1000u);
  EXPECT_EQ(chunk_sizer{limits(10, 100, 5000)}.next(), 100u);
  EXPECT_EQ(chunk_sizer{limits(9000, 100, 5000)}.next(), 5000u);
}

TEST(chunk_sizer, grows_toward_the_target_time_at_most_doubling_per_chunk) {
  chunk_sizer s{limits(1000, 100, 1'000'000)};
  s.record(1000, 10ms);  // 100k rows/s: 50k rows would take the 500 ms target
  EXPECT_EQ(s.next(), 2000u);
  s.record(2000, 20ms);
  EXPECT_EQ(s.next(), 4000u);
  for (int i = 0; i < 20; ++i) s.record(s.next(), std::chrono::microseconds{s.next() * 10});
  EXPECT_EQ(s.next(), 50'000u);
}

TEST(chunk_sizer, shrinks_when_chunks_take_longer_than_the_target) {
  chunk_sizer s{limits(10'000, 100, 1'000'000)};
  for (int i = 0; i < 30; ++i) s.record(s.next(), std::chrono::microseconds{s.next() * 1000});
  // 1000 rows/s: 500 rows in 500 ms.
  EXPECT_NEAR(static_cast<double>(s.next()), 500.0, 5.0);
}

TEST(chunk_sizer, stays_within_its_limits) {
  chunk_sizer fast{limits(1000, 100, 3000)};
  for (int i = 0; i < 10; ++i) fast.record(fast.next(), 1us);
  EXPECT_EQ(fast.next(), 3000u);
  chunk_sizer slow{limits(1000, 100, 3000)};
  for (int i = 0; i < 10; ++i) slow.record(slow.next(), 60s);
  EXPECT_EQ(slow.next(), 100u);
}

TEST(chunk_sizer, halves_after_a_conflict_and_ignores_empty_chunks) {
  chunk_sizer s{limits(1000, 100, 5000)};
  s.record(0, 10s);
  EXPECT_EQ(s.next(), 1000u);
  s.shrink();
  EXPECT_EQ(s.next(), 500u);
  for (int i = 0; i < 5; ++i) s.shrink();
  EXPECT_EQ(s.next(), 100u);
}

TEST(chunk_sizer, a_fixed_size_never_changes) {
  auto l = limits(700, 100, 5000);
  l.adaptive = false;
  chunk_sizer s{l};
  s.record(700, 1us);
  s.shrink();
  EXPECT_EQ(s.next(), 700u);
}

TEST(rate_limiter, pauses_just_long_enough_to_keep_the_rate) {
  rate_limiter r{1000};  // rows per second
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  EXPECT_EQ(r.admit(500, t0), 500ms);
  EXPECT_EQ(r.admit(500, t0 + 500ms), 500ms);
  EXPECT_EQ(r.admit(1000, t0 + 3s), 0ms);  // behind the budget: no pause
}

TEST(rate_limiter, zero_means_unlimited) {
  rate_limiter r{0};
  EXPECT_EQ(r.admit(1'000'000, std::chrono::steady_clock::now()), 0ms);
}

}  // namespace
}  // namespace dw::compare
