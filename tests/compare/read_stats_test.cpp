// read_stats: counters per outcome, percentiles against known distributions, the sliding window
// with explicit time points, the fingerprint cap, worst() ordering, examples and learnt noise,
// and several threads recording at once.
#include "compare/read_stats.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

namespace dw::compare::test {
namespace {

using std::chrono::microseconds;
using std::chrono::seconds;
using time_point = std::chrono::steady_clock::time_point;

const time_point t0 = time_point{} + std::chrono::hours{1000};

sample_record sample(std::uint64_t fp, sample_outcome o, microseconds primary = microseconds{100},
                     microseconds shadow = microseconds{200}) {
  sample_record r;
  r.fingerprint = fp;
  r.statement = "SELECT * FROM t WHERE id = $1";
  r.outcome = o;
  r.primary_latency = primary;
  r.shadow_latency = shadow;
  return r;
}

sample_example example(std::string detail, std::vector<std::string> noisy_columns = {}) {
  sample_example e;
  e.statement = "SELECT 1";
  e.detail = std::move(detail);
  e.noisy_columns = std::move(noisy_columns);
  return e;
}

/// The nearest-rank percentile of `values`, in milliseconds.
double exact_ms(std::vector<std::int64_t> values, double q) {
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return static_cast<double>(values[std::max<std::size_t>(rank, 1) - 1]) / 1000.0;
}

TEST(read_stats, counts_each_outcome_and_skips) {
  read_stats stats;
  stats.record(sample(1, sample_outcome::match), t0);
  stats.record(sample(1, sample_outcome::match), t0);
  stats.record(sample(1, sample_outcome::mismatch), t0);
  stats.record(sample(1, sample_outcome::noise), t0);
  stats.record_skipped(1, "SELECT * FROM t WHERE id = $1", t0);
  const auto t = stats.totals();
  EXPECT_EQ(t.samples, 4U);
  EXPECT_EQ(t.matches, 2U);
  EXPECT_EQ(t.mismatches, 1U);
  EXPECT_EQ(t.noise, 1U);
  EXPECT_EQ(t.skipped, 1U);
  EXPECT_DOUBLE_EQ(t.mismatch_rate(), 0.25);
  const auto w = stats.worst(10);
  ASSERT_EQ(w.size(), 1U);
  EXPECT_EQ(w[0].fingerprint, 1U);
  EXPECT_EQ(w[0].statement, "SELECT * FROM t WHERE id = $1");
  EXPECT_EQ(w[0].samples, 4U);
  EXPECT_EQ(w[0].skipped, 1U);
  EXPECT_EQ(w[0].old_latency.count, 4U);
  EXPECT_EQ(w[0].new_latency.count, 4U);
  EXPECT_EQ(stats.window(t0, seconds{600}), t);
}

TEST(read_stats, latency_goes_to_the_backend_not_the_role) {
  read_stats stats;
  stats.record(sample(1, sample_outcome::match, microseconds{1000}, microseconds{5000}), t0);
  auto cutover = sample(1, sample_outcome::match, microseconds{5000}, microseconds{1000});
  cutover.primary_is_new = true;  // phase 3: NEW answers, OLD is the shadow
  stats.record(cutover, t0);
  const auto t = stats.totals();
  EXPECT_DOUBLE_EQ(t.old_latency.p99_ms, 1.0);
  EXPECT_DOUBLE_EQ(t.new_latency.p99_ms, 5.0);
}

TEST(read_stats, constant_latency_is_exact) {
  read_stats stats;
  for (int i = 0; i < 1500; ++i)
    stats.record(sample(1, sample_outcome::match, microseconds{1500}, microseconds{7}), t0);
  const auto t = stats.totals();
  EXPECT_DOUBLE_EQ(t.old_latency.p50_ms, 1.5);
  EXPECT_DOUBLE_EQ(t.old_latency.p99_ms, 1.5);
  EXPECT_DOUBLE_EQ(t.new_latency.p50_ms, 0.007);
  EXPECT_EQ(t.old_latency.count, 1500U);
}

TEST(read_stats, uniform_latency_percentiles) {
  read_stats stats;
  for (int us = 1; us <= 10'000; ++us)
    stats.record(sample(1, sample_outcome::match, microseconds{us}, microseconds{us * 10}), t0);
  const auto t = stats.totals();
  EXPECT_NEAR(t.old_latency.p50_ms, 5.0, 0.05);
  EXPECT_NEAR(t.old_latency.p99_ms, 9.9, 0.2);
  EXPECT_NEAR(t.new_latency.p50_ms, 50.0, 0.5);
  EXPECT_NEAR(t.new_latency.p99_ms, 99.0, 2.0);
}

TEST(read_stats, bimodal_latency_tail) {
  read_stats stats;
  for (int i = 0; i < 98; ++i) stats.record(sample(1, sample_outcome::match, microseconds{1000}), t0);
  for (int i = 0; i < 2; ++i)
    stats.record(sample(1, sample_outcome::match, microseconds{100'000}), t0);
  const auto t = stats.totals();
  EXPECT_DOUBLE_EQ(t.old_latency.p50_ms, 1.0);
  EXPECT_DOUBLE_EQ(t.old_latency.p99_ms, 100.0);
}

TEST(read_stats, lognormal_latency_within_a_bucket) {
  std::mt19937_64 random{42};
  std::lognormal_distribution<double> dist{std::log(2000.0), 1.0};
  std::vector<std::int64_t> values;
  read_stats stats;
  for (int i = 0; i < 20'000; ++i) {
    const auto us = static_cast<std::int64_t>(dist(random)) + 1;
    values.push_back(us);
    stats.record(sample(1, sample_outcome::match, microseconds{us}), t0);
  }
  const auto t = stats.totals();
  for (const auto& [q, got] : {std::pair{0.5, t.old_latency.p50_ms}, {0.99, t.old_latency.p99_ms}}) {
    const double want = exact_ms(values, q);
    EXPECT_LT(std::abs(got - want) / want, 0.1) << "q=" << q << " got " << got << " want " << want;
  }
}

TEST(read_stats, huge_and_zero_latencies_stay_in_range) {
  read_stats stats;
  stats.record(sample(1, sample_outcome::match, microseconds{0}, std::chrono::hours{1}), t0);
  const auto t = stats.totals();
  EXPECT_DOUBLE_EQ(t.old_latency.p99_ms, 0.0);
  EXPECT_DOUBLE_EQ(t.new_latency.p99_ms, 3'600'000.0);
}

TEST(read_stats, window_expires_old_slots) {
  read_stats stats{{.window = seconds{600}}};
  EXPECT_EQ(stats.slot_span(), seconds{5});
  stats.record(sample(1, sample_outcome::mismatch), t0);
  stats.record(sample(1, sample_outcome::match), t0 + seconds{100});
  stats.record(sample(1, sample_outcome::match), t0 + seconds{590});
  stats.record_skipped(1, "x", t0 + seconds{590});

  auto w = stats.window(t0 + seconds{590}, seconds{600});
  EXPECT_EQ(w.samples, 3U);
  EXPECT_EQ(w.mismatches, 1U);
  EXPECT_EQ(w.skipped, 1U);
  // 60 s back from t0+590 reaches only the last record.
  w = stats.window(t0 + seconds{590}, seconds{60});
  EXPECT_EQ(w.samples, 1U);
  EXPECT_EQ(w.mismatches, 0U);
  // Ten minutes on, the first record has left the window; totals keep it.
  w = stats.window(t0 + seconds{650}, seconds{600});
  EXPECT_EQ(w.samples, 2U);
  EXPECT_EQ(w.mismatches, 0U);
  EXPECT_EQ(stats.totals().samples, 3U);
  // Long after: empty, and the ring slots are reused cleanly.
  EXPECT_EQ(stats.window(t0 + seconds{5000}, seconds{600}), sample_totals{});
  stats.record(sample(1, sample_outcome::noise), t0 + seconds{5000});
  w = stats.window(t0 + seconds{5000}, seconds{600});
  EXPECT_EQ(w.samples, 1U);
  EXPECT_EQ(w.noise, 1U);
  // A span longer than the window is cut to it.
  EXPECT_EQ(stats.window(t0 + seconds{5000}, seconds{100'000}).samples, 1U);
}

TEST(read_stats, late_record_older_than_the_ring_counts_only_in_totals) {
  read_stats stats{{.window = seconds{60}}};
  EXPECT_EQ(stats.slot_span(), seconds{1});
  stats.record(sample(1, sample_outcome::match), t0 + seconds{120});
  stats.record(sample(1, sample_outcome::mismatch), t0 + seconds{60});  // same ring slot, older
  EXPECT_EQ(stats.window(t0 + seconds{120}, seconds{60}).samples, 1U);
  EXPECT_EQ(stats.window(t0 + seconds{120}, seconds{60}).mismatches, 0U);
  EXPECT_EQ(stats.totals().samples, 2U);
}

TEST(read_stats, window_latency) {
  read_stats stats{{.window = seconds{60}}};
  stats.record(sample(1, sample_outcome::match, microseconds{100'000}), t0);
  for (int i = 0; i < 10; ++i)
    stats.record(sample(1, sample_outcome::match, microseconds{1000}), t0 + seconds{100});
  const auto w = stats.window(t0 + seconds{100}, seconds{60});
  EXPECT_EQ(w.old_latency.count, 10U);
  EXPECT_DOUBLE_EQ(w.old_latency.p99_ms, 1.0);
  EXPECT_DOUBLE_EQ(stats.totals().old_latency.p99_ms, 100.0);
}

TEST(read_stats, fingerprint_cap_counts_the_rest_as_other) {
  read_stats stats{{.max_fingerprints = 3}};
  for (std::uint64_t fp = 1; fp <= 5; ++fp) {
    auto r = sample(fp, sample_outcome::match);
    const std::string text = "SELECT " + std::to_string(fp);
    r.statement = text;
    stats.record(r, t0);
  }
  stats.record(sample(2, sample_outcome::match), t0);  // tracked shapes keep counting
  stats.record(sample(0, sample_outcome::mismatch), t0);
  stats.record_skipped(9, "SELECT 9", t0);
  const auto w = stats.worst(100);
  ASSERT_EQ(w.size(), 4U);
  EXPECT_EQ(w[0].fingerprint, 0U);  // the mismatch makes "other" the worst
  EXPECT_EQ(w[0].statement, "");
  EXPECT_EQ(w[0].samples, 3U);
  EXPECT_EQ(w[0].skipped, 1U);
  EXPECT_EQ(w[1].fingerprint, 2U);
  EXPECT_EQ(w[1].samples, 2U);
  EXPECT_EQ(w[1].statement, "SELECT 2");
  EXPECT_EQ(stats.totals().samples, 7U);
}

TEST(read_stats, worst_orders_by_mismatches_noise_then_samples) {
  read_stats stats;
  const auto add = [&](std::uint64_t fp, int matches, int mismatches, int noise) {
    for (int i = 0; i < matches; ++i) stats.record(sample(fp, sample_outcome::match), t0);
    for (int i = 0; i < mismatches; ++i) stats.record(sample(fp, sample_outcome::mismatch), t0);
    for (int i = 0; i < noise; ++i) stats.record(sample(fp, sample_outcome::noise), t0);
  };
  add(10, 100, 0, 0);
  add(11, 1, 2, 0);
  add(12, 0, 2, 5);
  add(13, 5, 0, 1);
  add(14, 50, 0, 1);
  add(15, 1, 2, 0);
  std::vector<std::uint64_t> order;
  for (const auto& f : stats.worst(10)) order.push_back(f.fingerprint);
  EXPECT_EQ(order, (std::vector<std::uint64_t>{12, 11, 15, 14, 13, 10}));
  const auto top = stats.worst(2);
  ASSERT_EQ(top.size(), 2U);
  EXPECT_EQ(top[0].fingerprint, 12U);
  EXPECT_EQ(top[1].fingerprint, 11U);
  EXPECT_TRUE(stats.worst(0).empty());
}

TEST(read_stats, keeps_the_latest_example_of_each_kind) {
  read_stats stats;
  auto first = sample(1, sample_outcome::mismatch);
  first.example = example("first");
  stats.record(first, t0);
  auto second = sample(1, sample_outcome::mismatch);
  second.example = example("second");
  stats.record(second, t0);
  auto noise = sample(1, sample_outcome::noise);
  noise.example = example("", {"at"});
  stats.record(noise, t0);
  auto match = sample(1, sample_outcome::match);
  match.example = example("never kept");
  stats.record(match, t0);
  const auto w = stats.worst(1);
  ASSERT_EQ(w.size(), 1U);
  ASSERT_TRUE(w[0].last_mismatch.has_value());
  EXPECT_EQ(w[0].last_mismatch->detail, "second");
  ASSERT_TRUE(w[0].last_noise.has_value());
  EXPECT_EQ(w[0].last_noise->noisy_columns, std::vector<std::string>{"at"});
}

TEST(read_stats, texts_and_examples_are_truncated) {
  read_stats stats{{.max_text_bytes = 12, .max_example_rows = 2, .max_row_bytes = 8}};
  const std::string long_text = "SELECT 'ééééééééé'";  // 2-byte characters near the cut
  auto r = sample(1, sample_outcome::mismatch);
  r.statement = long_text;
  r.example = example("");
  r.example->statement = long_text;
  r.example->parameters = std::string(100, 'p');
  r.example->primary_rows = {"(1, 'aaaaaaaaaa')", "(2)", "(3)"};
  r.example->shadow_rows = {"(4)"};
  stats.record(r, t0);
  const auto w = stats.worst(1);
  ASSERT_EQ(w.size(), 1U);
  EXPECT_LE(w[0].statement.size(), 12U);
  EXPECT_EQ(w[0].statement, "SELECT '...");
  EXPECT_EQ(w[0].last_mismatch->statement, "SELECT '...");
  EXPECT_EQ(w[0].last_mismatch->parameters, "ppppppppp...");
  EXPECT_EQ(w[0].last_mismatch->primary_rows,
            (std::vector<std::string>{"(1, '...", "(2)"}));
  EXPECT_EQ(w[0].last_mismatch->shadow_rows, std::vector<std::string>{"(4)"});

  read_stats utf8{{.max_text_bytes = 14}};
  auto u = sample(1, sample_outcome::match);
  u.statement = long_text;  // "SELECT '" is 8 bytes; 11 would split the second é
  utf8.record(u, t0);
  EXPECT_EQ(utf8.worst(1)[0].statement, "SELECT 'é...");

  // JSON needs valid UTF-8: a LATIN1 client's bytes, overlong forms and surrogates become '?'.
  read_stats latin1;
  auto l = sample(1, sample_outcome::match);
  l.statement = "SELECT 'caf\xe9', '\xc0\xaf', '\xed\xa0\x80', '\xf0\x9f\x98\x80'";
  latin1.record(l, t0);
  EXPECT_EQ(latin1.worst(1)[0].statement, "SELECT 'caf?', '?" "?', '?" "?" "?', '\xf0\x9f\x98\x80'");
}

TEST(read_stats, learnt_noise) {
  read_stats stats{{.max_fingerprints = 1}};
  EXPECT_FALSE(stats.known_noise(7, {"at"}));
  stats.learn_noisy_columns(7, {"at", "rnd"});
  stats.learn_noisy_columns(7, {"at"});
  EXPECT_TRUE(stats.known_noise(7, {"at"}));
  EXPECT_TRUE(stats.known_noise(7, {"rnd", "at"}));
  EXPECT_FALSE(stats.known_noise(7, {"at", "name"}));
  EXPECT_FALSE(stats.known_noise(7, {}));
  EXPECT_FALSE(stats.known_noise(8, {"at"}));
  // Past the cap nothing is learnt: "other" mixes query shapes.
  stats.learn_noisy_columns(8, {"at"});
  EXPECT_FALSE(stats.known_noise(8, {"at"}));
  stats.learn_noisy_columns(0, {"at"});
  EXPECT_FALSE(stats.known_noise(0, {"at"}));
  // Learnt before the first sample: the statement comes with that sample.
  stats.record(sample(7, sample_outcome::noise), t0);
  EXPECT_EQ(stats.worst(1)[0].statement, "SELECT * FROM t WHERE id = $1");

  stats.reset();
  EXPECT_FALSE(stats.known_noise(7, {"at"}));
}

TEST(read_stats, reset_forgets_everything) {
  read_stats stats{{.max_fingerprints = 1}};
  stats.record(sample(1, sample_outcome::mismatch), t0);
  stats.record(sample(2, sample_outcome::mismatch), t0);
  stats.reset();
  EXPECT_EQ(stats.totals(), sample_totals{});
  EXPECT_EQ(stats.window(t0, seconds{600}), sample_totals{});
  EXPECT_TRUE(stats.worst(10).empty());
  stats.record(sample(3, sample_outcome::match), t0);  // the cap is free again
  const auto w = stats.worst(10);
  ASSERT_EQ(w.size(), 1U);
  EXPECT_EQ(w[0].fingerprint, 3U);
}

TEST(read_stats, threads_record_and_read_at_once) {
  read_stats stats{{.max_fingerprints = 50, .window = seconds{60}}};
  constexpr int threads = 4;
  constexpr int per_thread = 20'000;
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&stats, t] {
      for (int i = 0; i < per_thread; ++i) {
        const auto fp = static_cast<std::uint64_t>(1 + (i * 7 + t) % 80);
        auto r = sample(fp, i % 10 == 0 ? sample_outcome::mismatch : sample_outcome::match,
                        microseconds{i % 5000});
        if (i % 100 == 0) r.example = example("y");
        stats.record(r, t0 + seconds{i / 1000});
        if (i % 50 == 0) stats.record_skipped(fp, "x", t0 + seconds{i / 1000});
        if (i % 500 == 0) stats.learn_noisy_columns(fp, {"c" + std::to_string(i % 3)});
      }
    });
  }
  std::thread reader{[&stats] {
    for (int i = 0; i < 200; ++i) {
      (void)stats.worst(10);
      (void)stats.window(t0 + seconds{i / 10}, seconds{60});
      (void)stats.known_noise(3, {"c1"});
    }
  }};
  for (auto& w : writers) w.join();
  reader.join();
  const auto t = stats.totals();
  EXPECT_EQ(t.samples, std::uint64_t{threads} * per_thread);
  EXPECT_EQ(t.mismatches, std::uint64_t{threads} * per_thread / 10);
  EXPECT_EQ(t.skipped, std::uint64_t{threads} * per_thread / 50);
  std::uint64_t summed = 0;
  for (const auto& f : stats.worst(1000)) summed += f.samples;
  EXPECT_EQ(summed, t.samples);
  EXPECT_EQ(stats.worst(1000).size(), 51U);  // 50 shapes and "other"
}

}  // namespace
}  // namespace dw::compare::test
