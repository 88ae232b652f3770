// command_runner: status, phase moves, pause/resume and acknowledgements, each a short
// coroutine over proxy_control's callbacks. Decisions come from plan_move(); this file only
// sequences the calls, persists completed moves and words the answers.
#include "control/command_runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace dw::control {
namespace {

namespace asio = boost::asio;
using clock_type = command_runner::clock_type;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

/// Calls start(callback) and waits on the strand until the proxy answered or `deadline`
/// passed (std::nullopt). A late answer is dropped; the shared state keeps it harmless.
template <class T, class Start>
asio::awaitable<std::optional<T>> await_proxy(command_runner::strand_type strand,
                                              clock_type::time_point deadline, Start start) {
  struct pending {
    explicit pending(command_runner::strand_type s) : timer{s} {}
    asio::steady_timer timer;
    std::optional<T> value;
  };
  auto p = std::make_shared<pending>(strand);
  p->timer.expires_at(deadline);
  start([p, strand](T v) {
    asio::post(strand, [p, v = std::move(v)]() mutable {
      p->value = std::move(v);
      p->timer.cancel();
    });
  });
  // The callback is posted to this strand, so it cannot run before this wait is registered.
  if (!p->value) co_await p->timer.async_wait(use_nothrow);
  co_return std::move(p->value);
}

constexpr auto no_deadline = clock_type::time_point::max();

const failure no_answer{"the proxy never answered"};

response proxy_failed(std::string_view what, const failure& f) {
  return error_response(fmt::format("{} failed: {}", what, f.message));
}

move_data move_data_for(const persisted_state& s, const request& r) {
  move_data m;
  m.current = s.current;
  m.from = s.current;
  m.target = r.target;
  return m;
}

}  // namespace

command_runner::command_runner(strand_type strand, proxy_control& proxy, const server_options& opts,
                               persisted_state initial, std::function<std::uint64_t()> queue_depth)
    : strand_{std::move(strand)},
      proxy_{proxy},
      opts_{opts},
      state_{std::move(initial)},
      queue_depth_{std::move(queue_depth)} {}

asio::awaitable<response> command_runner::run(const request& r, clock_type::time_point deadline) {
  switch (r.cmd) {
    case command::status:
      co_return co_await status();
    case command::phase:
      co_return co_await move(r, deadline);
    case command::pause:
      co_return co_await pause();
    case command::resume:
      co_return co_await resume();
    case command::ack_divergence:
      co_return co_await acknowledge();
    case command::help:
      co_return help();
  }
  co_return error_response("unknown command");
}

asio::awaitable<response> command_runner::status() {
  auto snap =
      co_await await_proxy<status_snapshot>(strand_, clock_type::now() + opts_.status_deadline,
                                            [this](auto done) { proxy_.status(std::move(done)); });
  if (!snap)
    co_return error_response(fmt::format("the proxy did not report its status within {} ms",
                                         opts_.status_deadline.count()));
  if (snap->current != state_.current)
    spdlog::warn("control: proxy reports phase {} but the persisted phase is {}",
                 describe(snap->current), describe(state_.current));
  status_data s;
  s.proxy = std::move(*snap);
  s.proxy.current = state_.current;  // what a restart comes back in, and what moves start from
  s.last_move = state_;
  if (state_.current != phase::cleanup) {
    s.next = static_cast<phase>(phase_number(state_.current) + 1);
    s.next_blocked_by = check_gates(*s.next, s.proxy.gates, opts_.gates);
  }
  s.queued_commands = queue_depth_();
  co_return response{.ok = true, .error = {}, .data = std::move(s)};
}

asio::awaitable<response> command_runner::move(const request& r, clock_type::time_point deadline) {
  move_data data = move_data_for(state_, r);
  auto snap = co_await await_proxy<status_snapshot>(
      strand_, std::min(deadline, clock_type::now() + opts_.status_deadline),
      [this](auto done) { proxy_.status(std::move(done)); });
  if (!snap)
    co_return response{false, "the proxy did not report its gates in time; nothing was changed",
                       std::move(data)};
  auto planned = plan_move(state_.current, r.target, r.force, snap->gates, opts_.gates);
  if (!planned) {
    data.refused_by = planned.error().gates;
    spdlog::warn("control: refused: {}", planned.error().message);
    co_return response{false, std::move(planned.error().message), std::move(data)};
  }
  const move_plan& plan = *planned;
  data.flip = plan.flip;
  data.attach_shadows = plan.attach_shadows;
  data.detach_shadows = plan.detach_shadows;
  data.forced = plan.forced;
  data.overridden = plan.overridden;
  if (plan.kind == move_kind::none) co_return response{true, {}, std::move(data)};

  spdlog::info("control: moving {}", plan.summary());
  auto result = co_await await_proxy<outcome<move_report>>(
      strand_, no_deadline,
      [this, &plan, deadline](auto done) { proxy_.move_phase(plan, deadline, std::move(done)); });
  if (!result) result = no_answer;
  if (!*result) {
    spdlog::warn("control: move {} failed: {}", plan.summary(), result->error().message);
    co_return response{false,
                       fmt::format("move to {} failed: {}; still in phase {}", describe(plan.to),
                                   result->error().message, describe(state_.current)),
                       std::move(data)};
  }
  co_return record_move(plan, std::move(data), **result);
}

response command_runner::record_move(const move_plan& plan, move_data data,
                                     const move_report& report) {
  const phase before = state_.current;
  // The proxy runs in the new phase now whatever the disk says, so memory follows it first.
  state_ = {plan.to, std::chrono::system_clock::now(), plan.summary(), plan.forced};
  data.current = plan.to;
  data.changed = true;
  data.report = report;
  spdlog::info("control: now in phase {} ({} ms, paused {} ms)", describe(plan.to),
               report.took.count(), report.paused_for.count());
  if (!opts_.state_file.empty()) {
    if (auto saved = save_state(opts_.state_file, state_); !saved) {
      spdlog::error("control: {}", saved.error().message);
      return {false,
              fmt::format("moved to phase {}, but it was not persisted ({}); a restart would "
                          "come back in phase {}",
                          describe(plan.to), saved.error().message, describe(before)),
              std::move(data)};
    }
  }
  return {true, {}, std::move(data)};
}

asio::awaitable<response> command_runner::pause() {
  auto r = co_await await_proxy<outcome<pause_report>>(
      strand_, no_deadline, [this](auto done) { proxy_.pause(std::move(done)); });
  if (!r) r = no_answer;
  if (!*r) co_return proxy_failed("pause", r->error());
  co_return response{true, {}, pause_data{true, (*r)->changed, (*r)->in_flight}};
}

asio::awaitable<response> command_runner::resume() {
  auto r = co_await await_proxy<outcome<bool>>(
      strand_, no_deadline, [this](auto done) { proxy_.resume(std::move(done)); });
  if (!r) r = no_answer;
  if (!*r) co_return proxy_failed("resume", r->error());
  co_return response{true, {}, pause_data{false, **r, std::nullopt}};
}

asio::awaitable<response> command_runner::acknowledge() {
  auto r = co_await await_proxy<outcome<std::uint64_t>>(
      strand_, no_deadline, [this](auto done) { proxy_.acknowledge_divergences(std::move(done)); });
  if (!r) r = no_answer;
  if (!*r) co_return proxy_failed("ack-divergence", r->error());
  if (**r > 0) spdlog::info("control: {} diverged session(s) acknowledged", **r);
  co_return response{true, {}, ack_data{**r}};
}

response command_runner::help() const {
  help_data h;
  for (auto line : command_help()) h.commands.emplace_back(line);
  return {true, {}, std::move(h)};
}

}  // namespace dw::control
