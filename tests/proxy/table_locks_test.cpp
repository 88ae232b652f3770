// table_locks: the proxy-wide write order for serialised tables. A waiter gives up only when
// the holder's backend waits for the waiter's own (a deadlock PostgreSQL cannot see); every
// other waiter keeps its place, and one contended key costs one question per interval to the
// primary however long its queue is. Run on a real io_context with a short interval.
#include "proxy/table_locks.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <array>
#include <optional>
#include <vector>

namespace dw::proxy {
namespace {

using namespace std::chrono_literals;
using pids = std::vector<std::int32_t>;
const std::array<std::string, 1> key{"public.ser"};

// Takes the key for `pid` and, once the attempt ends, stores its outcome and releases what
// it took (as a session does once the shadow ran its write).
void take(asio::io_context& ctx, table_locks& locks, std::int32_t pid,
          table_locks::deadlock_check check, std::optional<bool>& outcome) {
  asio::co_spawn(ctx, locks.lock(key, pid, std::move(check)),
                 [&locks, &outcome](const std::exception_ptr& e, bool taken) {
                   if (e) std::rethrow_exception(e);
                   outcome = taken;
                   if (taken) locks.unlock(key);
                 });
}

TEST(table_locks, only_the_waiter_the_holder_waits_for_gives_up) {
  asio::io_context ctx;
  table_locks locks{10ms};
  std::optional<bool> holder, in_cycle, bystander;
  // The holder (backend 1) waits on the primary for backend 2; nothing waits for 3.
  auto check = [](std::int32_t holder_pid) -> awaitable<std::optional<pids>> {
    co_return holder_pid == 1 ? pids{2} : pids{};
  };
  asio::co_spawn(ctx, locks.lock(key, 1, check), [&](const std::exception_ptr&, bool taken) {
    holder = taken;
  });
  take(ctx, locks, 3, check, bystander);
  // Once backend 2 gave up, the holder's statement can finish: it releases the key.
  asio::co_spawn(ctx, locks.lock(key, 2, check), [&](const std::exception_ptr&, bool taken) {
    in_cycle = taken;
    locks.unlock(key);
  });
  ctx.run();
  EXPECT_EQ(holder, true);
  EXPECT_EQ(in_cycle, false);
  EXPECT_EQ(bystander, true);
}

TEST(table_locks, a_long_queue_asks_the_primary_once_per_interval_not_once_per_waiter) {
  asio::io_context ctx;
  table_locks locks{10ms};
  int questions = 0;
  // A slow answer (60 ms, six intervals): while it is under way nobody else asks. The holder
  // releases the key once it has been answered.
  table_locks::deadlock_check check = [&](std::int32_t) -> awaitable<std::optional<pids>> {
    ++questions;
    asio::steady_timer slow{ctx, 60ms};
    (void)co_await slow.async_wait(use_nothrow);
    if (questions == 1) locks.unlock(key);
    co_return pids{};
  };
  std::optional<bool> holder;
  asio::co_spawn(ctx, locks.lock(key, 1, check), [&](const std::exception_ptr&, bool taken) {
    holder = taken;
  });
  std::array<std::optional<bool>, 20> waiters;
  for (std::size_t i = 0; i < waiters.size(); ++i)
    take(ctx, locks, static_cast<std::int32_t>(i + 2), check, waiters[i]);
  ctx.run();
  EXPECT_EQ(holder, true);
  for (const auto& w : waiters) EXPECT_EQ(w, true);
  // One question per waiter and wake-up would be 20 or more.
  EXPECT_GE(questions, 1);
  EXPECT_LE(questions, 3);
}

}  // namespace
}  // namespace dw::proxy
