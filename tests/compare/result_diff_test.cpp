// result_diff: order-insensitive and ordered comparison (by ORDER BY keys, ties allowed), column
// types, NULL vs '', tolerances, errors and tags, per-column digests for the noise detector, and
// a 1,000,000-row result in bounded memory.
#include "compare/result_diff.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dw::compare::test {
namespace {

constexpr std::uint32_t int4 = 23;
constexpr std::uint32_t int8 = 20;
constexpr std::uint32_t text_oid = 25;
constexpr std::uint32_t float8 = 701;
constexpr std::uint32_t timestamptz = 1184;

protocol::row_description description(
    std::initializer_list<std::pair<std::string_view, std::uint32_t>> cols) {
  protocol::row_description d;
  for (const auto& [name, oid] : cols) d.fields.push_back({name, 0, 0, oid, -1, -1, 0});
  return d;
}

/// A DataRow body: Int16 count, then Int32 length (-1 = NULL) and bytes per column.
std::vector<std::byte> data_row(const std::vector<std::optional<std::string>>& values) {
  std::vector<std::byte> out;
  const auto be = [&out](std::uint32_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i)
      out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
  };
  be(static_cast<std::uint32_t>(values.size()), 2);
  for (const auto& v : values) {
    if (!v) {
      be(0xffffffffU, 4);
      continue;
    }
    be(static_cast<std::uint32_t>(v->size()), 4);
    for (const char c : *v) out.push_back(static_cast<std::byte>(c));
  }
  return out;
}

using rows_t = std::vector<std::vector<std::optional<std::string>>>;

void feed(result_diff& d, result_side s, const protocol::row_description& desc, const rows_t& rows,
          std::string_view tag) {
  d.on_row_description(s, desc);
  for (const auto& r : rows) d.on_data_row(s, data_row(r));
  d.on_command_complete(s, tag);
}

result_diff_summary compare(
    const rows_t& primary, const rows_t& shadow, result_diff_options options = {},
    const protocol::row_description& desc = description({{"id", int4}, {"name", text_oid}})) {
  result_diff d{std::move(options)};
  feed(d, result_side::primary, desc, primary, "SELECT " + std::to_string(primary.size()));
  feed(d, result_side::shadow, desc, shadow, "SELECT " + std::to_string(shadow.size()));
  return d.finish();
}

const rows_t abc = {{"1", "a"}, {"2", "b"}, {"3", "c"}};
const rows_t cab = {{"3", "c"}, {"1", "a"}, {"2", "b"}};

TEST(result_diff, equal_sets_in_different_order_match) {
  const auto r = compare(abc, cab);
  EXPECT_EQ(r.verdict, result_verdict::match) << r.detail;
  EXPECT_TRUE(r.reasons.empty());
  EXPECT_EQ(r.primary_rows, 3U);
  EXPECT_EQ(r.shadow_rows, 3U);
}

TEST(result_diff, order_by_respected) {
  result_diff_options ordered;
  ordered.ordered = true;
  const auto r = compare(abc, cab, ordered);
  EXPECT_EQ(r.verdict, result_verdict::mismatch);
  EXPECT_TRUE(r.has(diff_reason::rows));
  EXPECT_FALSE(r.has(diff_reason::row_count));
  ASSERT_TRUE(r.first_differing_row.has_value());
  EXPECT_EQ(*r.first_differing_row, 0U);
  EXPECT_NE(r.detail.find("different order"), std::string::npos) << r.detail;

  EXPECT_EQ(compare(abc, abc, ordered).verdict, result_verdict::match);
  const rows_t acb = {{"1", "a"}, {"3", "c"}, {"2", "b"}};
  const auto later = compare(abc, acb, ordered);
  ASSERT_TRUE(later.first_differing_row.has_value());
  EXPECT_EQ(*later.first_differing_row, 1U);
  EXPECT_EQ(compare(abc, cab, {}).verdict, result_verdict::match);
}

result_diff_options ordered_by(std::vector<order_key> keys) {
  result_diff_options o;
  o.ordered = true;
  o.order_keys = std::move(keys);
  return o;
}

// ORDER BY id: rows with the same id may come back in either order.
const rows_t tied = {{"1", "a"}, {"1", "b"}, {"2", "c"}};
const rows_t tied_swapped = {{"1", "b"}, {"1", "a"}, {"2", "c"}};

TEST(result_diff, ties_on_order_by_keys_are_not_reported) {
  EXPECT_EQ(compare(tied, tied_swapped, ordered_by({{"id", 0}})).verdict, result_verdict::match);
  EXPECT_EQ(compare(tied, tied_swapped, ordered_by({{"", 1}})).verdict, result_verdict::match);
  // Without keys the whole row orders, and the swap is a difference.
  EXPECT_EQ(compare(tied, tied_swapped, ordered_by({})).verdict, result_verdict::mismatch);
  // ORDER BY name, id: no tie, so the swap is a difference.
  const auto r = compare(tied, tied_swapped, ordered_by({{"name", 0}, {"id", 0}}));
  EXPECT_EQ(r.reasons, std::vector<diff_reason>{diff_reason::rows});
  EXPECT_EQ(r.first_differing_row, std::optional<std::uint64_t>{0});
}

TEST(result_diff, order_by_keys_still_see_order_and_content) {
  const rows_t swapped = {{"2", "c"}, {"1", "a"}, {"1", "b"}};
  const auto order = compare(tied, swapped, ordered_by({{"id", 0}}));
  EXPECT_EQ(order.reasons, std::vector<diff_reason>{diff_reason::rows});
  EXPECT_NE(order.detail.find("different order"), std::string::npos) << order.detail;
  EXPECT_EQ(order.first_differing_row, std::optional<std::uint64_t>{0});

  // A non-key column changed: the keys are in order, the contents are not equal.
  const rows_t changed = {{"1", "a"}, {"1", "B"}, {"2", "c"}};
  const auto content = compare(tied, changed, ordered_by({{"id", 0}}));
  EXPECT_EQ(content.reasons, std::vector<diff_reason>{diff_reason::rows});
  EXPECT_NE(content.detail.find("row contents differ"), std::string::npos) << content.detail;
  EXPECT_FALSE(content.first_differing_row.has_value());
  EXPECT_EQ(content.shadow_only_rows, std::vector<std::string>{"('1', 'B')"});

  // A row missing at the end: located after the common part.
  const rows_t shorter = {{"1", "a"}, {"1", "b"}};
  const auto missing = compare(tied, shorter, ordered_by({{"id", 0}}));
  EXPECT_EQ(missing.first_differing_row, std::optional<std::uint64_t>{2});
}

TEST(result_diff, unresolvable_order_keys_fall_back_to_whole_rows) {
  for (const auto& keys : {std::vector<order_key>{{"nope", 0}}, std::vector<order_key>{{"", 3}},
                           std::vector<order_key>{{"id", 0}, {"", 9}}}) {
    EXPECT_EQ(compare(tied, tied_swapped, ordered_by(keys)).verdict, result_verdict::mismatch);
  }
  // Two output columns called id: which one orders is unknown.
  const auto twice = description({{"id", int4}, {"id", text_oid}});
  EXPECT_EQ(compare(tied, tied_swapped, ordered_by({{"id", 0}}), twice).verdict,
            result_verdict::mismatch);
  // Rows before any RowDescription (no Describe): whole rows as well.
  result_diff d{ordered_by({{"", 1}})};
  for (const auto& r : tied) d.on_data_row(result_side::primary, data_row(r));
  for (const auto& r : tied_swapped) d.on_data_row(result_side::shadow, data_row(r));
  EXPECT_EQ(d.finish().verdict, result_verdict::mismatch);
}

TEST(result_diff, ignored_order_keys_are_dropped) {
  auto opts = ordered_by({{"name", 0}, {"id", 0}});
  opts.ignored_columns = {"name"};
  EXPECT_EQ(compare(tied, tied_swapped, opts).verdict, result_verdict::match);
  // Ordered only by an ignored column: the order is not checked at all.
  auto only = ordered_by({{"name", 0}});
  only.ignored_columns = {"name"};
  const rows_t reversed = {{"2", "c"}, {"1", "b"}, {"1", "a"}};
  EXPECT_EQ(compare(tied, reversed, only).verdict, result_verdict::match);
}

TEST(result_diff, column_digests_name_the_differing_columns) {
  const auto desc = description({{"id", int4}, {"name", text_oid}, {"at", timestamptz}});
  const rows_t primary = {{"1", "a", "2026-01-01 00:00:00+00"}, {"2", "b", std::nullopt}};
  const auto run = [&](const rows_t& p, const rows_t& s, result_diff_options o = {}) {
    result_diff d{std::move(o)};
    feed(d, result_side::primary, desc, p, "SELECT 2");
    feed(d, result_side::shadow, desc, s, "SELECT 2");
    return differing_columns(d.column_digests(result_side::primary),
                             d.column_digests(result_side::shadow));
  };
  // Order does not matter; a changed value names its column; NULL vs '' too.
  EXPECT_TRUE(run(primary, {primary[1], primary[0]}).empty());
  EXPECT_EQ(run(primary, {{"1", "a", "2026-01-01 00:00:00+00"}, {"2", "B", std::nullopt}}),
            std::vector<std::string>{"name"});
  EXPECT_EQ(run(primary, {{"1", "a", "2026-01-01 00:00:01+00"}, {"2", "b", ""}}),
            std::vector<std::string>{"at"});
  // Within the tolerance: equal digests.
  result_diff_options tol;
  tol.timestamp_tolerance_us = 1'000'000;
  EXPECT_TRUE(run(primary, {{"1", "a", "2026-01-01 00:00:00.5+00"}, primary[1]}, tol).empty());
  // Ignored columns have no digest.
  result_diff_options ignore;
  ignore.ignored_columns = {"name"};
  EXPECT_TRUE(run(primary, {{"1", "x", "2026-01-01 00:00:00+00"}, primary[1]}, ignore).empty());
  result_diff d{ignore};
  d.on_row_description(result_side::primary, desc);
  const auto digests = d.column_digests(result_side::primary);
  ASSERT_EQ(digests.size(), 2U);
  EXPECT_EQ(digests[0].name, "id");
  EXPECT_EQ(digests[1].name, "at");
  EXPECT_TRUE(d.column_digests(result_side::shadow).empty());  // no RowDescription yet
}

TEST(result_diff, noisy_columns_from_a_second_primary_run) {
  // now() in column "at": the first run, the shadow and a re-run on the primary all differ
  // there, and only there; the shadow also differs in "name", which the re-run does not.
  const auto desc = description({{"id", int4}, {"name", text_oid}, {"at", timestamptz}});
  result_diff first{{}};
  feed(first, result_side::primary, desc, {{"1", "a", "2026-01-01 00:00:00+00"}}, "SELECT 1");
  feed(first, result_side::shadow, desc, {{"1", "A", "2026-01-01 00:00:02+00"}}, "SELECT 1");
  result_diff rerun{{}};
  feed(rerun, result_side::primary, desc, {{"1", "a", "2026-01-01 00:00:01+00"}}, "SELECT 1");
  const auto mismatching = differing_columns(first.column_digests(result_side::primary),
                                             first.column_digests(result_side::shadow));
  const auto noisy = differing_columns(first.column_digests(result_side::primary),
                                       rerun.column_digests(result_side::primary));
  EXPECT_EQ(mismatching, (std::vector<std::string>{"name", "at"}));
  EXPECT_EQ(noisy, std::vector<std::string>{"at"});
}

TEST(result_diff, differing_columns_pairs_by_name) {
  const std::vector<column_digest> a = {{"id", 1, 1}, {"x", 2, 2}, {"x", 3, 3}, {"gone", 4, 4}};
  const std::vector<column_digest> b = {{"x", 2, 2}, {"id", 1, 1}, {"x", 3, 9}, {"new", 5, 5}};
  EXPECT_EQ(differing_columns(a, b), (std::vector<std::string>{"x", "gone", "new"}));
  EXPECT_TRUE(differing_columns(a, a).empty());
  EXPECT_EQ(differing_columns({}, {{"only", 0, 0}}), std::vector<std::string>{"only"});
}

TEST(result_diff, changed_row_is_shown_per_side) {
  const rows_t changed = {{"1", "a"}, {"2", "B"}, {"3", "c"}};
  const auto r = compare(abc, changed);
  EXPECT_EQ(r.verdict, result_verdict::mismatch);
  EXPECT_TRUE(r.has(diff_reason::rows));
  EXPECT_FALSE(r.has(diff_reason::row_count));
  EXPECT_TRUE(r.sample_available);
  EXPECT_EQ(r.primary_only_rows, std::vector<std::string>{"('2', 'b')"});
  EXPECT_EQ(r.shadow_only_rows, std::vector<std::string>{"('2', 'B')"});
}

TEST(result_diff, int4_vs_int8_columns_differ) {
  result_diff d{{}};
  const rows_t rows = {{"1"}, {"2"}};
  feed(d, result_side::primary, description({{"id", int4}}), rows, "SELECT 2");
  feed(d, result_side::shadow, description({{"id", int8}}), rows, "SELECT 2");
  const auto r = d.finish();
  EXPECT_EQ(r.verdict, result_verdict::mismatch);
  EXPECT_EQ(r.reasons, std::vector<diff_reason>{diff_reason::columns_differ});
  EXPECT_NE(r.detail.find("id:23"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("id:20"), std::string::npos) << r.detail;
}

TEST(result_diff, user_type_oids_are_per_server_and_not_compared) {
  result_diff d{{}};
  const rows_t rows = {{"red"}, {"green"}};
  feed(d, result_side::primary, description({{"col", 16816}}), rows, "SELECT 2");
  feed(d, result_side::shadow, description({{"col", 16808}}), rows, "SELECT 2");
  EXPECT_EQ(d.finish().verdict, result_verdict::match);

  // A built-in type against a user type still differs.
  result_diff b{{}};
  feed(b, result_side::primary, description({{"col", 16816}}), rows, "SELECT 2");
  feed(b, result_side::shadow, description({{"col", 25}}), rows, "SELECT 2");
  EXPECT_TRUE(b.finish().has(diff_reason::columns_differ));
}

TEST(result_diff, column_name_and_format_differ) {
  result_diff d{{}};
  auto binary = description({{"id", int4}});
  binary.fields[0].format = 1;
  feed(d, result_side::primary, description({{"id", int4}}), {}, "SELECT 0");
  feed(d, result_side::shadow, binary, {}, "SELECT 0");
  EXPECT_TRUE(d.finish().has(diff_reason::columns_differ));

  result_diff n{{}};
  feed(n, result_side::primary, description({{"id", int4}}), {}, "SELECT 0");
  feed(n, result_side::shadow, description({{"ident", int4}}), {}, "SELECT 0");
  EXPECT_TRUE(n.finish().has(diff_reason::columns_differ));
}

TEST(result_diff, null_differs_from_empty_string) {
  const auto r = compare({{"1", std::nullopt}}, {{"1", ""}});
  EXPECT_EQ(r.verdict, result_verdict::mismatch);
  EXPECT_TRUE(r.has(diff_reason::rows));
  EXPECT_EQ(r.primary_only_rows, std::vector<std::string>{"('1', NULL)"});
  EXPECT_EQ(r.shadow_only_rows, std::vector<std::string>{"('1', '')"});
  EXPECT_EQ(compare({{"1", std::nullopt}}, {{"1", std::nullopt}}).verdict, result_verdict::match);
}

TEST(result_diff, float_tolerance) {
  const auto desc = description({{"x", float8}});
  const rows_t p = {{"1.0"}, {"2.5"}};
  const rows_t s = {{"1.0000001"}, {"2.5"}};
  EXPECT_EQ(compare(p, s, {}, desc).verdict, result_verdict::mismatch);

  result_diff_options rel;
  rel.float_rel_tolerance = 1e-6;
  EXPECT_EQ(compare(p, s, rel, desc).verdict, result_verdict::match);

  result_diff_options abs;
  abs.float_abs_tolerance = 1e-6;
  EXPECT_EQ(compare(p, s, abs, desc).verdict, result_verdict::match);
  // Beyond the tolerance: still a mismatch.
  EXPECT_EQ(compare(p, {{"1.001"}, {"2.5"}}, abs, desc).verdict, result_verdict::mismatch);
  // Tolerance applies only to float/numeric columns: text stays exact.
  EXPECT_EQ(compare({{"1", "1.0"}}, {{"1", "1.0000001"}}, abs).verdict, result_verdict::mismatch);
}

TEST(result_diff, timestamp_tolerance) {
  const auto desc = description({{"t", timestamptz}});
  const rows_t p = {{"2026-11-21 10:00:00.100000+00"}};
  const rows_t s = {{"2026-11-21 11:00:00.100200+01"}};  // the same instant + 200 µs
  EXPECT_EQ(compare(p, s, {}, desc).verdict, result_verdict::mismatch);
  result_diff_options tol;
  tol.timestamp_tolerance_us = 1000;
  EXPECT_EQ(compare(p, s, tol, desc).verdict, result_verdict::match);
  EXPECT_EQ(compare(p, {{"2026-11-21 10:00:01.1+00"}}, tol, desc).verdict,
            result_verdict::mismatch);
}

TEST(result_diff, ignored_columns) {
  result_diff_options opts;
  opts.ignored_columns = {"name"};
  result_diff d{opts};
  feed(d, result_side::primary, description({{"id", int4}, {"name", text_oid}}), {{"1", "a"}},
       "SELECT 1");
  feed(d, result_side::shadow, description({{"id", int4}, {"name", int8}}), {{"1", "7"}},
       "SELECT 1");
  const auto r = d.finish();
  EXPECT_EQ(r.verdict, result_verdict::match) << r.detail;
}

TEST(result_diff, error_vs_success) {
  result_diff d{{}};
  feed(d, result_side::primary, description({{"id", int4}}), {{"1"}}, "SELECT 1");
  d.on_error(result_side::shadow, "42P01");
  const auto r = d.finish();
  EXPECT_EQ(r.verdict, result_verdict::mismatch);
  EXPECT_EQ(r.reasons, std::vector<diff_reason>{diff_reason::error_vs_success});
  EXPECT_NE(r.detail.find("42P01"), std::string::npos);
}

TEST(result_diff, both_errors) {
  result_diff same{{}};
  same.on_error(result_side::primary, "22012");
  same.on_error(result_side::shadow, "22012");
  EXPECT_EQ(same.finish().verdict, result_verdict::match);

  result_diff differ{{}};
  differ.on_error(result_side::primary, "22012");
  differ.on_error(result_side::shadow, "42703");
  const auto r = differ.finish();
  EXPECT_EQ(r.reasons, std::vector<diff_reason>{diff_reason::both_errors_differ});
}

TEST(result_diff, tag_and_row_count_mismatch) {
  const auto r = compare(abc, {{"1", "a"}, {"2", "b"}});
  EXPECT_EQ(r.verdict, result_verdict::mismatch);
  EXPECT_TRUE(r.has(diff_reason::tag));
  EXPECT_TRUE(r.has(diff_reason::row_count));
  EXPECT_TRUE(r.has(diff_reason::rows));
  EXPECT_EQ(r.primary_only_rows, std::vector<std::string>{"('3', 'c')"});
  EXPECT_TRUE(r.shadow_only_rows.empty());
  EXPECT_NE(r.detail.find("'SELECT 3'"), std::string::npos) << r.detail;

  result_diff only_tag{{}};
  feed(only_tag, result_side::primary, description({{"id", int4}}), {}, "SELECT 3");
  feed(only_tag, result_side::shadow, description({{"id", int4}}), {}, "SELECT 2");
  EXPECT_EQ(only_tag.finish().reasons, std::vector<diff_reason>{diff_reason::tag});
}

TEST(result_diff, malformed_row) {
  result_diff d{{}};
  feed(d, result_side::primary, description({{"id", int4}}), {{"1"}}, "SELECT 1");
  d.on_row_description(result_side::shadow, description({{"id", int4}}));
  auto body = data_row({{"1"}});
  body.pop_back();
  d.on_data_row(result_side::shadow, body);
  d.on_data_row(result_side::shadow, data_row({{"1"}, {"2"}}));  // wrong column count
  d.on_command_complete(result_side::shadow, "SELECT 1");
  EXPECT_TRUE(d.finish().has(diff_reason::malformed_row));
}

// One million rows per side, generated on the fly, fed as the session would (all of the primary,
// then all of the shadow) and interleaved; the differ's containers must stay small throughout.
constexpr std::size_t million = 1'000'000;
constexpr std::size_t memory_cap = 2 * 1024 * 1024;

std::vector<std::optional<std::string>> generated_row(std::size_t i, bool changed) {
  return {std::to_string(i), changed ? "changed" : "row " + std::to_string(i * 7919 % million)};
}

TEST(result_diff, million_rows_in_bounded_memory_sequential) {
  const auto desc = description({{"id", int8}, {"name", text_oid}});
  for (const bool with_change : {false, true}) {
    result_diff d{{}};
    std::size_t peak = 0;
    for (const auto s : {result_side::primary, result_side::shadow}) {
      d.on_row_description(s, desc);
      for (std::size_t k = 0; k < million; ++k) {
        // The shadow returns the rows in reverse order, one of them changed.
        const std::size_t i = s == result_side::primary ? k : million - 1 - k;
        d.on_data_row(
            s, data_row(generated_row(i, with_change && s == result_side::shadow && i == 123'456)));
        if (k % 4096 == 0) peak = std::max(peak, d.memory_bytes());
      }
      d.on_command_complete(s, "SELECT 1000000");
    }
    peak = std::max(peak, d.memory_bytes());
    EXPECT_LT(peak, memory_cap);
    const auto r = d.finish();
    EXPECT_EQ(r.primary_rows, million);
    EXPECT_EQ(r.shadow_rows, million);
    if (with_change) {
      EXPECT_EQ(r.reasons, std::vector<diff_reason>{diff_reason::rows}) << r.detail;
      EXPECT_FALSE(r.sample_available);
    } else {
      EXPECT_EQ(r.verdict, result_verdict::match) << r.detail;
    }
  }
}

TEST(result_diff, million_rows_interleaved_keep_a_sample) {
  const auto desc = description({{"id", int8}, {"name", text_oid}});
  result_diff d{ordered_by({{"id", 0}})};
  d.on_row_description(result_side::primary, desc);
  d.on_row_description(result_side::shadow, desc);
  std::size_t peak = 0;
  for (std::size_t i = 0; i < million; ++i) {
    d.on_data_row(result_side::primary, data_row(generated_row(i, false)));
    d.on_data_row(result_side::shadow, data_row(generated_row(i, i == 777'777)));
    if (i % 4096 == 0) peak = std::max(peak, d.memory_bytes());
  }
  d.on_command_complete(result_side::primary, "SELECT 1000000");
  d.on_command_complete(result_side::shadow, "SELECT 1000000");
  EXPECT_LT(std::max(peak, d.memory_bytes()), memory_cap);
  const auto r = d.finish();
  EXPECT_EQ(r.reasons, std::vector<diff_reason>{diff_reason::rows}) << r.detail;
  ASSERT_TRUE(r.sample_available);
  EXPECT_EQ(r.shadow_only_rows, std::vector<std::string>{"('777777', 'changed')"});
  ASSERT_EQ(r.primary_only_rows.size(), 1U);
  EXPECT_EQ(r.primary_only_rows[0].rfind("('777777', 'row ", 0), 0U) << r.primary_only_rows[0];
  // The ORDER BY key (id) is in order throughout: no position to report.
  EXPECT_FALSE(r.first_differing_row.has_value());
  EXPECT_EQ(differing_columns(d.column_digests(result_side::primary),
                              d.column_digests(result_side::shadow)),
            std::vector<std::string>{"name"});
}

}  // namespace
}  // namespace dw::compare::test
