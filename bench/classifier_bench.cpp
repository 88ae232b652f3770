// Micro-benchmarks of statement classification and the nondeterminism rewrite, which the proxy
// runs on every Query and every Parse: pgbench's tpcb-like statements one by one, the same with
// the fingerprint (a second libpg_query parse) turned off, the rewrite of pgbench's history
// INSERT, and the rewrite's fast path on a statement with nothing to rewrite.
// Run: build/<preset>/bench/dw_bench_codec --benchmark_filter=classif  (release or bench preset).
#include <benchmark/benchmark.h>

#include <array>
#include <string>
#include <string_view>

#include "compare/classifier.hpp"
#include "compare/nondeterminism.hpp"

namespace {

namespace c = dw::compare;

// pgbench's built-in tpcb-like script with its variables filled in (simple query protocol).
constexpr std::array<std::string_view, 7> tpcb_like = {
    "BEGIN;",
    "UPDATE pgbench_accounts SET abalance = abalance + -4242 WHERE aid = 81234;",
    "SELECT abalance FROM pgbench_accounts WHERE aid = 81234;",
    "UPDATE pgbench_tellers SET tbalance = tbalance + -4242 WHERE tid = 7;",
    "UPDATE pgbench_branches SET bbalance = bbalance + -4242 WHERE bid = 1;",
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
    "VALUES (7, 1, 81234, -4242, CURRENT_TIMESTAMP);",
    "END;",
};

void classify_statements(benchmark::State& state, const c::classify_options& options) {
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(c::classify(tpcb_like[i], options));
    i = (i + 1) % tpcb_like.size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void classify_tpcb_like(benchmark::State& state) { classify_statements(state, {}); }
BENCHMARK(classify_tpcb_like);

void classify_tpcb_like_no_fingerprint(benchmark::State& state) {
  c::classify_options options;
  options.fingerprint = false;
  classify_statements(state, options);
}
BENCHMARK(classify_tpcb_like_no_fingerprint);

void classify_pgbench_update(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(c::classify(tpcb_like[1]));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(classify_pgbench_update);

c::nondeterministic_values fixed_values() {
  c::nondeterministic_values v;
  v.transaction_timestamp = "2026-11-21 10:00:00.123456+00";
  v.statement_timestamp = "2026-11-21 10:00:00.123789+00";
  v.random = [] { return 0.5; };
  v.uuid = [] { return std::string{"00000000-0000-4000-8000-000000000001"}; };
  return v;
}

void rewrite_pgbench_history(benchmark::State& state) {
  const auto values = fixed_values();
  for (auto _ : state) benchmark::DoNotOptimize(c::rewrite_nondeterministic(tpcb_like[5], values));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(rewrite_pgbench_history);

void rewrite_fast_path(benchmark::State& state) {
  const auto values = fixed_values();
  for (auto _ : state) benchmark::DoNotOptimize(c::rewrite_nondeterministic(tpcb_like[1], values));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(rewrite_fast_path);

}  // namespace
