// The plan cache's key for texts that differ only in numbers: numbers masked, everything
// quoted left alone, and anything the scan cannot take apart for certain refused.
#include "shadow/masked_numbers.hpp"

#include <gtest/gtest.h>

namespace dw::shadow {
namespace {

TEST(masked_numbers, numbers_become_one_mark_whatever_their_form) {
  EXPECT_EQ(masked_numbers("UPDATE pgbench_accounts SET abalance = abalance + -4211 WHERE aid = 96075;"),
            "UPDATE pgbench_accounts SET abalance = abalance + -? WHERE aid = ?;");
  EXPECT_EQ(masked_numbers("SELECT 1.5, .25, 3e10, 4.5E-3, 7."), "SELECT ?, .?, ?, ?, ?");
  EXPECT_EQ(masked_numbers("INSERT INTO t VALUES (1,2)"), masked_numbers("INSERT INTO t VALUES (10,20)"));
}

TEST(masked_numbers, names_and_quoted_text_keep_their_digits) {
  EXPECT_EQ(masked_numbers("SELECT t1.c2::int4 FROM s3.t1 WHERE c2 = 5"),
            "SELECT t1.c2::int4 FROM s3.t1 WHERE c2 = ?");
  EXPECT_EQ(masked_numbers("SELECT nextval('seq1'), \"col 2\" FROM t WHERE a = 'it''s 7' AND b = 8"),
            "SELECT nextval('seq1'), \"col 2\" FROM t WHERE a = 'it''s 7' AND b = ?");
  // Two sequences must never share a key: their serial-insert order differs.
  EXPECT_NE(masked_numbers("SELECT nextval('s1'), 1"), masked_numbers("SELECT nextval('s2'), 1"));
}

TEST(masked_numbers, what_the_scan_cannot_take_apart_is_refused) {
  for (const char* sql : {
           "SELECT 1 -- note 2",        // comment
           "SELECT /* 1 */ 2",          // comment
           "SELECT $1 + 2",             // parameter
           "DO $$ BEGIN PERFORM 1; END $$",  // dollar quoting
           "SELECT E'a\\'b', 1",        // escape string
           "SELECT 'a\\', 1",           // backslash in a standard string
           "SELECT B'101', 1",          // prefixed string
           "SELECT X'1F', 1",
           "SELECT 'open, 1",           // unterminated quote
           "SELECT \"open, 1",
           "SELECT 123abc",             // a number running into a name (refused by PG 15)
       }) {
    EXPECT_EQ(masked_numbers(sql), std::nullopt) << sql;
  }
}

TEST(masked_numbers, a_text_without_numbers_has_no_masked_form) {
  EXPECT_EQ(masked_numbers("BEGIN"), std::nullopt);
  EXPECT_EQ(masked_numbers("SELECT a FROM t1"), std::nullopt);
  EXPECT_EQ(masked_numbers(""), std::nullopt);
}

}  // namespace
}  // namespace dw::shadow
