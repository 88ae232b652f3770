// LISTEN/NOTIFY between two libpq sessions through the proxy. The listener is idle when the
// notification arrives, so the proxy must relay an unsolicited NotificationResponse; the
// test waits on the listener's socket, never a sleep.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>

#include "tests/support/integration_env.hpp"
#include "tests/support/libpq_session.hpp"

namespace dw::test {
namespace {

using namespace std::chrono_literals;

struct notification {
  std::string channel, payload;
};

// Waits on the connection's socket until a notification is parsed or the deadline passes.
std::optional<notification> wait_for_notification(PGconn* conn, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (PQconsumeInput(conn) != 1) return std::nullopt;
    if (PGnotify* n = PQnotifies(conn)) {
      notification out{n->relname, n->extra};
      PQfreemem(n);
      return out;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left <= 0ms) return std::nullopt;
    pollfd p{PQsocket(conn), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
}

TEST(notify, idle_listener_receives_notifications_in_order) {
  auto& proxy = default_proxy();
  auto listener = pg_connect(proxy.conninfo());
  auto notifier = pg_connect(proxy.conninfo());
  pg_exec(listener.get(), "LISTEN it_channel");

  pg_exec(notifier.get(), "NOTIFY it_channel, 'first'");
  pg_exec(notifier.get(), "SELECT pg_notify('it_channel', 'second with spaces, ''quotes''')");

  const auto first = wait_for_notification(listener.get(), 10s);
  ASSERT_TRUE(first.has_value()) << "no notification within 10 s: " << PQerrorMessage(listener.get());
  EXPECT_EQ(first->channel, "it_channel");
  EXPECT_EQ(first->payload, "first");
  const auto second = wait_for_notification(listener.get(), 10s);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->payload, "second with spaces, 'quotes'");
}

TEST(notify, notification_sent_inside_a_transaction_arrives_only_after_commit) {
  auto& proxy = default_proxy();
  auto listener = pg_connect(proxy.conninfo());
  auto notifier = pg_connect(proxy.conninfo());
  pg_exec(listener.get(), "LISTEN it_tx_channel");

  pg_exec(notifier.get(), "BEGIN");
  pg_exec(notifier.get(), "NOTIFY it_tx_channel, 'rolled back'");
  pg_exec(notifier.get(), "ROLLBACK");
  pg_exec(notifier.get(), "BEGIN");
  pg_exec(notifier.get(), "NOTIFY it_tx_channel, 'committed'");
  pg_exec(notifier.get(), "COMMIT");

  const auto got = wait_for_notification(listener.get(), 10s);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->payload, "committed") << "a rolled-back NOTIFY must never be delivered";
}

TEST(notify, unlisten_stops_delivery) {
  auto& proxy = default_proxy();
  auto listener = pg_connect(proxy.conninfo());
  auto notifier = pg_connect(proxy.conninfo());
  pg_exec(listener.get(), "LISTEN it_a; LISTEN it_b");
  pg_exec(listener.get(), "UNLISTEN it_a");
  pg_exec(notifier.get(), "NOTIFY it_a, 'dropped'; NOTIFY it_b, 'kept'");
  const auto got = wait_for_notification(listener.get(), 10s);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->channel, "it_b");
  EXPECT_EQ(got->payload, "kept");
}

}  // namespace
}  // namespace dw::test
