// Runs one parsed control request against proxy_control and builds its response (internal to
// control_server). It owns the persisted phase: a move the proxy completed is written to the
// state file here, before anyone is told it succeeded. Ordering is the caller's job: it must
// never run two mutating requests at once.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <functional>

#include "control/control_protocol.hpp"
#include "control/control_server.hpp"

namespace dw::control {

class command_runner {
 public:
  using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;
  using clock_type = std::chrono::steady_clock;

  /// `opts` and `proxy` must outlive the runner; `queue_depth` reports mutating commands
  /// running or waiting, for status.
  command_runner(strand_type strand, proxy_control& proxy, const server_options& opts,
                 persisted_state initial, std::function<std::uint64_t()> queue_depth);

  /// Runs `r` on the strand. Mutating commands hand `deadline` to the proxy and wait for its
  /// answer however late it comes; status waits at most opts.status_deadline.
  boost::asio::awaitable<response> run(const request& r, clock_type::time_point deadline);

  [[nodiscard]] const persisted_state& state() const noexcept { return state_; }

 private:
  boost::asio::awaitable<response> status();
  boost::asio::awaitable<response> move(const request& r, clock_type::time_point deadline);
  boost::asio::awaitable<response> pause();
  boost::asio::awaitable<response> resume();
  boost::asio::awaitable<response> acknowledge();
  response help() const;
  response record_move(const move_plan& plan, move_data data, const move_report& report);

  strand_type strand_;
  proxy_control& proxy_;
  const server_options& opts_;
  persisted_state state_;
  std::function<std::uint64_t()> queue_depth_;
};

}  // namespace dw::control
