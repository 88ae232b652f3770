#pragma once
// Statistics of sampled shadow reads (issue 4), grouped by libpg_query fingerprint: how many
// samples each query shape had, how many matched, mismatched or differed only by noise, how
// many were skipped, and each backend's latency (p50/p99). Also the totals over a sliding
// window of recent time, which the 2->3 gate and the automatic rollback triggers read.
//
// Sessions on every worker thread record into one read_stats (owned by the proxy's shared
// state), so it is internally synchronised: one mutex, taken once per record and per query.
// Pure otherwise: no I/O, no logging; time comes in as arguments.
//
// Memory is bounded: at most max_fingerprints query shapes are tracked (later shapes count in
// one "other" entry, fingerprint 0), each keeps fixed-size latency histograms and at most one
// example of each kind; statement texts and examples are truncated to max_text_bytes (at a
// UTF-8 character boundary, marked "..."). About 1 KiB per fingerprint plus its examples, and
// 120 KiB for the window.
//
// Percentiles come from log-linear histograms: 4 buckets per power of two from 1 us to 2^28 us
// (~268 s; longer counts in the last bucket), interpolated inside the bucket and clamped to the
// smallest and largest value seen: an estimate lies in the bucket of the true nearest-rank
// percentile, so within 25% of it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dw::compare {

/// "0123456789abcdef": how query fingerprints are shown (dwctl diffs, the divergence log, the
/// logs) and configured (shadow_reads.always/never).
[[nodiscard]] std::string fingerprint_hex(std::uint64_t fingerprint);
/// The reverse: 1 to 16 hex digits (either case), nothing else; nullopt otherwise.
[[nodiscard]] std::optional<std::uint64_t> parse_fingerprint_hex(std::string_view text);

enum class sample_outcome : std::uint8_t {
  match,     ///< both backends answered alike (within the tolerances and ignore rules)
  mismatch,  ///< a real difference
  noise,     ///< differed only where the primary also differs from itself (now(), random())
};

/// A side-by-side example of one differing sample, ready to show. The proxy fills it with
/// redacted text when redaction is on: nothing here is redacted again.
struct sample_example {
  std::string statement;   ///< the SQL text as the client sent it (or redacted)
  std::string parameters;  ///< Bind values rendered, or a redaction marker; empty: none
  std::string detail;      ///< result_diff_summary::detail: what differed
  std::string primary;     ///< the primary's answer in brief: "SELECT 3", "ERROR 42P01 ..."
  std::string shadow;      ///< the shadow's, likewise
  std::vector<std::string> primary_rows;  ///< a few rows only the primary returned
  std::vector<std::string> shadow_rows;   ///< a few rows only the shadow returned
  std::vector<std::string> noisy_columns; ///< noise: the columns that changed between primary runs
  std::chrono::system_clock::time_point at{};

  friend bool operator==(const sample_example&, const sample_example&) = default;
};

/// One compared sample, as the proxy reports it.
struct sample_record {
  std::uint64_t fingerprint = 0;
  std::string_view statement;  ///< kept (truncated) the first time a fingerprint is seen
  sample_outcome outcome = sample_outcome::match;
  bool primary_is_new = false;  ///< which backend answered as primary (phase 3: NEW)
  std::chrono::microseconds primary_latency{0};
  std::chrono::microseconds shadow_latency{0};
  std::optional<sample_example> example;  ///< mismatch and noise: what to show
};

struct latency_summary {
  std::uint64_t count = 0;
  double p50_ms = 0;
  double p99_ms = 0;

  friend bool operator==(const latency_summary&, const latency_summary&) = default;
};

struct fingerprint_stats {
  std::uint64_t fingerprint = 0;  ///< 0: the "other" entry past max_fingerprints
  std::string statement;          ///< the first text seen (truncated)
  std::uint64_t samples = 0;      ///< compared: matches + mismatches + noise
  std::uint64_t matches = 0;
  std::uint64_t mismatches = 0;
  std::uint64_t noise = 0;
  std::uint64_t skipped = 0;  ///< chosen for sampling but not run (queue full, shadow absent)
  latency_summary old_latency;  ///< on OLD, whichever role it had
  latency_summary new_latency;
  std::optional<sample_example> last_mismatch;
  std::optional<sample_example> last_noise;

  /// mismatches / samples; 0 without samples.
  [[nodiscard]] double mismatch_rate() const noexcept {
    return samples == 0 ? 0 : static_cast<double>(mismatches) / static_cast<double>(samples);
  }
  friend bool operator==(const fingerprint_stats&, const fingerprint_stats&) = default;
};

/// Everything counted since the last reset, or inside the window.
struct sample_totals {
  std::uint64_t samples = 0;
  std::uint64_t matches = 0;
  std::uint64_t mismatches = 0;
  std::uint64_t noise = 0;
  std::uint64_t skipped = 0;
  latency_summary old_latency;
  latency_summary new_latency;

  /// mismatches / samples; 0 without samples.
  [[nodiscard]] double mismatch_rate() const noexcept {
    return samples == 0 ? 0 : static_cast<double>(mismatches) / static_cast<double>(samples);
  }
  friend bool operator==(const sample_totals&, const sample_totals&) = default;
};

struct read_stats_options {
  std::size_t max_fingerprints = 1000;
  std::size_t max_text_bytes = 2048;  ///< statement, parameters, detail, answers
  std::chrono::seconds window{600};   ///< what window() covers (kept in at most 120 slots)
  std::size_t max_example_rows = 5;   ///< rows kept per side of an example
  std::size_t max_row_bytes = 256;    ///< bytes kept of each example row
  std::size_t max_noisy_columns = 32; ///< learnt noisy columns per fingerprint
};

class read_stats {
 public:
  explicit read_stats(read_stats_options options = {});
  ~read_stats();
  read_stats(const read_stats&) = delete;
  read_stats& operator=(const read_stats&) = delete;

  void record(const sample_record& r, std::chrono::steady_clock::time_point now);
  /// A read chosen for sampling that could not be run.
  void record_skipped(std::uint64_t fingerprint, std::string_view statement,
                      std::chrono::steady_clock::time_point now);

  /// Noise learnt for a fingerprint: later mismatches confined to these columns are noise
  /// without another re-run on the primary. Columns accumulate (a set per fingerprint).
  void learn_noisy_columns(std::uint64_t fingerprint, const std::vector<std::string>& columns);
  /// True when `columns` is non-empty and every one of them was learnt as noisy.
  [[nodiscard]] bool known_noise(std::uint64_t fingerprint,
                                 const std::vector<std::string>& columns) const;

  /// The worst offenders first: most mismatches, then most noise, then most samples; at most
  /// `limit` entries.
  [[nodiscard]] std::vector<fingerprint_stats> worst(std::size_t limit) const;
  [[nodiscard]] sample_totals totals() const;
  /// Totals of the last `span` (at most options.window; rounded to whole slots) before `now`.
  [[nodiscard]] sample_totals window(std::chrono::steady_clock::time_point now,
                                     std::chrono::seconds span) const;
  /// Forgets everything, learnt noise included (the operator fixed NEW and wants fresh
  /// numbers, or noise was learnt from a real difference).
  void reset();

  /// The width of one window slot: window() spans are rounded up to whole slots.
  [[nodiscard]] std::chrono::seconds slot_span() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dw::compare
