// libFuzzer target for the sampled-read differ as the proxy feeds it (shadow::read_sample::
// on_message: RowDescription decoding, DataRow parsing, tags, errors) and for the ORDER BY
// analysis of a read (compare::analyze_read). Backends are trusted less than they seem: a
// proxy in front of a broken or hostile server must not crash on its answers.
// Input: byte 0 picks the options (ordered, tolerances, mirrored), the rest is a sequence of
// messages [type][len hi][len lo][body...]. Oracles: nothing crashes; when every message goes
// to both sides alike the verdict is a match (unless a row is malformed); examples stay within sample_rows; the statement
// text analysed is the input itself, and every key and table it names is non-empty.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "compare/read_shape.hpp"
#include "shadow/read_sample.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr std::size_t max_sql = 8u << 10;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::span<const std::byte> rest{reinterpret_cast<const std::byte*>(data + 1), size - 1};

  if (rest.size() <= max_sql) {
    const std::string_view sql{reinterpret_cast<const char*>(rest.data()), rest.size()};
    const auto shape = dw::compare::analyze_read(sql);
    for (const auto& k : shape.order_keys) check(!k.column.empty() || k.position > 0);
    for (const auto& t : shape.tables) check(!t.empty());
  }

  dw::compare::result_diff_options o;
  o.ordered = (mode & 1) != 0;
  if ((mode & 2) != 0) o.float_abs_tolerance = 0.5;
  if ((mode & 4) != 0) o.timestamp_tolerance_us = 1000;
  o.sample_rows = 2;
  const bool mirrored = (mode & 8) != 0;
  dw::shadow::read_sample sample{o};
  using dw::compare::result_side;
  std::size_t at = 0;
  bool flip = false;
  while (at + 3 <= rest.size()) {
    const char type = static_cast<char>(rest[at]);
    const std::size_t len = (static_cast<std::size_t>(rest[at + 1]) << 8) |
                            static_cast<std::size_t>(rest[at + 2]);
    at += 3;
    const std::size_t n = std::min(len, rest.size() - at);
    const auto body = rest.subspan(at, n);
    at += n;
    if (mirrored) {
      sample.on_message(result_side::primary, type, body);
      sample.on_message(result_side::shadow, type, body);
    } else {
      sample.on_message(flip ? result_side::shadow : result_side::primary, type, body);
      flip = !flip;
    }
  }
  const auto summary = sample.diff.finish();
  // A malformed DataRow is reported as such (there is nothing to compare), even when both
  // sides sent the same bytes; anything else sent alike must match.
  if (mirrored && !sample.unusable && !summary.has(dw::compare::diff_reason::malformed_row))
    check(summary.verdict == dw::compare::result_verdict::match);
  check(summary.primary_only_rows.size() <= o.sample_rows);
  check(summary.shadow_only_rows.size() <= o.sample_rows);
  (void)sample.diff.column_digests(result_side::primary);
  (void)dw::shadow::mismatching_columns(sample, summary);
  return 0;
}
