// result_diff: order-insensitive and ordered comparison, column types, NULL vs '', tolerances,
// errors and tags, and a 1,000,000-row result in bounded memory.
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
  result_diff_options opts;
  opts.ordered = true;
  result_diff d{opts};
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
  // Past the ordered window: the position is not known exactly.
  EXPECT_FALSE(r.first_differing_row.has_value());
}

}  // namespace
}  // namespace dw::compare::test
