// read_stats: per-fingerprint counters, fixed-size latency histograms, the latest examples,
// learnt noisy columns, and a ring of time slots for the sliding window. Every public call
// takes the one mutex; examples are copied and truncated before it is taken.
#include "compare/read_stats.hpp"

#include "compare/utf8.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <mutex>
#include <unordered_map>

namespace dw::compare {

std::string fingerprint_hex(std::uint64_t fingerprint) {
  return fmt::format("{:016x}", fingerprint);
}

std::optional<std::uint64_t> parse_fingerprint_hex(std::string_view text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, value, 16);
  // from_chars takes no sign, but counts on the caller for the length: 16 digits at most.
  if (text.empty() || text.size() > 16 || ec != std::errc{} || p != end) return std::nullopt;
  return value;
}
namespace {

using std::chrono::microseconds;
using std::chrono::seconds;
using time_point = std::chrono::steady_clock::time_point;

constexpr std::size_t max_slots = 120;

/// Latencies in microseconds: bucket 0 holds [0, 1); then 4 per power of two 2^0 .. 2^27.
class latency_histogram {
 public:
  static constexpr int sub_buckets = 4;
  static constexpr int max_exponent = 27;
  static constexpr std::size_t bucket_count = 1 + (max_exponent + 1) * sub_buckets;

  void add(microseconds d) noexcept {
    const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(d.count(), 0));
    auto& c = counts_[bucket_of(us)];
    if (c != std::numeric_limits<std::uint32_t>::max()) ++c;
    ++count_;
    min_us_ = std::min(min_us_, us);
    max_us_ = std::max(max_us_, us);
  }

  void merge(const latency_histogram& o) noexcept {
    for (std::size_t i = 0; i < bucket_count; ++i) {
      const std::uint64_t sum = std::uint64_t{counts_[i]} + o.counts_[i];
      counts_[i] = static_cast<std::uint32_t>(
          std::min<std::uint64_t>(sum, std::numeric_limits<std::uint32_t>::max()));
    }
    count_ += o.count_;
    min_us_ = std::min(min_us_, o.min_us_);
    max_us_ = std::max(max_us_, o.max_us_);
  }

  [[nodiscard]] latency_summary summary() const {
    if (count_ == 0) return {};
    return {count_, percentile_us(0.50) / 1000.0, percentile_us(0.99) / 1000.0};
  }

 private:
  static std::size_t bucket_of(std::uint64_t us) noexcept {
    if (us == 0) return 0;
    const int exp = static_cast<int>(std::bit_width(us)) - 1;
    if (exp > max_exponent) return bucket_count - 1;
    // The two bits after the leading one pick the quarter of [2^exp, 2^(exp+1)).
    const std::uint64_t sub = exp >= 2 ? (us >> (exp - 2)) & 3U : (us << (2 - exp)) & 3U;
    return 1 + static_cast<std::size_t>(exp) * sub_buckets + static_cast<std::size_t>(sub);
  }

  static double lower_bound(std::size_t bucket) noexcept {
    if (bucket == 0) return 0;
    const auto exp = static_cast<int>((bucket - 1) / sub_buckets);
    const auto sub = static_cast<double>((bucket - 1) % sub_buckets);
    return std::ldexp(1.0 + sub / sub_buckets, exp);
  }

  static double upper_bound(std::size_t bucket) noexcept {
    if (bucket == 0) return 1;
    const auto exp = static_cast<int>((bucket - 1) / sub_buckets);
    const auto sub = static_cast<double>((bucket - 1) % sub_buckets);
    return std::ldexp(1.0 + (sub + 1) / sub_buckets, exp);
  }

  /// Nearest rank, placed inside its bucket by its position among the bucket's values.
  [[nodiscard]] double percentile_us(double q) const noexcept {
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
    std::uint64_t before = 0;
    std::size_t i = 0;
    for (; i + 1 < bucket_count && before + counts_[i] < rank; ++i) before += counts_[i];
    const double in_bucket = counts_[i] == 0 ? 0.5
                                             : (static_cast<double>(rank - before) - 0.5) /
                                                   static_cast<double>(counts_[i]);
    const double lo = lower_bound(i);
    const double v = lo + (upper_bound(i) - lo) * std::clamp(in_bucket, 0.0, 1.0);
    return std::clamp(v, static_cast<double>(min_us_), static_cast<double>(max_us_));
  }

  std::array<std::uint32_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t min_us_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_us_ = 0;
};

struct counters {
  std::uint64_t matches = 0;
  std::uint64_t mismatches = 0;
  std::uint64_t noise = 0;
  std::uint64_t skipped = 0;
  latency_histogram old_latency;
  latency_histogram new_latency;

  void add(const sample_record& r) noexcept {
    switch (r.outcome) {
      case sample_outcome::match:
        ++matches;
        break;
      case sample_outcome::mismatch:
        ++mismatches;
        break;
      case sample_outcome::noise:
        ++noise;
        break;
    }
    (r.primary_is_new ? new_latency : old_latency).add(r.primary_latency);
    (r.primary_is_new ? old_latency : new_latency).add(r.shadow_latency);
  }

  void merge(const counters& o) noexcept {
    matches += o.matches;
    mismatches += o.mismatches;
    noise += o.noise;
    skipped += o.skipped;
    old_latency.merge(o.old_latency);
    new_latency.merge(o.new_latency);
  }

  [[nodiscard]] sample_totals totals() const {
    return {matches + mismatches + noise, matches, mismatches, noise, skipped,
            old_latency.summary(), new_latency.summary()};
  }
};

struct entry {
  std::string statement;
  counters c;
  std::optional<sample_example> last_mismatch;
  std::optional<sample_example> last_noise;
  std::vector<std::string> noisy_columns;  ///< sorted, unique
};

struct slot {
  std::int64_t epoch = std::numeric_limits<std::int64_t>::min();  ///< time / slot_span
  counters c;
};


/// At most `max` bytes of `s` as valid UTF-8 (what JSON needs: a session's client_encoding
/// may be another one), each invalid byte shown as '?', cut at a character boundary and
/// marked "..." when cut.
std::string truncated(std::string_view s, std::size_t max) {
  constexpr std::string_view marker = "...";
  std::string out;
  out.reserve(std::min(s.size(), max));
  const std::size_t room = s.size() <= max ? max : (max >= marker.size() ? max - marker.size() : max);
  while (!s.empty()) {
    const std::size_t n = utf8_sequence_length(s, 0);
    const std::size_t len = n == 0 ? 1 : n;
    if (out.size() + len > room) break;
    out.append(n == 0 ? std::string_view{"?"} : s.substr(0, n));
    s.remove_prefix(len);
  }
  if (!s.empty() && max >= marker.size()) out += marker;
  return out;
}

std::vector<std::string> truncated_list(const std::vector<std::string>& in, std::size_t max_items,
                                        std::size_t max_bytes) {
  std::vector<std::string> out;
  out.reserve(std::min(in.size(), max_items));
  for (std::size_t i = 0; i < in.size() && i < max_items; ++i)
    out.push_back(truncated(in[i], max_bytes));
  return out;
}

}  // namespace

struct read_stats::impl {
  explicit impl(read_stats_options o) : options{o} {
    const auto window = std::max<std::int64_t>(options.window.count(), 1);
    span = seconds{std::max<std::int64_t>(
        1, (window + static_cast<std::int64_t>(max_slots) - 1) / static_cast<std::int64_t>(max_slots))};
    slots.resize(static_cast<std::size_t>((window + span.count() - 1) / span.count()));
  }

  read_stats_options options;
  seconds span{1};
  mutable std::mutex mutex;
  std::unordered_map<std::uint64_t, entry> entries;  ///< key 0: everything past the cap
  std::size_t tracked = 0;                           ///< entries other than key 0
  counters all;
  std::vector<slot> slots;

  [[nodiscard]] std::int64_t epoch_of(time_point now) const noexcept {
    return std::chrono::floor<seconds>(now.time_since_epoch()).count() / span.count();
  }

  /// The slot `now` counts in, cleared when it last held an older epoch; nullptr when `now` is
  /// older than the ring reaches (a late caller on another thread).
  slot* slot_for(time_point now) noexcept {
    const std::int64_t epoch = epoch_of(now);
    const auto n = static_cast<std::int64_t>(slots.size());
    slot& s = slots[static_cast<std::size_t>(((epoch % n) + n) % n)];
    if (s.epoch > epoch) return nullptr;
    if (s.epoch < epoch) s = slot{epoch, {}};
    return &s;
  }

  /// The entry of `fingerprint`, created while under the cap (its statement filled in if it
  /// was created without one); nullptr for fingerprint 0 and past the cap.
  entry* own_entry(std::uint64_t fingerprint, std::string_view statement) {
    if (fingerprint == 0) return nullptr;
    auto it = entries.find(fingerprint);
    if (it == entries.end()) {
      if (tracked >= options.max_fingerprints) return nullptr;
      ++tracked;
      it = entries.try_emplace(fingerprint).first;
    }
    if (it->second.statement.empty())
      it->second.statement = truncated(statement, options.max_text_bytes);
    return &it->second;
  }

  /// own_entry(), or else the "other" entry.
  entry& entry_for(std::uint64_t fingerprint, std::string_view statement) {
    if (entry* e = own_entry(fingerprint, statement)) return *e;
    return entries[0];
  }

  sample_example copy_example(const sample_example& in) const {
    sample_example e;
    e.statement = truncated(in.statement, options.max_text_bytes);
    e.parameters = truncated(in.parameters, options.max_text_bytes);
    e.detail = truncated(in.detail, options.max_text_bytes);
    e.primary = truncated(in.primary, options.max_text_bytes);
    e.shadow = truncated(in.shadow, options.max_text_bytes);
    e.primary_rows = truncated_list(in.primary_rows, options.max_example_rows, options.max_row_bytes);
    e.shadow_rows = truncated_list(in.shadow_rows, options.max_example_rows, options.max_row_bytes);
    e.noisy_columns = truncated_list(in.noisy_columns, options.max_noisy_columns, max_column_bytes);
    e.at = in.at;
    return e;
  }

  static constexpr std::size_t max_column_bytes = 128;
};

read_stats::read_stats(read_stats_options options) : impl_{std::make_unique<impl>(options)} {}

read_stats::~read_stats() = default;

void read_stats::record(const sample_record& r, std::chrono::steady_clock::time_point now) {
  std::optional<sample_example> example;
  if (r.example && r.outcome != sample_outcome::match) example = impl_->copy_example(*r.example);
  std::lock_guard lock{impl_->mutex};
  entry& e = impl_->entry_for(r.fingerprint, r.statement);
  e.c.add(r);
  impl_->all.add(r);
  if (slot* s = impl_->slot_for(now)) s->c.add(r);
  if (example) {
    auto& kept = r.outcome == sample_outcome::mismatch ? e.last_mismatch : e.last_noise;
    kept = std::move(example);
  }
}

void read_stats::record_skipped(std::uint64_t fingerprint, std::string_view statement,
                                std::chrono::steady_clock::time_point now) {
  std::lock_guard lock{impl_->mutex};
  ++impl_->entry_for(fingerprint, statement).c.skipped;
  ++impl_->all.skipped;
  if (slot* s = impl_->slot_for(now)) ++s->c.skipped;
}

void read_stats::learn_noisy_columns(std::uint64_t fingerprint,
                                     const std::vector<std::string>& columns) {
  if (fingerprint == 0 || columns.empty()) return;  // "other" mixes shapes: nothing to learn
  std::lock_guard lock{impl_->mutex};
  entry* e = impl_->own_entry(fingerprint, {});
  if (e == nullptr) return;
  for (const auto& c : columns) {
    std::string name = truncated(c, impl::max_column_bytes);
    auto& known = e->noisy_columns;
    const auto at = std::lower_bound(known.begin(), known.end(), name);
    if (at != known.end() && *at == name) continue;
    if (known.size() >= impl_->options.max_noisy_columns) break;
    known.insert(at, std::move(name));
  }
}

bool read_stats::known_noise(std::uint64_t fingerprint,
                             const std::vector<std::string>& columns) const {
  if (fingerprint == 0 || columns.empty()) return false;
  std::lock_guard lock{impl_->mutex};
  const auto it = impl_->entries.find(fingerprint);
  if (it == impl_->entries.end()) return false;
  const auto& known = it->second.noisy_columns;
  return std::all_of(columns.begin(), columns.end(), [&](const std::string& c) {
    return std::binary_search(known.begin(), known.end(), truncated(c, impl::max_column_bytes));
  });
}

std::vector<fingerprint_stats> read_stats::worst(std::size_t limit) const {
  std::lock_guard lock{impl_->mutex};
  std::vector<std::pair<std::uint64_t, const entry*>> order;
  order.reserve(impl_->entries.size());
  for (const auto& [fp, e] : impl_->entries) order.emplace_back(fp, &e);
  const auto worse = [](const auto& a, const auto& b) {
    const counters& x = a.second->c;
    const counters& y = b.second->c;
    const std::uint64_t xs = x.matches + x.mismatches + x.noise;
    const std::uint64_t ys = y.matches + y.mismatches + y.noise;
    if (x.mismatches != y.mismatches) return x.mismatches > y.mismatches;
    if (x.noise != y.noise) return x.noise > y.noise;
    if (xs != ys) return xs > ys;
    return a.first < b.first;
  };
  const auto n = std::min(limit, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
                    worse);
  std::vector<fingerprint_stats> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& [fp, e] = order[i];
    const sample_totals t = e->c.totals();
    out.push_back({fp, e->statement, t.samples, t.matches, t.mismatches, t.noise, t.skipped,
                   t.old_latency, t.new_latency, e->last_mismatch, e->last_noise});
  }
  return out;
}

sample_totals read_stats::totals() const {
  std::lock_guard lock{impl_->mutex};
  return impl_->all.totals();
}

sample_totals read_stats::window(std::chrono::steady_clock::time_point now,
                                 std::chrono::seconds span) const {
  std::lock_guard lock{impl_->mutex};
  const std::int64_t width = impl_->span.count();
  const auto wanted = std::max<std::int64_t>((span.count() + width - 1) / width, 1);
  const std::int64_t n = std::min(wanted, static_cast<std::int64_t>(impl_->slots.size()));
  const std::int64_t current = impl_->epoch_of(now);
  counters sum;
  for (const slot& s : impl_->slots)
    if (s.epoch <= current && s.epoch > current - n) sum.merge(s.c);
  return sum.totals();
}

void read_stats::reset() {
  std::lock_guard lock{impl_->mutex};
  impl_->entries.clear();
  impl_->tracked = 0;
  impl_->all = counters{};
  for (slot& s : impl_->slots) s = slot{};
}

std::chrono::seconds read_stats::slot_span() const noexcept { return impl_->span; }

}  // namespace dw::compare
