// command_service: the queue that serializes mutating commands, and each command as a short
// coroutine over proxy_control's callbacks. Decisions come from plan_move(); this file only
// sequences calls, persists completed moves and words the answers. Everything runs on one
// strand, so the state below needs no locks.
#include "control/command_service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <deque>

#include "compare/verify_report.hpp"
#include "control/await_callback.hpp"

namespace dw::control {
namespace {

namespace asio = boost::asio;
using detail::await_callback;
using detail::clock_type;
using detail::strand_type;
using detail::use_nothrow;

constexpr auto no_deadline = clock_type::time_point::max();

response proxy_failed(std::string_view what, const failure& f) {
  return error_response(fmt::format("{} failed: {}", what, f.message));
}

/// The request as its line, without the '\n', for logs and messages.
std::string line_of(const request& r) {
  std::string s = write_request(r);
  s.pop_back();
  return s;
}

/// A mutating command waiting for, or being run by, the worker.
struct queued_job {
  queued_job(strand_type s, request r, clock_type::time_point d, std::string why)
      : req{r}, deadline{d}, automatic{std::move(why)}, replied{s} {}
  request req;
  clock_type::time_point deadline;
  std::string automatic;       ///< set: an automatic rollback, and why
  asio::steady_timer replied;  ///< cancelled once `reply` is set
  std::optional<response> reply;
  bool abandoned = false;  ///< its caller was told it timed out: do not start it
};

}  // namespace

service_options service_options_from(const config::config& cfg) {
  service_options o;
  o.state_file = cfg.state_file;
  o.gates.min_diff_samples = cfg.gates.min_read_samples;
  o.gates.max_diff_rate = cfg.gates.max_mismatch_rate;
  o.rollback.automatic = cfg.rollback.automatic;
  o.rollback.bounds.max_mismatch_rate = cfg.rollback.max_mismatch_rate;
  o.rollback.bounds.latency_ratio = cfg.rollback.latency_ratio;
  o.rollback.bounds.min_samples = cfg.rollback.min_samples;
  o.rollback.bounds.window = std::chrono::seconds{cfg.rollback.window_s};
  o.rollback.check_interval = cfg.rollback.check_interval;
  o.verify_report = cfg.gates.verify_report;
  if (cfg.gates.verify_max_age_minutes > 0)
    o.gates.max_verification_age = std::chrono::minutes{cfg.gates.verify_max_age_minutes};
  return o;
}

std::optional<gate_inputs::verification> read_verification(
    const std::filesystem::path& report, std::chrono::system_clock::time_point now) {
  const auto read = compare::read_verify_summary(report);
  if (!read.summary) {
    spdlog::debug("control: verification gate: {}", read.error);
    return std::nullopt;
  }
  // A report stamped in the future (clock skew between hosts) counts as brand new.
  const auto age = std::max(std::chrono::duration_cast<std::chrono::seconds>(
                                now - read.summary->finished),
                            std::chrono::seconds{0});
  return gate_inputs::verification{age, read.summary->passed};
}

struct command_service::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& ctx, proxy_control& p, service_options o, persisted_state initial)
      : strand{asio::make_strand(ctx)},
        proxy{p},
        opts{std::move(o)},
        state{std::move(initial)},
        wake_worker{strand},
        rollback_timer{strand} {}

  strand_type strand;
  proxy_control& proxy;
  service_options opts;
  persisted_state state;  ///< the phase the proxy runs in, as persisted
  std::deque<std::shared_ptr<queued_job>> queue;
  std::shared_ptr<queued_job> running;
  asio::steady_timer wake_worker;
  asio::steady_timer rollback_timer;
  std::deque<auto_action> auto_actions;  ///< the last max_auto_actions, oldest first
  bool worker_started = false;
  bool stopped = false;

  asio::awaitable<response> handle(request r);
  asio::awaitable<response> submit(const request& r, std::string automatic = {});
  asio::awaitable<void> worker();
  std::string timeout_reason(const queued_job& j) const;
  void shutdown();

  asio::awaitable<response> run(const request& r, clock_type::time_point deadline);
  asio::awaitable<std::optional<status_snapshot>> snapshot(clock_type::time_point deadline);
  asio::awaitable<response> status();
  asio::awaitable<response> move(const request& r, clock_type::time_point deadline,
                                 const std::string& automatic = {});
  response record_move(const move_plan& plan, move_data data, const move_report& report,
                       const std::string& automatic);
  asio::awaitable<response> diffs(const request& r);
  asio::awaitable<void> rollback_checker();
  asio::awaitable<void> roll_back(std::string reason);
  asio::awaitable<response> pause();
  asio::awaitable<response> resume();
  asio::awaitable<response> acknowledge();
  static response help();
};

// --- ordering ------------------------------------------------------------------------------

asio::awaitable<response> command_service::impl::handle(request r) {
  auto self = shared_from_this();
  if (stopped) co_return error_response("control is shutting down; nothing was done");
  if (!is_mutating(r.cmd)) co_return co_await run(r, no_deadline);
  co_return co_await submit(r);
}

asio::awaitable<response> command_service::impl::submit(const request& r, std::string automatic) {
  if (stopped) co_return error_response("control is shutting down; nothing was done");
  if (!worker_started) {  // here, not in the constructor: worker() needs shared_from_this()
    worker_started = true;
    asio::co_spawn(strand, worker(), [](std::exception_ptr e) {
      if (e) spdlog::critical("control: command worker died; mutating commands will time out");
    });
  }
  const auto deadline = clock_type::now() + opts.command_deadline;
  auto job = std::make_shared<queued_job>(strand, r, deadline, std::move(automatic));
  job->replied.expires_at(deadline + reply_grace);
  queue.push_back(job);
  wake_worker.cancel();
  co_await job->replied.async_wait(use_nothrow);
  if (job->reply) co_return std::move(*job->reply);
  job->abandoned = true;
  co_return error_response(timeout_reason(*job));
}

asio::awaitable<void> command_service::impl::worker() {
  auto self = shared_from_this();
  for (;;) {
    while (queue.empty() && !stopped) {
      wake_worker.expires_at(no_deadline);
      co_await wake_worker.async_wait(use_nothrow);
    }
    if (stopped) co_return;
    running = std::move(queue.front());
    queue.pop_front();
    if (running->abandoned || clock_type::now() >= running->deadline) {
      // Its caller has been, or is about to be, told it timed out: running it now would do
      // something nobody is waiting for.
      running.reset();
      continue;
    }
    // Waits for the proxy's answer however late: starting the next command while this one
    // may still be flipping is exactly the interleaving the queue exists to prevent.
    // Not a conditional expression: GCC 12 miscompiles co_await inside ?: (the result's
    // strings ended up pointing into this frame).
    response reply;
    if (running->automatic.empty())
      reply = co_await run(running->req, running->deadline);
    else
      reply = co_await move(running->req, running->deadline, running->automatic);
    running->reply = std::move(reply);
    running->replied.cancel();
    running.reset();
  }
}

std::string command_service::impl::timeout_reason(const queued_job& j) const {
  if (running.get() == &j)
    return fmt::format(
        "'{}' did not finish in time; it is still running in the proxy and its "
        "outcome will be logged and persisted; check status",
        line_of(j.req));
  if (running)
    return fmt::format("timed out waiting behind '{}', which is still running; nothing was done",
                       line_of(running->req));
  return "timed out in the command queue; nothing was done";
}

void command_service::impl::shutdown() {
  if (stopped) return;
  stopped = true;
  for (auto& job : queue) {
    job->reply = error_response("control is shutting down; nothing was done");
    job->replied.cancel();
  }
  queue.clear();
  if (running) {
    running->reply = error_response(
        "control is shutting down; the running command still completes in the proxy and is "
        "persisted");
    running->replied.cancel();
  }
  wake_worker.cancel();
  rollback_timer.cancel();
}

// --- commands ------------------------------------------------------------------------------

asio::awaitable<response> command_service::impl::run(const request& r,
                                                     clock_type::time_point deadline) {
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
    case command::diffs:
      co_return co_await diffs(r);
    case command::help:
      co_return help();
  }
  co_return error_response("unknown command");
}

asio::awaitable<std::optional<status_snapshot>> command_service::impl::snapshot(
    clock_type::time_point deadline) {
  auto snap = co_await await_callback<status_snapshot>(
      strand, std::min(deadline, clock_type::now() + opts.status_deadline),
      [this](auto done) { proxy.status(std::move(done)); });
  // The verification is a file dwctl verify wrote, not something the proxy measures.
  if (snap && !opts.verify_report.empty())
    snap->gates.last_verification =
        read_verification(opts.verify_report, std::chrono::system_clock::now());
  co_return snap;
}

asio::awaitable<response> command_service::impl::status() {
  auto snap = co_await snapshot(no_deadline);
  if (!snap)
    co_return error_response(fmt::format("the proxy did not report its status within {} ms",
                                         opts.status_deadline.count()));
  if (snap->current != state.current)
    spdlog::warn("control: proxy reports phase {} but the persisted phase is {}",
                 describe(snap->current), describe(state.current));
  status_data s;
  s.proxy = std::move(*snap);
  s.proxy.current = state.current;  // what a restart comes back in, and what moves start from
  s.last_move = state;
  if (state.current != phase::cleanup) {
    s.next = static_cast<phase>(phase_number(state.current) + 1);
    s.next_blocked_by = check_gates(*s.next, s.proxy.gates, opts.gates);
  }
  s.queued_commands = queue.size() + (running ? 1u : 0u);
  s.auto_actions.assign(auto_actions.begin(), auto_actions.end());
  co_return response{true, {}, std::move(s)};
}

asio::awaitable<response> command_service::impl::move(const request& r,
                                                      clock_type::time_point deadline,
                                                      const std::string& automatic) {
  move_data data;
  data.current = data.from = state.current;
  data.target = r.target;
  if (!automatic.empty() && state.current != phase::cutover)
    // An operator moved first while the rollback waited in the queue: their move stands.
    co_return response{false,
                       fmt::format("the automatic rollback found phase {} instead of 3 "
                                   "(cutover); nothing was done",
                                   describe(state.current)),
                       std::move(data)};
  auto snap = co_await snapshot(deadline);
  if (!snap)
    co_return response{false, "the proxy did not report its gates in time; nothing was changed",
                       std::move(data)};
  auto planned = plan_move(state.current, r.target, r.force, snap->gates, opts.gates);
  if (!planned) {
    refusal why = planned.error();
    spdlog::warn("control: refused: {}", why.message);
    data.refused_by = std::move(why.gates);
    co_return response{false, std::move(why.message), std::move(data)};
  }
  const move_plan& plan = *planned;
  data.flip = plan.flip;
  data.attach_shadows = plan.attach_shadows;
  data.detach_shadows = plan.detach_shadows;
  data.forced = plan.forced;
  data.overridden = plan.overridden;
  if (plan.kind == move_kind::none) co_return response{true, {}, std::move(data)};

  if (plan.forced) spdlog::warn("control: --force given: {}", plan.summary());
  spdlog::info("control: moving {}", plan.summary());
  auto result = co_await await_callback<outcome<move_report>>(
      strand, no_deadline,
      [this, &plan, deadline](auto done) { proxy.move_phase(plan, deadline, std::move(done)); });
  if (!result) result = failure{"the proxy never answered"};
  if (!*result) {
    spdlog::warn("control: move {} failed: {}", plan.summary(), result->error().message);
    co_return response{false,
                       fmt::format("move to {} failed: {}; still in phase {}", describe(plan.to),
                                   result->error().message, describe(state.current)),
                       std::move(data)};
  }
  co_return record_move(plan, std::move(data), **result, automatic);
}

response command_service::impl::record_move(const move_plan& plan, move_data data,
                                            const move_report& report,
                                            const std::string& automatic) {
  const phase before = state.current;
  // The proxy runs in the new phase now whatever the disk says, so memory follows it first.
  std::string reason = automatic.empty()
                           ? plan.summary()
                           : fmt::format("automatic rollback, {}: {}", plan.summary(), automatic);
  state = {plan.to, std::chrono::system_clock::now(), std::move(reason), plan.forced};
  data.current = plan.to;
  data.changed = true;
  data.report = report;
  spdlog::info("control: now in phase {} ({} ms, new transactions held {} ms)", describe(plan.to),
               report.took.count(), report.paused_for.count());
  if (!opts.state_file.empty()) {
    if (auto saved = save_state(opts.state_file, state); !saved) {
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

asio::awaitable<response> command_service::impl::pause() {
  auto r = co_await await_callback<outcome<pause_report>>(
      strand, no_deadline, [this](auto done) { proxy.pause(std::move(done)); });
  if (!r) r = failure{"the proxy never answered"};
  if (!*r) co_return proxy_failed("pause", r->error());
  co_return response{true, {}, pause_data{true, (*r)->changed, (*r)->in_flight}};
}

asio::awaitable<response> command_service::impl::resume() {
  auto r = co_await await_callback<outcome<bool>>(
      strand, no_deadline, [this](auto done) { proxy.resume(std::move(done)); });
  if (!r) r = failure{"the proxy never answered"};
  if (!*r) co_return proxy_failed("resume", r->error());
  co_return response{true, {}, pause_data{false, **r, std::nullopt}};
}

asio::awaitable<response> command_service::impl::acknowledge() {
  auto r = co_await await_callback<outcome<std::uint64_t>>(
      strand, no_deadline, [this](auto done) { proxy.acknowledge_divergences(std::move(done)); });
  if (!r) r = failure{"the proxy never answered"};
  if (!*r) co_return proxy_failed("ack-divergence", r->error());
  if (**r > 0) spdlog::info("control: {} diverged session(s) acknowledged", **r);
  co_return response{true, {}, ack_data{**r}};
}

asio::awaitable<response> command_service::impl::diffs(const request& r) {
  const auto deadline = clock_type::now() + opts.status_deadline;
  auto report = co_await await_callback<outcome<diffs_report>>(
      strand, deadline, [this, limit = r.limit](auto done) {
        proxy.read_diffs(limit, std::move(done));
      });
  if (!report)
    co_return error_response(fmt::format("the proxy did not report its read diffs within {} ms",
                                         opts.status_deadline.count()));
  if (!*report) co_return proxy_failed("diffs", report->error());
  diffs_data d{std::move(**report), false};
  if (r.reset) {
    auto reset = co_await await_callback<outcome<void>>(
        strand, clock_type::now() + opts.status_deadline,
        [this](auto done) { proxy.reset_read_diffs(std::move(done)); });
    if (!reset) reset = failure{"the proxy never answered"};
    if (!*reset) co_return proxy_failed("diffs --reset", reset->error());
    d.reset = true;
    spdlog::info("control: read-diff statistics reset ({} sampled reads, {} mismatches forgotten)",
                 d.report.totals.samples, d.report.totals.mismatches);
  }
  co_return response{true, {}, std::move(d)};
}

// --- automatic rollback ---------------------------------------------------------------------

asio::awaitable<void> command_service::impl::rollback_checker() {
  auto self = shared_from_this();
  while (!stopped) {
    rollback_timer.expires_after(opts.rollback.check_interval);
    co_await rollback_timer.async_wait(use_nothrow);
    if (stopped) co_return;
    if (state.current != phase::cutover) continue;
    const auto snap = co_await snapshot(no_deadline);
    if (!snap || !snap->rollback_window || state.current != phase::cutover) continue;
    if (auto reason = rollback_reason(*snap->rollback_window, opts.rollback.bounds))
      co_await roll_back(std::move(*reason));
  }
}

asio::awaitable<void> command_service::impl::roll_back(std::string reason) {
  spdlog::warn("control: automatic rollback to {}: {}", describe(phase::shadow_read), reason);
  auto_action action{std::chrono::system_clock::now(), phase::cutover, phase::shadow_read, reason,
                     false, {}};
  const response reply =
      co_await submit(request{.cmd = command::phase, .target = phase::shadow_read}, reason);
  const auto* moved = std::get_if<move_data>(&reply.data);
  action.ok = reply.ok && moved != nullptr && moved->changed;
  if (action.ok) {
    action.outcome = moved->report ? fmt::format("done in {} ms", moved->report->took.count())
                                   : std::string{"done"};
    spdlog::warn("control: automatic rollback {}", action.outcome);
  } else {
    action.outcome = reply.ok ? std::string{"nothing to do"} : reply.error;
    spdlog::warn("control: automatic rollback failed: {}; retrying at the next check",
                 action.outcome);
  }
  if (auto_actions.size() >= max_auto_actions) auto_actions.pop_front();
  auto_actions.push_back(std::move(action));
}

response command_service::impl::help() {
  help_data h;
  for (auto line : command_help()) h.commands.emplace_back(line);
  return {true, {}, std::move(h)};
}

// --- public --------------------------------------------------------------------------------

command_service::command_service(asio::io_context& ctx, proxy_control& proxy,
                                 service_options options, persisted_state initial)
    : impl_{std::make_shared<impl>(ctx, proxy, std::move(options), std::move(initial))} {
  spdlog::info("control: phase {} ({})", describe(impl_->state.current), impl_->state.reason);
  if (!impl_->opts.rollback.automatic) return;
  const auto& b = impl_->opts.rollback.bounds;
  spdlog::info(
      "control: automatic rollback on in phase 3: mismatch rate above {:.2f}% or NEW p99 above "
      "{:.1f}x OLD's over {} s, with at least {} sampled reads",
      b.max_mismatch_rate * 100, b.latency_ratio, b.window.count(), b.min_samples);
  asio::co_spawn(impl_->strand, impl_->rollback_checker(), [](std::exception_ptr e) {
    if (e) spdlog::critical("control: the automatic rollback checker died; it is off now");
  });
}

command_service::~command_service() { stop(); }

void command_service::execute(const request& r, std::function<void(response)> done) {
  asio::co_spawn(impl_->strand, impl_->handle(r),
                 [done = std::move(done)](std::exception_ptr e, response reply) {
                   if (!e) return done(std::move(reply));
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     spdlog::error("control: internal error: {}", ex.what());
                     done(error_response(std::string("internal error: ") + ex.what()));
                   }
                 });
}

void command_service::stop() {
  asio::dispatch(impl_->strand, [self = impl_] { self->shutdown(); });
}

}  // namespace dw::control
