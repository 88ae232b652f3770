// Drill-down inside a differing chunk (compare/row_diff): each differing key is named once
// with what differs, and keyless tables compare as multisets of rows.
#include <gtest/gtest.h>

#include "compare/row_diff.hpp"
#include "compare/verify_checks.hpp"

namespace dw::compare {
namespace {

TEST(diff_keyed_rows, names_rows_missing_extra_and_different_by_key) {
  const std::vector<keyed_hash> old_rows{{{"1"}, "h1"}, {{"2"}, "h2"}, {{"3"}, "h3"}};
  const std::vector<keyed_hash> new_rows{{{"1"}, "h1"}, {{"3"}, "changed"}, {{"4"}, "h4"}};
  const auto d = diff_keyed_rows(old_rows, new_rows);
  const std::vector<row_difference> want{{row_difference_kind::missing_on_new, {"2"}},
                                         {row_difference_kind::different, {"3"}},
                                         {row_difference_kind::extra_on_new, {"4"}}};
  EXPECT_EQ(d, want);
  EXPECT_TRUE(diff_keyed_rows(old_rows, old_rows).empty());
}

TEST(diff_keyed_rows, composite_keys_do_not_collide_when_flattened) {
  // ("ab", "c") and ("a", "bc") would both read "abc" if the parts were simply joined.
  const auto d = diff_keyed_rows({{{"ab", "c"}, "h"}}, {{{"a", "bc"}, "h"}});
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].kind, row_difference_kind::missing_on_new);
  EXPECT_EQ(d[1].kind, row_difference_kind::extra_on_new);
}

TEST(flat_key, length_prefixes_each_part) {
  EXPECT_EQ(flat_key({"ab", "c"}), "2:ab1:c");
  EXPECT_NE(flat_key({"ab", "c"}), flat_key({"a", "bc"}));
  EXPECT_EQ(flat_key({""}), "0:");
}

TEST(diff_row_multisets, counts_surplus_copies_on_each_side) {
  const std::vector<counted_row> old_rows{{"a", 3, "(1,x)"}, {"b", 1, "(2,y)"}};
  const std::vector<counted_row> new_rows{{"a", 1, "(1,x)"}, {"c", 2, "(3,z)"}, {"b", 1, "(2,y)"}};
  const std::vector<multiset_difference> want{{"(1,x)", 2, 0}, {"(3,z)", 0, 2}};
  EXPECT_EQ(diff_row_multisets(old_rows, new_rows), want);
}

TEST(sequence_lags, follows_the_sequences_direction) {
  EXPECT_TRUE(sequence_lags(1, 101, 1));
  EXPECT_FALSE(sequence_lags(1, 101, 101));
  EXPECT_FALSE(sequence_lags(1, 101, 500));
  EXPECT_TRUE(sequence_lags(-1, -101, -1));
  EXPECT_FALSE(sequence_lags(-1, -101, -200));
}

}  // namespace
}  // namespace dw::compare
