// Backfill's chunk bookkeeping (migrate/chunk_tracker): with chunks finishing out of order,
// the checkpoint only ever claims the complete prefix, and the table is done only when the
// chunk reaching its end and everything before it are in.
#include <gtest/gtest.h>

#include "migrate/chunk_tracker.hpp"

namespace dw::migrate {
namespace {

using compare::key_value;

TEST(chunk_tracker, the_prefix_waits_for_an_earlier_chunk_still_copying) {
  chunk_tracker t{{}};
  const auto a = t.open(key_value{"10"});
  const auto b = t.open(key_value{"20"});
  const auto c = t.open(std::nullopt);
  EXPECT_EQ(t.in_flight(), 3u);

  EXPECT_FALSE(t.close(b, 10, 100)) << "chunk a is still copying";
  EXPECT_FALSE(t.progress().after);
  EXPECT_EQ(t.progress().rows, 0u);

  EXPECT_TRUE(t.close(a, 10, 100));
  EXPECT_EQ(t.progress().after, key_value{"20"}) << "a and b are both in";
  EXPECT_EQ(t.progress().rows, 20u);
  EXPECT_EQ(t.progress().bytes, 200u);
  EXPECT_FALSE(t.progress().done);

  EXPECT_TRUE(t.close(c, 3, 30));
  EXPECT_TRUE(t.progress().done);
  EXPECT_EQ(t.progress().after, key_value{"20"}) << "the last chunk has no end key";
  EXPECT_EQ(t.progress().rows, 23u);
  EXPECT_EQ(t.in_flight(), 0u);
}

TEST(chunk_tracker, resumes_from_a_checkpoint_and_ignores_unknown_chunks) {
  chunk_tracker t{{key_value{"a", "1"}, 500, 5000, false}};
  EXPECT_FALSE(t.close(7, 1, 1)) << "never opened";
  const auto n = t.open(key_value{"b", "2"});
  EXPECT_TRUE(t.close(n, 100, 1000));
  EXPECT_EQ(t.progress(), (table_progress{key_value{"b", "2"}, 600, 6000, false}));
  EXPECT_FALSE(t.close(n, 100, 1000)) << "closing twice counts once";
  EXPECT_EQ(t.progress().rows, 600u);
}

TEST(chunk_tracker, a_chunk_that_never_closes_holds_the_prefix_for_good) {
  chunk_tracker t{{}};
  (void)t.open(key_value{"1"});  // failed: never closed
  const auto b = t.open(std::nullopt);
  EXPECT_FALSE(t.close(b, 5, 5));
  EXPECT_FALSE(t.progress().done);
  EXPECT_EQ(t.in_flight(), 1u);
}

}  // namespace
}  // namespace dw::migrate
