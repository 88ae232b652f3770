// Bridges a callback API (proxy_control, command_service) into an Asio coroutine: start the
// operation, then wait on a timer that the callback cancels. Internal to control/'s two Asio
// translation units; the callback may run on any thread, the waiting coroutine on `strand`.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>

namespace dw::control::detail {

using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;
using clock_type = std::chrono::steady_clock;

inline constexpr auto use_nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);

/// Calls start(callback) and waits on `strand` until the callback delivered a T, or until
/// `deadline` (std::nullopt). A late callback is harmless: the shared state outlives the wait.
template <class T, class Start>
boost::asio::awaitable<std::optional<T>> await_callback(strand_type strand,
                                                        clock_type::time_point deadline,
                                                        Start start) {
  struct pending {
    explicit pending(strand_type s) : timer{s} {}
    boost::asio::steady_timer timer;
    std::optional<T> value;
  };
  auto p = std::make_shared<pending>(strand);
  p->timer.expires_at(deadline);
  start([p, strand](T v) {
    boost::asio::post(strand, [p, v = std::move(v)]() mutable {
      p->value = std::move(v);
      p->timer.cancel();
    });
  });
  // The callback is posted to this strand, so it cannot land before this wait is registered.
  if (!p->value) co_await p->timer.async_wait(use_nothrow);
  co_return std::move(p->value);
}

}  // namespace dw::control::detail
