#include "compare/result_diff.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>

#include "protocol/message_reader.hpp"

namespace dw::compare {
namespace {

constexpr std::uint32_t float4_oid = 700;
constexpr std::uint32_t float8_oid = 701;
constexpr std::uint32_t numeric_oid = 1700;
constexpr std::uint32_t timestamp_oid = 1114;
constexpr std::uint32_t timestamptz_oid = 1184;
// PostgreSQL's FirstNormalObjectId: OIDs from here on are assigned by each server as objects
// are created, so the same enum, domain or composite type has one OID on OLD and another on
// NEW (found by the regression suite: every read of an enum column mismatched). Built-in type
// OIDs are fixed and still compared; user types are compared through their values.
constexpr std::uint32_t first_normal_oid = 16384;

bool same_type(std::uint32_t primary, std::uint32_t shadow) noexcept {
  return primary == shadow || (primary >= first_normal_oid && shadow >= first_normal_oid);
}

constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// FNV-1a over the fed bytes, finished with splitmix64 for avalanche.
class row_hasher {
 public:
  void bytes(const void* p, std::size_t n) noexcept {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) {
      h_ ^= b[i];
      h_ *= 0x100000001b3ULL;
    }
  }
  void u8(std::uint8_t v) noexcept { bytes(&v, 1); }
  void u64(std::uint64_t v) noexcept { bytes(&v, sizeof v); }
  void f64(double v) noexcept { u64(std::bit_cast<std::uint64_t>(v == 0 ? 0.0 : v)); }
  [[nodiscard]] std::uint64_t value() const noexcept { return splitmix64(h_); }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

std::string_view as_text(std::span<const std::byte> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::optional<double> parse_double(std::string_view s) noexcept {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

/// Reads exactly `n` (>= min_digits) decimal digits, or as many as there are when n is 0.
bool read_digits(std::string_view& s, std::size_t n, std::int64_t& out) noexcept {
  std::size_t len = 0;
  while (len < s.size() && s[len] >= '0' && s[len] <= '9' && (n == 0 || len < n)) ++len;
  if (len == 0 || (n != 0 && len != n) || len > 9) return false;
  out = 0;
  for (std::size_t i = 0; i < len; ++i) out = out * 10 + (s[i] - '0');
  s.remove_prefix(len);
  return true;
}

bool eat(std::string_view& s, char c) noexcept {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

constexpr std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/// ISO DateStyle: "YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM[:SS]]]" → microseconds since 1970 (UTC
/// when an offset is given).
std::optional<std::int64_t> parse_timestamp_us(std::string_view s) noexcept {
  std::int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!read_digits(s, 0, y) || !eat(s, '-') || !read_digits(s, 2, mo) || !eat(s, '-') ||
      !read_digits(s, 2, d) || !eat(s, ' ') || !read_digits(s, 2, h) || !eat(s, ':') ||
      !read_digits(s, 2, mi) || !eat(s, ':') || !read_digits(s, 2, sec)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60) return std::nullopt;
  std::int64_t frac = 0;
  if (eat(s, '.')) {
    const std::size_t before = s.size();
    if (!read_digits(s, 0, frac)) return std::nullopt;
    const std::size_t digits = before - s.size();
    if (digits > 6) return std::nullopt;
    for (std::size_t i = digits; i < 6; ++i) frac *= 10;
  }
  std::int64_t offset_s = 0;
  if (!s.empty()) {
    const bool neg = s.front() == '-';
    if (!eat(s, '+') && !eat(s, '-')) return std::nullopt;
    std::int64_t oh = 0, om = 0, os = 0;
    if (!read_digits(s, 2, oh)) return std::nullopt;
    if (eat(s, ':') && !read_digits(s, 2, om)) return std::nullopt;
    if (eat(s, ':') && !read_digits(s, 2, os)) return std::nullopt;
    if (!s.empty()) return std::nullopt;
    offset_s = (oh * 3600 + om * 60 + os) * (neg ? -1 : 1);
  }
  const std::int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * 1'000'000 + frac;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

struct tolerance {
  double float_abs;
  double float_rel;
  std::int64_t timestamp_us;
};

/// Feeds one non-NULL value, rounded to its tolerance bucket when one applies.
void hash_value(row_hasher& h, std::span<const std::byte> v, std::uint32_t type_oid,
                std::int16_t format, const tolerance& tol) {
  if (format == 0) {
    const bool is_float =
        type_oid == float4_oid || type_oid == float8_oid || type_oid == numeric_oid;
    if (is_float && (tol.float_abs > 0 || tol.float_rel > 0)) {
      if (const auto d = parse_double(as_text(v))) {
        double width = tol.float_abs;
        if (tol.float_rel > 0 && *d != 0) {
          int exp = 0;
          (void)std::frexp(*d, &exp);  // |d| = m·2^exp, m in [0.5, 1): floor(log2 |d|) = exp − 1
          width = std::max(width, tol.float_rel * std::ldexp(1.0, exp - 1));
        }
        h.u8(2);
        if (width > 0) {
          h.f64(std::floor(*d / width + 0.5));
          h.f64(width);
        } else {
          h.f64(*d);
        }
        return;
      }
    }
    const bool is_ts = type_oid == timestamp_oid || type_oid == timestamptz_oid;
    if (is_ts && tol.timestamp_us > 0) {
      if (const auto us = parse_timestamp_us(as_text(v))) {
        h.u8(3);
        h.u64(static_cast<std::uint64_t>(floor_div(*us, tol.timestamp_us)));
        return;
      }
    }
  }
  h.u8(1);
  h.u64(v.size());
  h.bytes(v.data(), v.size());
}

/// One value's hash: NULL has its own marker, never equal to any value (the empty string too).
std::uint64_t value_hash(std::optional<std::span<const std::byte>> v, std::uint32_t type_oid,
                         std::int16_t format, const tolerance& tol) {
  row_hasher h;
  if (v) {
    hash_value(h, *v, type_oid, format, tol);
  } else {
    h.u8(0);
  }
  return h.value();
}

/// The second, independent mix of a hash kept beside the sum of a multiset.
constexpr std::uint64_t multiset_mix(std::uint64_t hash) noexcept {
  return splitmix64(hash ^ 0x5bd1e9955bd1e995ULL);
}

void append_rendered(std::string& out, std::optional<std::span<const std::byte>> v,
                     std::int16_t format) {
  if (!v) {
    out += "NULL";
    return;
  }
  if (format != 0) {
    static constexpr char hex[] = "0123456789abcdef";
    out += "'\\x";
    for (const std::byte b : *v) {
      const auto u = std::to_integer<unsigned>(b);
      out += hex[u >> 4];
      out += hex[u & 15];
    }
    out += '\'';
    return;
  }
  out += '\'';
  for (const char c : as_text(*v)) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
}

}  // namespace

std::string_view to_string(diff_reason r) noexcept {
  switch (r) {
    case diff_reason::columns_differ:
      return "columns_differ";
    case diff_reason::row_count:
      return "row_count";
    case diff_reason::rows:
      return "rows";
    case diff_reason::tag:
      return "tag";
    case diff_reason::error_vs_success:
      return "error_vs_success";
    case diff_reason::both_errors_differ:
      return "both_errors_differ";
    case diff_reason::malformed_row:
      return "malformed_row";
  }
  return "unknown";
}

bool result_diff_summary::has(diff_reason r) const noexcept {
  return std::find(reasons.begin(), reasons.end(), r) != reasons.end();
}

result_diff::result_diff(result_diff_options options) : options_{std::move(options)} {
  if (options_.ordered)
    order_ = options_.order_keys.empty() ? order_check::whole_row : order_check::pending;
}

std::vector<std::string> differing_columns(const std::vector<column_digest>& a,
                                           const std::vector<column_digest>& b) {
  std::vector<std::string> out;
  const auto add = [&out](const std::string& name) {
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  std::vector<bool> paired(b.size(), false);
  for (const auto& x : a) {
    std::size_t j = 0;
    while (j < b.size() && (paired[j] || b[j].name != x.name)) ++j;
    if (j == b.size()) {
      add(x.name);
      continue;
    }
    paired[j] = true;
    if (b[j].sum != x.sum || b[j].mix != x.mix) add(x.name);
  }
  for (std::size_t j = 0; j < b.size(); ++j)
    if (!paired[j]) add(b[j].name);
  return out;
}

void result_diff::on_row_description(result_side s, const protocol::row_description& m) {
  std::vector<column> cols;
  cols.reserve(m.fields.size());
  for (const auto& f : m.fields) {
    const bool ignored = std::find(options_.ignored_columns.begin(), options_.ignored_columns.end(),
                                   f.name) != options_.ignored_columns.end();
    cols.push_back(column{std::string{f.name}, f.type_oid, f.format, ignored});
  }
  if (order_ == order_check::pending) resolve_order_keys(cols);
  side_state& st = state(s);
  st.digests.assign(cols.size(), digest_value{});
  st.columns = std::move(cols);
}

void result_diff::resolve_order_keys(const std::vector<column>& cols) {
  order_ = order_check::whole_row;
  std::vector<std::size_t> indexes;
  for (const auto& key : options_.order_keys) {
    std::optional<std::size_t> found;
    if (key.position > 0) {
      if (static_cast<std::size_t>(key.position) <= cols.size())
        found = static_cast<std::size_t>(key.position) - 1;
    } else {
      for (std::size_t i = 0; i < cols.size(); ++i) {
        if (cols[i].name != key.column) continue;
        if (found) return;  // two output columns of that name: which one orders is unknown
        found = i;
      }
    }
    if (!found) return;
    if (!cols[*found].ignored) indexes.push_back(*found);
  }
  key_columns_ = std::move(indexes);
  order_ = key_columns_.empty() ? order_check::none : order_check::keys;
}

void result_diff::on_data_row(result_side s, std::span<const std::byte> body) {
  side_state& st = state(s);
  const std::vector<column>* cols = st.columns ? &*st.columns : nullptr;
  const tolerance tol{options_.float_abs_tolerance, options_.float_rel_tolerance,
                      options_.timestamp_tolerance_us};
  if (order_ == order_check::pending) order_ = order_check::whole_row;  // no RowDescription yet

  protocol::message_reader r{body};
  const std::size_t n = r.count16(4);
  if (!r.ok() || (cols != nullptr && n != cols->size())) {
    st.malformed = true;
    return;
  }
  value_hashes_.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const auto v = r.nullable_bytes();
    if (!r.ok()) break;
    value_hashes_.push_back(value_hash(v, cols != nullptr ? (*cols)[i].type_oid : 0,
                                       cols != nullptr ? (*cols)[i].format : std::int16_t{1}, tol));
  }
  if (!r.ok() || !r.at_end()) {
    st.malformed = true;
    return;
  }
  row_hasher h;
  for (std::size_t i = 0; i < n; ++i) {
    if (cols != nullptr && (*cols)[i].ignored) continue;
    h.u64(value_hashes_[i]);
    if (cols != nullptr) {
      st.digests[i].sum += value_hashes_[i];
      st.digests[i].mix ^= multiset_mix(value_hashes_[i]);
    }
  }
  const std::uint64_t hash = h.value();
  if (order_ != order_check::none) {
    std::uint64_t order_hash = hash;
    if (order_ == order_check::keys) {
      row_hasher k;
      for (const std::size_t i : key_columns_) k.u64(i < n ? value_hashes_[i] : 0);
      order_hash = k.value();
    }
    if (st.window.size() < options_.max_tracked_rows) st.window.push_back(order_hash);
    st.sequence_hash = splitmix64(st.sequence_hash * 0x100000001b3ULL + order_hash);
  }
  ++st.rows;
  st.hash_sum += hash;
  st.hash_xor ^= multiset_mix(hash);
  track(hash, s == result_side::primary ? 1 : -1, body, cols);
}

void result_diff::track(std::uint64_t hash, std::int64_t delta, std::span<const std::byte> body,
                        const std::vector<column>* cols) {
  if (tracked_overflowed_) return;
  if (const auto it = tracked_.find(hash); it != tracked_.end()) {
    it->second.delta += delta;
    if (it->second.delta == 0) {
      tracked_text_bytes_ -= it->second.text.capacity();
      tracked_.erase(it);
    }
    return;
  }
  if (tracked_.size() >= options_.max_tracked_rows) {
    tracked_overflowed_ = true;
    std::unordered_map<std::uint64_t, tracked_row>{}.swap(tracked_);  // release the buckets too
    tracked_text_bytes_ = 0;
    return;
  }
  // Render the row (already validated by the caller), truncated.
  std::string text = "(";
  protocol::message_reader r{body};
  const std::size_t n = r.count16(4);
  bool first = true;
  for (std::size_t i = 0; i < n && text.size() <= options_.max_sample_text; ++i) {
    const auto v = r.nullable_bytes();
    if (cols != nullptr && (*cols)[i].ignored) continue;
    if (!first) text += ", ";
    first = false;
    append_rendered(text, v, cols != nullptr ? (*cols)[i].format : std::int16_t{1});
  }
  if (text.size() > options_.max_sample_text) {
    std::size_t cut = options_.max_sample_text;  // at a UTF-8 character boundary
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
    text.resize(cut);
    text += "...";
  } else {
    text += ')';
  }
  text.shrink_to_fit();
  tracked_text_bytes_ += text.capacity();
  tracked_.emplace(hash, tracked_row{delta, std::move(text)});
}

void result_diff::on_command_complete(result_side s, std::string_view tag) {
  state(s).tag = std::string{tag};
}

void result_diff::on_error(result_side s, std::string_view sqlstate) {
  state(s).sqlstate = std::string{sqlstate};
}

result_diff_summary result_diff::finish() const {
  result_diff_summary out;
  out.primary_rows = primary_.rows;
  out.shadow_rows = shadow_.rows;
  const auto add = [&out](diff_reason r, const std::string& line) {
    out.reasons.push_back(r);
    out.verdict = result_verdict::mismatch;
    if (!out.detail.empty()) out.detail += '\n';
    out.detail += to_string(r);
    out.detail += ": ";
    out.detail += line;
  };

  // Errors: when either side failed, the rows it sent before failing are not compared.
  if (primary_.sqlstate || shadow_.sqlstate) {
    if (primary_.sqlstate && shadow_.sqlstate) {
      if (*primary_.sqlstate != *shadow_.sqlstate) {
        add(diff_reason::both_errors_differ,
            "primary " + *primary_.sqlstate + ", shadow " + *shadow_.sqlstate);
      }
    } else {
      add(diff_reason::error_vs_success, primary_.sqlstate
                                             ? "primary failed with " + *primary_.sqlstate
                                             : "shadow failed with " + *shadow_.sqlstate);
    }
    return out;
  }

  // Columns, ignored ones left out.
  const auto describe = [](const std::optional<std::vector<column>>& cols) {
    if (!cols) return std::string{"no RowDescription"};
    std::string s;
    for (const auto& c : *cols) {
      if (c.ignored) continue;
      if (!s.empty()) s += ", ";
      s += c.name + ":" + std::to_string(c.type_oid) + (c.format == 0 ? "" : "/binary");
    }
    return "(" + s + ")";
  };
  const auto same_columns = [](const std::optional<std::vector<column>>& a,
                               const std::optional<std::vector<column>>& b) {
    if (a.has_value() != b.has_value()) return false;
    if (!a) return true;
    std::vector<const column*> x, y;
    for (const auto& c : *a)
      if (!c.ignored) x.push_back(&c);
    for (const auto& c : *b)
      if (!c.ignored) y.push_back(&c);
    return std::equal(x.begin(), x.end(), y.begin(), y.end(), [](const column* l, const column* r) {
      return l->name == r->name && same_type(l->type_oid, r->type_oid) && l->format == r->format;
    });
  };
  if (!same_columns(primary_.columns, shadow_.columns)) {
    add(diff_reason::columns_differ,
        "primary " + describe(primary_.columns) + ", shadow " + describe(shadow_.columns));
  }

  if (primary_.malformed || shadow_.malformed) {
    add(diff_reason::malformed_row, primary_.malformed ? "from primary" : "from shadow");
  }

  if (primary_.rows != shadow_.rows) {
    add(diff_reason::row_count,
        "primary " + std::to_string(primary_.rows) + ", shadow " + std::to_string(shadow_.rows));
  }

  const bool same_multiset = primary_.rows == shadow_.rows &&
                             primary_.hash_sum == shadow_.hash_sum &&
                             primary_.hash_xor == shadow_.hash_xor;
  const bool same_sequence =
      order_ == order_check::none || primary_.sequence_hash == shadow_.sequence_hash;
  if (!same_multiset || !same_sequence) {
    if (order_ != order_check::none) {
      // Equal windows of equal length locate nothing: by keys, rows may differ elsewhere.
      const std::size_t common = std::min(primary_.window.size(), shadow_.window.size());
      const auto mismatch = std::mismatch(
          primary_.window.begin(), primary_.window.begin() + static_cast<std::ptrdiff_t>(common),
          shadow_.window.begin());
      const auto pos = static_cast<std::size_t>(mismatch.first - primary_.window.begin());
      const bool lengths_differ = primary_.window.size() != shadow_.window.size();
      if (pos < common || (lengths_differ && common < options_.max_tracked_rows))
        out.first_differing_row = pos;
    }
    std::string line = same_multiset ? "same rows in a different order" : "row contents differ";
    if (out.first_differing_row)
      line += ", first at row " + std::to_string(*out.first_differing_row);
    if (tracked_overflowed_) {
      out.sample_available = false;
      line += "; sample unavailable (more than " + std::to_string(options_.max_tracked_rows) +
              " unmatched rows at once)";
    } else {
      for (const auto& [hash, row] : tracked_) {
        auto& dest = row.delta > 0 ? out.primary_only_rows : out.shadow_only_rows;
        const std::int64_t times = row.delta > 0 ? row.delta : -row.delta;
        dest.push_back(times == 1 ? row.text : row.text + " x" + std::to_string(times));
      }
      for (auto* v : {&out.primary_only_rows, &out.shadow_only_rows}) {
        std::sort(v->begin(), v->end());
        if (v->size() > options_.sample_rows) v->resize(options_.sample_rows);
      }
    }
    add(diff_reason::rows, line);
  }

  const std::string primary_tag = primary_.tag.value_or("");
  const std::string shadow_tag = shadow_.tag.value_or("");
  if (primary_tag != shadow_tag) {
    add(diff_reason::tag, "primary '" + primary_tag + "', shadow '" + shadow_tag + "'");
  }
  return out;
}

std::vector<column_digest> result_diff::column_digests(result_side s) const {
  const side_state& st = state(s);
  std::vector<column_digest> out;
  if (!st.columns) return out;
  for (std::size_t i = 0; i < st.columns->size(); ++i) {
    const column& c = (*st.columns)[i];
    if (!c.ignored) out.push_back({c.name, st.digests[i].sum, st.digests[i].mix});
  }
  return out;
}

std::size_t result_diff::memory_bytes() const noexcept {
  constexpr std::size_t node_bytes =
      sizeof(std::pair<const std::uint64_t, tracked_row>) + 2 * sizeof(void*);
  std::size_t n = sizeof(*this);
  n += tracked_.bucket_count() * sizeof(void*) + tracked_.size() * node_bytes + tracked_text_bytes_;
  n += (key_columns_.capacity() + value_hashes_.capacity()) * sizeof(std::uint64_t);
  for (const side_state* s : {&primary_, &shadow_}) {
    n += s->window.capacity() * sizeof(std::uint64_t) + s->digests.capacity() * sizeof(digest_value);
    if (s->columns) {
      n += s->columns->capacity() * sizeof(column);
      for (const auto& c : *s->columns) n += c.name.capacity();
    }
  }
  return n;
}

}  // namespace dw::compare
