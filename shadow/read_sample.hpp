// Shadow reads (issue 4, docs/shadow-reads.md): which reads are sampled, what the shadow runs
// for one, how both backends' answers reach the differ, and how a mismatch is told apart from
// noise once the primary has answered the same read a second time. Pure: the session and the
// shadow link do the I/O and hand the messages in.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "compare/read_shape.hpp"
#include "compare/read_stats.hpp"
#include "compare/result_diff.hpp"
#include "config/config.hpp"
#include "shadow/redaction.hpp"
#include "shadow/unit.hpp"

namespace dw::shadow {

/// shadow_reads.* from the configuration, parsed once per configuration load.
struct read_sampling {
  double rate = 0;
  bool in_cutover = true;
  std::unordered_set<std::uint64_t> always;
  std::unordered_set<std::uint64_t> never;
  struct ignore_rule {
    std::string table;  ///< empty: the column is ignored in every statement
    std::string column;
  };
  std::vector<ignore_rule> ignore;
  double float_abs_tolerance = 0;
  double float_rel_tolerance = 0;
  std::int64_t timestamp_tolerance_us = 0;
  std::size_t max_pending = 8;
  std::size_t sample_rows = 3;
  bool noise_check = true;

  /// Whether reads are sampled at all in `phase` (2, and 3 with in_cutover).
  [[nodiscard]] bool active_in(int phase) const noexcept {
    return (phase == 2 || (phase == 3 && in_cutover)) && (rate > 0 || !always.empty());
  }
  /// The sampling decision for one read: `draw` is uniform in [0, 1).
  [[nodiscard]] bool wants(std::uint64_t fingerprint, double draw) const;
};

/// Parses the settings; on a malformed fingerprint or column rule, the message names the
/// option and the item.
[[nodiscard]] std::optional<std::string> parse_read_sampling(const config::shadow_read_settings& s,
                                                             read_sampling& out);

/// The statement a finished unit reads when the unit can be sampled: exactly one Query or
/// Execute, a plain read of one statement, nothing the shadow gets anyway, no Flush.
[[nodiscard]] std::optional<statement_ref> sampleable_read(const unit& u);

/// What the differ needs to know of a statement: ORDER BY keys, tolerances, ignored columns.
[[nodiscard]] compare::result_diff_options diff_options_for(const read_sampling& rules,
                                                            const compare::read_shape& shape);

/// One sampled read on its way through both backends. The session feeds the primary's
/// answer while relaying it; the shadow link feeds the shadow's and decides.
struct read_sample {
  explicit read_sample(compare::result_diff_options o) : options{o}, diff{std::move(o)} {}

  compare::result_diff_options options;  ///< what `diff` was made with (a re-run uses the same)
  compare::result_diff diff;
  std::uint64_t fingerprint = 0;
  std::shared_ptr<const std::string> sql;
  /// The text statistics and `dwctl diffs` show: `sql` with literals redacted as
  /// divergence_log.redaction says (worked out once per text, not per sample).
  std::shared_ptr<const std::string> shown_sql;
  std::vector<std::optional<bytes>> parameters;
  std::vector<std::int16_t> parameter_formats;
  std::vector<std::byte> frames;  ///< the unit as the primary got it
  bool in_transaction = false;    ///< ran inside the client's transaction
  /// ... after statements of that transaction that changed data or session state: the read
  /// may see them, so a re-run outside the transaction proves nothing (no noise check).
  bool after_transaction_changes = false;
  bool primary_is_new = false;
  bool unusable = false;  ///< an answer could not be followed (huge row, partial portal)
  /// The shadow was asked to cancel it (a write waited behind it): an answer that then
  /// differs is the cancel's doing, so the sample counts as skipped.
  bool cancel_requested = false;
  std::chrono::steady_clock::time_point primary_sent{};
  std::chrono::microseconds primary_latency{0};
  // Brief descriptions of each answer for the example: "SELECT 3" or "ERROR 42P01: ...".
  std::string primary_answer;
  std::string shadow_answer;

  /// One backend message of `side`'s answer (ReadyForQuery and the like are ignored).
  /// `whole` false: a message that streamed past unread, which makes the sample unusable.
  void on_message(compare::result_side side, char type, std::span<const std::byte> body,
                  bool whole = true);

 private:
  bool described_[2] = {false, false};
};

/// Fills sample.parameters from the Bind among sample.frames (for the example and the log).
void capture_parameters(read_sample& sample);

/// The shadow's jobs for a sample, queued in order. Inside a transaction the read runs under a
/// savepoint, so that a read failing (or cancelled) on the shadow cannot abort the transaction
/// the client's writes go on in: the first job sets the savepoint and reads (its
/// `sample_ready_skip` says how many ReadyForQuery precede the read's answer), the second rolls
/// back to the savepoint and releases it. Outside a transaction the read is the only job.
[[nodiscard]] std::vector<shadow_job> make_sample_jobs(std::shared_ptr<read_sample> sample);

/// A mismatch's verdict after the recheck: the read run once more on the primary and on the
/// shadow, on connections of their own, fed into `recheck` as its primary and shadow sides.
///  - The two re-runs agree: the first answers differed because writes were in flight between
///    the primary's run and the shadow's (a read on the shadow comes a little later). Noise,
///    `transient`.
///  - Every column that differs between primary and shadow also changed between the two
///    primary runs (now(), random()): noise, and `noisy_columns` are those columns.
///  - Otherwise a mismatch.
/// `shadow_rerun` false: the shadow's re-run failed or was not made; only the second rule applies.
struct noise_verdict {
  compare::sample_outcome outcome = compare::sample_outcome::mismatch;
  bool transient = false;
  std::vector<std::string> noisy_columns;
  std::string detail;  ///< a mismatch: what the re-runs showed, for the operator
};
[[nodiscard]] noise_verdict judge_noise(const read_sample& sample,
                                        const compare::result_diff_summary& summary,
                                        const compare::result_diff& recheck, bool shadow_rerun);

/// The columns whose values differ between primary and shadow; empty when the difference is
/// not confined to values (column types, errors, row counts).
[[nodiscard]] std::vector<std::string> mismatching_columns(
    const read_sample& sample, const compare::result_diff_summary& summary);

/// The example `dwctl diffs` shows, redacted as the divergence log would be.
[[nodiscard]] compare::sample_example make_example(const read_sample& sample,
                                                   const compare::result_diff_summary& summary,
                                                   redaction_mode mode);

}  // namespace dw::shadow
