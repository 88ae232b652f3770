#include "proxy/boundary_tracker.hpp"

#include <gtest/gtest.h>

namespace dw::proxy {
namespace {

TEST(boundary_tracker, simple_query_is_in_flight_until_ready_for_query) {
  boundary_tracker t;
  EXPECT_TRUE(t.idle());
  t.on_client_message('Q');
  EXPECT_FALSE(t.idle());
  t.on_ready_for_query('I');
  EXPECT_TRUE(t.idle());
}

TEST(boundary_tracker, open_transaction_is_not_a_boundary) {
  boundary_tracker t;
  t.on_client_message('Q');
  t.on_ready_for_query('T');
  EXPECT_FALSE(t.idle());
  t.on_client_message('Q');
  t.on_ready_for_query('E');
  EXPECT_FALSE(t.idle());
  t.on_client_message('Q');
  t.on_ready_for_query('I');
  EXPECT_TRUE(t.idle());
}

TEST(boundary_tracker, extended_batch_without_sync_is_in_flight) {
  boundary_tracker t;
  t.on_client_message('P');
  t.on_client_message('B');
  t.on_client_message('E');
  t.on_client_message('H');
  EXPECT_FALSE(t.idle());
  t.on_client_message('S');
  EXPECT_FALSE(t.idle());
  t.on_ready_for_query('I');
  EXPECT_TRUE(t.idle());
}

TEST(boundary_tracker, pipelined_queries_need_every_answer) {
  boundary_tracker t;
  t.on_client_message('Q');
  t.on_client_message('Q');
  t.on_ready_for_query('I');
  EXPECT_FALSE(t.idle());
  EXPECT_EQ(t.awaiting_ready(), 1u);
  t.on_ready_for_query('I');
  EXPECT_TRUE(t.idle());
}

}  // namespace
}  // namespace dw::proxy
