// split_for_order(): where ordered mode cuts a multi-statement Query text so that its COMMIT
// is held and its serialised writes are ordered as if the client had sent each piece alone,
// and where it must not cut because the pieces would no longer mean what the whole text does.
#include "shadow/query_split.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dw::shadow {
namespace {

std::vector<query_piece> split(std::string_view sql, char status) {
  return split_for_order(sql, plan_statement(sql, {}), status);
}

// The statements of each piece, without the blanks before them.
std::vector<std::string> statements_of(const std::vector<query_piece>& pieces) {
  std::vector<std::string> out;
  for (const auto& p : pieces) {
    const auto first = p.text.find_first_not_of(' ');
    out.push_back(first == std::string::npos ? "" : p.text.substr(first));
  }
  return out;
}

TEST(query_split, a_commit_after_writes_is_cut_out_and_held) {
  const std::string sql = "BEGIN; UPDATE t SET a = 1; COMMIT; SELECT x";
  const auto pieces = split(sql, 'I');
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(statements_of(pieces),
            (std::vector<std::string>{"BEGIN; UPDATE t SET a = 1;", "COMMIT;", "SELECT x"}));
  EXPECT_EQ(pieces[0].status_after, 'T');
  EXPECT_EQ(pieces[1].status_after, 'I');
  // Blanks keep every statement where it was in the whole text.
  for (const auto& p : pieces) {
    const auto first = p.text.find_first_not_of(' ');
    EXPECT_EQ(sql.compare(first, p.text.size() - first, p.text, first), 0) << p.text;
  }
  EXPECT_EQ(pieces[2].text.size(), sql.size());
}

TEST(query_split, blanks_stand_for_characters_not_bytes) {
  const std::string sql = "BEGIN; UPDATE t SET a = '\xc3\xa9t\xc3\xa9'; END";
  const auto pieces = split(sql, 'I');
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[1].text, std::string(pieces[0].text.size() - 2, ' ') + " END");
}

TEST(query_split, serialised_writes_run_as_pieces_of_their_own) {
  // The write order of `ser` must not be held while the UPDATEs wait for row locks.
  const std::string sql =
      "BEGIN; UPDATE hot SET v = 1; INSERT INTO ser (a) VALUES (1); INSERT INTO ser (a) VALUES (2);"
      " UPDATE hot SET v = 2; COMMIT";
  EXPECT_EQ(statements_of(split(sql, 'I')),
            (std::vector<std::string>{"BEGIN; UPDATE hot SET v = 1;",
                                      "INSERT INTO ser (a) VALUES (1); INSERT INTO ser (a) VALUES (2);",
                                      "UPDATE hot SET v = 2;", "COMMIT"}));
}

TEST(query_split, a_transaction_opened_earlier_counts_as_written) {
  // Earlier Query texts of the transaction may have written: its COMMIT is held.
  EXPECT_EQ(statements_of(split("SELECT 1; COMMIT", 'T')),
            (std::vector<std::string>{"SELECT 1;", "COMMIT"}));
  EXPECT_TRUE(split("SELECT 1; COMMIT", 'I').empty());  // an implicit transaction: whole
}

TEST(query_split, texts_that_gain_nothing_or_would_change_meaning_stay_whole) {
  for (std::string_view sql : {
           "BEGIN; SELECT 1; COMMIT",            // nothing to hold
           "UPDATE t SET a = 1",                 // one statement
           "UPDATE t SET a = 1; COMMIT",         // an implicit transaction: cannot be cut
           "INSERT INTO ser (a) VALUES (1); UPDATE t SET a = 1",
       })
    EXPECT_TRUE(split(sql, 'I').empty()) << sql;
  EXPECT_TRUE(split("UPDATE t SET a = 1; COMMIT", 'E').empty());  // nothing runs anyway
  // After the ROLLBACK the second UPDATE is an implicit transaction, whatever came before.
  EXPECT_TRUE(split("UPDATE t SET a = 1; ROLLBACK; UPDATE t SET a = 2; COMMIT", 'T').empty());
}

TEST(query_split, after_a_rollback_a_new_begin_opens_a_block_again) {
  EXPECT_EQ(statements_of(split(
                "BEGIN; UPDATE t SET a = 1; ROLLBACK; BEGIN; UPDATE t SET a = 2; COMMIT", 'I')),
            (std::vector<std::string>{
                "BEGIN; UPDATE t SET a = 1; ROLLBACK; BEGIN; UPDATE t SET a = 2;", "COMMIT"}));
}

TEST(query_split, very_long_texts_run_whole) {
  std::string sql = "BEGIN; UPDATE t SET a = 1; COMMIT; SELECT '";
  sql += std::string(max_split_text, 'x') + "'";
  EXPECT_TRUE(split(sql, 'I').empty());
}

}  // namespace
}  // namespace dw::shadow
