// reply_tracker: which client message each server answer belongs to, statement results (tags,
// row counts, order-insensitive row hashes), the first error and where it hit, skipping to
// Sync after an extended-protocol error, Flush-only batches, COPY FROM STDIN, FunctionCall.
#include "shadow/reply_tracker.hpp"

#include <gtest/gtest.h>

#include "tests/shadow/wire_test_support.hpp"

namespace dw::shadow {
namespace {

using namespace testing;

TEST(reply_tracker, simple_query_with_two_statements) {
  reply_tracker t;
  expect_all(t, query("INSERT INTO t VALUES (1); UPDATE t SET a = 2"));
  EXPECT_EQ(t.ready_expected(), 1u);
  EXPECT_FALSE(t.done());
  EXPECT_TRUE(feed(t, concat({command_complete("INSERT 0 1"), command_complete("UPDATE 2"),
                              ready('T')})));
  EXPECT_TRUE(t.done());
  EXPECT_EQ(t.status(), 'T');
  EXPECT_FALSE(t.error());
  ASSERT_EQ(t.results().size(), 2u);
  EXPECT_EQ(t.results()[0].message, 0u);
  EXPECT_EQ(t.results()[0].tag, "INSERT 0 1");
  EXPECT_EQ(t.results()[0].rows, 0u);
  EXPECT_EQ(t.results()[1].message, 0u);
  EXPECT_EQ(t.results()[1].tag, "UPDATE 2");
}

TEST(reply_tracker, simple_query_rows_belong_to_their_statement) {
  reply_tracker t;
  expect_all(t, query("SELECT a FROM t; DELETE FROM t RETURNING a"));
  EXPECT_TRUE(feed(t, concat({row_description({"a"}), data_row({"1"}), data_row({"2"}),
                              command_complete("SELECT 2"), row_description({"a"}),
                              data_row({"3"}), command_complete("DELETE 1"), ready('I')})));
  ASSERT_EQ(t.results().size(), 2u);
  EXPECT_EQ(t.results()[0].rows, 2u);
  EXPECT_EQ(t.results()[1].rows, 1u);
  EXPECT_NE(t.results()[0].row_hash, 0u);
  EXPECT_NE(t.results()[0].row_hash, t.results()[1].row_hash);
  EXPECT_TRUE(t.results()[0].rows_hashed);
}

TEST(reply_tracker, extended_batch_with_rows) {
  reply_tracker t;
  expect_all(t, concat({parse("", "SELECT a FROM t"), bind("", ""), describe_portal(), execute(),
                        sync()}));
  EXPECT_EQ(t.ready_expected(), 1u);
  ASSERT_EQ(t.messages().size(), 5u);
  EXPECT_EQ(t.messages()[3], 'E');
  EXPECT_FALSE(feed(t, concat({parse_complete(), bind_complete(), row_description({"a"}),
                               data_row({"1"}), data_row({std::nullopt}),
                               command_complete("SELECT 2")})));
  EXPECT_FALSE(t.done());
  EXPECT_TRUE(feed(t, ready('I')));
  EXPECT_TRUE(t.done());
  EXPECT_FALSE(t.error());
  ASSERT_EQ(t.results().size(), 1u);
  EXPECT_EQ(t.results()[0].message, 3u);  // the Execute
  EXPECT_EQ(t.results()[0].tag, "SELECT 2");
  EXPECT_EQ(t.results()[0].rows, 2u);
}

TEST(reply_tracker, describe_without_rows_and_notices_in_between) {
  reply_tracker t;
  expect_all(t, concat({parse("", "UPDATE t SET a = 1"), bind("", ""), describe_portal(),
                        execute(), sync()}));
  EXPECT_TRUE(feed(t, concat({parse_complete(), notice("careful"), bind_complete(), no_data(),
                              parameter_status("TimeZone", "UTC"), command_complete("UPDATE 4"),
                              ready('I')})));
  ASSERT_EQ(t.results().size(), 1u);
  EXPECT_EQ(t.results()[0].message, 3u);
  EXPECT_EQ(t.results()[0].tag, "UPDATE 4");
}

TEST(reply_tracker, error_at_bind_skips_to_sync) {
  reply_tracker t;
  expect_all(t, concat({parse("", "UPDATE t SET a = $1"), bind("", "", {"x"}), describe_portal(),
                        execute(), sync()}));
  EXPECT_TRUE(feed(t, concat({parse_complete(),
                              error("22P02", "invalid input syntax for type integer: \"x\""),
                              ready('I')})));
  EXPECT_TRUE(t.done());
  ASSERT_TRUE(t.error());
  EXPECT_EQ(t.error()->message, 1u);  // the Bind
  EXPECT_EQ(t.error()->sqlstate, "22P02");
  EXPECT_EQ(t.error()->text, "invalid input syntax for type integer: \"x\"");
  EXPECT_TRUE(t.results().empty());
  EXPECT_EQ(t.status(), 'I');
}

TEST(reply_tracker, error_at_execute_drops_the_rows_it_sent) {
  reply_tracker t;
  expect_all(t, concat({parse("", "SELECT 1/a FROM t"), bind("", ""), execute(), sync()}));
  EXPECT_TRUE(feed(t, concat({parse_complete(), bind_complete(), data_row({"1"}),
                              error("22012", "division by zero"), ready('E')})));
  ASSERT_TRUE(t.error());
  EXPECT_EQ(t.error()->message, 2u);
  EXPECT_TRUE(t.results().empty());
  EXPECT_EQ(t.status(), 'E');
}

TEST(reply_tracker, only_the_first_error_is_kept_and_the_next_sync_batch_runs) {
  reply_tracker t;
  expect_all(t, concat({parse("", "UPDATE t SET a = 1/0"), bind("", ""), execute(), sync(),
                        parse("", "UPDATE t SET a = 1"), bind("", ""), execute(), sync()}));
  EXPECT_EQ(t.ready_expected(), 2u);
  EXPECT_FALSE(feed(t, concat({parse_complete(), bind_complete(),
                               error("22012", "division by zero"), ready('I')})));
  EXPECT_FALSE(t.done());
  EXPECT_TRUE(feed(t, concat({parse_complete(), bind_complete(), command_complete("UPDATE 3"),
                              ready('I')})));
  EXPECT_TRUE(t.done());
  ASSERT_TRUE(t.error());
  EXPECT_EQ(t.error()->message, 2u);
  ASSERT_EQ(t.results().size(), 1u);
  EXPECT_EQ(t.results()[0].message, 6u);  // the second batch's Execute
  EXPECT_EQ(t.results()[0].tag, "UPDATE 3");
}

TEST(reply_tracker, simple_query_error_after_a_statement) {
  reply_tracker t;
  expect_all(t, query("UPDATE t SET a = 1; UPDATE t SET a = 1/0"));
  EXPECT_TRUE(feed(t, concat({command_complete("UPDATE 1"), error("22012", "division by zero"),
                              ready('E')})));
  ASSERT_TRUE(t.error());
  EXPECT_EQ(t.error()->message, 0u);
  ASSERT_EQ(t.results().size(), 1u);
  EXPECT_EQ(t.results()[0].tag, "UPDATE 1");
}

TEST(reply_tracker, flush_only_batch_expects_no_ready_for_query) {
  reply_tracker t;
  expect_all(t, concat({parse("", "SELECT a FROM t"), bind("", ""), describe_portal(), execute(),
                        flush()}));
  EXPECT_EQ(t.ready_expected(), 0u);
  EXPECT_FALSE(feed(t, concat({parse_complete(), bind_complete(), row_description({"a"}),
                               data_row({"7"}), command_complete("SELECT 1")})));
  EXPECT_FALSE(t.done());  // nothing ends a batch without Sync
  ASSERT_EQ(t.results().size(), 1u);
  EXPECT_EQ(t.results()[0].message, 3u);
  // The Sync that follows later ends it.
  t.expect('S');
  EXPECT_EQ(t.ready_expected(), 1u);
  EXPECT_TRUE(feed(t, ready('I')));
  EXPECT_TRUE(t.done());
}

TEST(reply_tracker, copy_from_stdin) {
  reply_tracker t;
  expect_all(t, query("COPY t FROM STDIN"));
  EXPECT_FALSE(feed(t, copy_in_response(2)));
  EXPECT_TRUE(t.copy_in());
  // The client's data gets no answer of its own.
  expect_all(t, concat({copy_data("1\ta\n"), copy_data("2\tb\n"), copy_done()}));
  EXPECT_EQ(t.ready_expected(), 1u);
  EXPECT_TRUE(t.copy_in());
  EXPECT_TRUE(feed(t, concat({command_complete("COPY 2"), ready('I')})));
  EXPECT_TRUE(t.done());
  EXPECT_FALSE(t.copy_in());
  EXPECT_FALSE(t.error());
  ASSERT_EQ(t.results().size(), 1u);
  EXPECT_EQ(t.results()[0].message, 0u);
  EXPECT_EQ(t.results()[0].tag, "COPY 2");
  EXPECT_EQ(t.messages().size(), 4u);
}

TEST(reply_tracker, copy_fail_is_an_error_of_the_query) {
  reply_tracker t;
  expect_all(t, query("COPY t FROM STDIN"));
  EXPECT_FALSE(feed(t, copy_in_response(1)));
  expect_all(t, concat({copy_data("1\n"), copy_fail("client gave up")}));
  EXPECT_FALSE(feed(t, error("57014", "COPY from stdin failed: client gave up")));
  EXPECT_FALSE(t.copy_in());
  EXPECT_TRUE(feed(t, ready('I')));
  ASSERT_TRUE(t.error());
  EXPECT_EQ(t.error()->message, 0u);
  EXPECT_TRUE(t.results().empty());
}

TEST(reply_tracker, function_call) {
  reply_tracker t;
  expect_all(t, function_call(1598, {"42"}));
  EXPECT_EQ(t.ready_expected(), 1u);
  EXPECT_FALSE(feed(t, function_result("43")));
  EXPECT_FALSE(t.done());
  EXPECT_TRUE(feed(t, ready('I')));
  EXPECT_TRUE(t.done());
  EXPECT_FALSE(t.error());
  EXPECT_TRUE(t.results().empty());

  reply_tracker failed;
  expect_all(failed, function_call(1598));
  EXPECT_TRUE(feed(failed, concat({error("42883", "function 1598 does not exist"), ready('I')})));
  ASSERT_TRUE(failed.error());
  EXPECT_EQ(failed.error()->message, 0u);
}

TEST(reply_tracker, row_hash_ignores_row_order) {
  const auto run = [](std::initializer_list<wire> rows) {
    reply_tracker t;
    expect_all(t, query("DELETE FROM t RETURNING a, b"));
    wire answer = row_description({"a", "b"});
    for (const auto& r : rows) answer = concat({answer, r});
    answer = concat({answer, command_complete("DELETE 3"), ready('I')});
    EXPECT_TRUE(feed(t, answer));
    EXPECT_EQ(t.results().size(), 1u);
    return t.results().empty() ? statement_result{} : t.results()[0];
  };
  const auto a = run({data_row({"1", "x"}), data_row({"2", std::nullopt}), data_row({"3", "z"})});
  const auto b = run({data_row({"3", "z"}), data_row({"1", "x"}), data_row({"2", std::nullopt})});
  EXPECT_EQ(a.rows, 3u);
  EXPECT_EQ(a.row_hash, b.row_hash);
  // A changed value, a NULL where there was a value, a value moved to another column.
  EXPECT_NE(a.row_hash,
            run({data_row({"1", "x"}), data_row({"2", std::nullopt}), data_row({"3", "y"})})
                .row_hash);
  EXPECT_NE(a.row_hash,
            run({data_row({"1", "x"}), data_row({"2", ""}), data_row({"3", "z"})}).row_hash);
  EXPECT_NE(run({data_row({"1", "2"})}).row_hash, run({data_row({"2", "1"})}).row_hash);
  // A duplicated row counts twice.
  EXPECT_NE(run({data_row({"1", "x"})}).row_hash,
            run({data_row({"1", "x"}), data_row({"1", "x"})}).row_hash);
}

TEST(reply_tracker, unread_row_turns_off_row_comparison) {
  reply_tracker t;
  expect_all(t, query("DELETE FROM t RETURNING a"));
  feed(t, concat({row_description({"a"}), data_row({"1"})}));
  t.on_unread_row();
  EXPECT_TRUE(feed(t, concat({command_complete("DELETE 2"), ready('I')})));
  ASSERT_EQ(t.results().size(), 1u);
  EXPECT_EQ(t.results()[0].rows, 2u);
  EXPECT_FALSE(t.results()[0].rows_hashed);
}

TEST(reply_tracker, empty_query_and_portal_suspended_are_results_without_tags) {
  reply_tracker t;
  expect_all(t, query(""));
  EXPECT_TRUE(feed(t, concat({empty_query(), ready('I')})));
  ASSERT_EQ(t.results().size(), 1u);
  EXPECT_EQ(t.results()[0].tag, "");

  reply_tracker s;
  expect_all(s, concat({bind("", "s1"), execute("", 1), execute("", 1), sync()}));
  EXPECT_TRUE(feed(s, concat({bind_complete(), data_row({"1"}), portal_suspended(),
                              data_row({"2"}), command_complete("SELECT 1"), ready('T')})));
  ASSERT_EQ(s.results().size(), 2u);
  EXPECT_EQ(s.results()[0].message, 1u);
  EXPECT_EQ(s.results()[0].tag, "");
  EXPECT_EQ(s.results()[0].rows, 1u);
  EXPECT_EQ(s.results()[1].message, 2u);
  EXPECT_EQ(s.results()[1].tag, "SELECT 1");
}

TEST(reply_tracker, close_answers_advance) {
  reply_tracker t;
  expect_all(t, concat({close_statement("s1"), parse("", "DELETE FROM t"), bind("", ""),
                        execute(), sync()}));
  EXPECT_TRUE(feed(t, concat({close_complete(), parse_complete(), bind_complete(),
                              command_complete("DELETE 0"), ready('I')})));
  ASSERT_EQ(t.results().size(), 1u);
  EXPECT_EQ(t.results()[0].message, 3u);
}

TEST(reply_tracker, command_tag_stops_at_nul) {
  const wire body = split(command_complete("INSERT 0 1")).at(0).body;
  EXPECT_EQ(command_tag(body), "INSERT 0 1");
  EXPECT_EQ(command_tag({}), "");
}

TEST(reply_tracker, only_shadow_changed_rows_needs_the_same_write_with_none_on_the_primary) {
  EXPECT_TRUE(only_shadow_changed_rows("UPDATE 0", "UPDATE 1"));
  EXPECT_TRUE(only_shadow_changed_rows("DELETE 0", "DELETE 3"));
  EXPECT_TRUE(only_shadow_changed_rows("INSERT 0 0", "INSERT 0 1"));
  EXPECT_FALSE(only_shadow_changed_rows("UPDATE 1", "UPDATE 0"));  // the primary changed rows
  EXPECT_FALSE(only_shadow_changed_rows("UPDATE 1", "UPDATE 2"));
  EXPECT_FALSE(only_shadow_changed_rows("UPDATE 0", "DELETE 1"));  // not the same write
  EXPECT_FALSE(only_shadow_changed_rows("SELECT 0", "SELECT 1"));  // not a write
  EXPECT_FALSE(only_shadow_changed_rows("UPDATE", "UPDATE 1"));
  EXPECT_FALSE(only_shadow_changed_rows("UPDATE 0", "UPDATE x"));
}

}  // namespace
}  // namespace dw::shadow
