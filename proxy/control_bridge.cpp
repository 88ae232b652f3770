#include "proxy/control_bridge.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "proxy/worker.hpp"

namespace dw::proxy {
namespace {

std::string_view role_of(int phase, bool is_new, bool configured) {
  if (!configured) return "absent";
  const bool new_primary = phase >= 3;
  const bool has_shadow = phase >= 1 && phase <= 3;
  if (is_new == new_primary) return "primary";
  return has_shadow ? "shadow" : "idle";
}

control::backend_status backend_entry(const shared_state& shared, int phase, bool is_new,
                                      bool configured) {
  control::backend_status b;
  b.name = is_new ? "new" : "old";
  b.role = std::string{role_of(phase, is_new, configured)};
  const std::int64_t last = shared.last_login_us[is_new ? 1 : 0].load();
  // A login is the only round trip the proxy makes on its own in phase 0: report its time.
  if (last >= 0) {
    b.reachable = true;
    b.latency_ms = static_cast<double>(last) / 1000.0;
  }
  return b;
}

}  // namespace

void control_bridge::put_read_totals(control::status_snapshot& s) const {
  const auto& cfg = shared_.current.load()->cfg;
  const auto now = std::chrono::steady_clock::now();
  const compare::read_stats& stats = *shared_.read_stats;
  s.read_totals = stats.totals();
  const auto gate = stats.window(now, std::chrono::seconds{cfg.gates.read_window_s});
  s.gates.read_diffs = control::gate_inputs::diffs{gate.samples, gate.mismatches};
  s.rollback_window = stats.window(now, std::chrono::seconds{cfg.rollback.window_s});
}

void control_bridge::read_diffs(std::size_t limit,
                                std::function<void(control::outcome<control::diffs_report>)> done) {
  const auto span = std::chrono::seconds{shared_.current.load()->cfg.gates.read_window_s};
  const compare::read_stats& stats = *shared_.read_stats;
  control::diffs_report r;
  r.totals = stats.totals();
  r.window = stats.window(std::chrono::steady_clock::now(), span);
  r.window_span = span;
  r.worst = stats.worst(limit);
  done(std::move(r));
}

void control_bridge::reset_read_diffs(std::function<void(control::outcome<void>)> done) {
  shared_.read_stats->reset();
  spdlog::info("read-diff statistics reset by the operator");
  done(control::outcome<void>{});
}

void control_bridge::count_sessions(std::function<void(census_total)> done) {
  struct gather {
    std::mutex mutex;
    census_total total;
    std::size_t pending;
    std::function<void(census_total)> done;
  };
  auto g = std::make_shared<gather>();
  g->pending = workers_.size();
  g->done = std::move(done);
  for (auto& w : workers_) {
    w->take_census([g](worker::session_census c) {
      std::unique_lock lock{g->mutex};
      g->total.sessions += c.sessions;
      g->total.in_transaction += c.in_transaction;
      g->total.shadow_backlog += c.shadow_backlog;
      g->total.max_shadow_lag_ms = std::max(g->total.max_shadow_lag_ms, c.max_shadow_lag_ms);
      if (--g->pending > 0) return;
      const census_total total = g->total;
      lock.unlock();
      g->done(total);
    });
  }
}

void control_bridge::status(std::function<void(control::status_snapshot)> done) {
  count_sessions([this, done = std::move(done)](census_total total) {
    control::status_snapshot s;
    const int phase = shared_.phase.load();
    s.current = static_cast<control::phase>(phase);
    s.paused = shared_.paused.load();
    s.sessions = total.sessions;
    s.in_transaction = total.in_transaction;
    const bool has_new = shared_.current.load()->cfg.new_backend.has_value();
    s.backends.push_back(backend_entry(shared_, phase, false, true));
    s.backends.push_back(backend_entry(shared_, phase, true, has_new));
    s.gates.diverged_sessions = shared_.diverged_sessions.load();
    if (total.max_shadow_lag_ms >= 0)
      s.gates.shadow_lag = std::chrono::milliseconds{total.max_shadow_lag_ms};
    s.divergences = shared_.divergences.load();
    put_read_totals(s);
    done(std::move(s));
  });
}

control_bridge::census_total control_bridge::count_sessions_now() {
  std::promise<census_total> promise;
  auto answer = promise.get_future();
  count_sessions([&promise](census_total t) { promise.set_value(t); });
  return answer.get();
}

void control_bridge::move_phase(const control::move_plan& plan,
                                std::chrono::steady_clock::time_point deadline,
                                std::function<void(control::outcome<control::move_report>)> done) {
  if (plan.to != control::phase::passthrough && !shared_.current.load()->cfg.new_backend) {
    done(control::failure{"phase " + control::describe(plan.to) +
                          " needs a NEW backend (backends.new in the configuration)"});
    return;
  }
  if (!plan.flip) {
    // Sessions attach or drop their shadow at their next transaction boundary.
    const auto started = std::chrono::steady_clock::now();
    shared_.phase.store(control::phase_number(plan.to));
    done(control::move_report{std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - started),
                              std::chrono::milliseconds{0}});
    return;
  }
  std::thread{[this, plan, deadline, done = std::move(done)]() mutable {
    run_flip(plan, deadline, std::move(done));
  }}.detach();
}

void control_bridge::run_flip(control::move_plan plan,
                              std::chrono::steady_clock::time_point deadline,
                              std::function<void(control::outcome<control::move_report>)> done) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  const auto drain_for = shared_.current.load()->cfg.flip.drain_timeout;
  const auto give_up = std::min(deadline, started + drain_for);
  const bool was_paused = shared_.paused.exchange(true);
  const auto resume = [&] {
    if (was_paused) return;
    shared_.paused.store(false);
    for (auto& w : workers_) w->wake_paused_sessions();
  };
  // Drain: every session at a boundary, every shadow caught up, so that no write of the old
  // primary is still on its way to the new one when sessions start writing there.
  census_total c = count_sessions_now();
  c.shadow_backlog += shared_.finishing_shadows.load();
  while (c.in_transaction > 0 || c.shadow_backlog > 0) {
    if (clock::now() >= give_up) {
      resume();
      const auto waited =
          std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
      spdlog::warn("flip {} abandoned after {} ms: {} transactions open, {} shadow jobs queued",
                   plan.summary(), waited.count(), c.in_transaction, c.shadow_backlog);
      done(control::failure{fmt::format(
          "flip abandoned after {} ms (flip.drain_timeout_ms): {} transactions still open, {} "
          "statements not yet applied by the shadow; traffic resumed unchanged",
          waited.count(), c.in_transaction, c.shadow_backlog)});
      return;
    }
    // Sessions finish in microseconds to milliseconds; a short poll keeps the stall small
    // without a completion channel from every session.
    std::this_thread::sleep_for(std::chrono::microseconds(500));
    c = count_sessions_now();
    c.shadow_backlog += shared_.finishing_shadows.load();
  }
  shared_.phase.store(control::phase_number(plan.to));
  resume();
  const auto stall = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
  shared_.flips.fetch_add(1);
  shared_.last_flip_stall_ms.store(stall.count());
  spdlog::info("flip {} done: new transactions held {} ms", plan.summary(), stall.count());
  done(control::move_report{stall, was_paused ? std::chrono::milliseconds{0} : stall});
}

void control_bridge::pause(std::function<void(control::outcome<control::pause_report>)> done) {
  const bool changed = !shared_.paused.exchange(true);
  count_sessions([changed, done = std::move(done)](census_total total) {
    done(control::pause_report{changed, total.in_transaction});
  });
}

void control_bridge::resume(std::function<void(control::outcome<bool>)> done) {
  const bool changed = shared_.paused.exchange(false);
  for (auto& w : workers_) w->wake_paused_sessions();
  done(changed);
}

std::vector<control::metric_sample> control_bridge::metrics() const {
  struct counter_def {
    const char* name;
    const char* help;
    worker_stats::counter worker_stats::*field;
  };
  // Every counter the proxy exports, in one list (STYLE.md 32).
  static constexpr counter_def counters[] = {
      {"dwproxy_clients_accepted_total", "Client connections accepted.",
       &worker_stats::clients_accepted},
      {"dwproxy_client_errors_total", "Clients closed with an ErrorResponse.",
       &worker_stats::client_errors},
      {"dwproxy_auth_failures_total", "Client authentications that failed.",
       &worker_stats::auth_failures},
      {"dwproxy_backend_failures_total", "Primary backends unreachable or lost mid-session.",
       &worker_stats::backend_failures},
      {"dwproxy_cancel_requests_total", "CancelRequests received.",
       &worker_stats::cancel_requests},
  };
  std::vector<control::metric_sample> out;
  for (const auto& c : counters) {
    double sum = 0;
    for (const auto& w : workers_) sum += static_cast<double>((w->stats().*c.field).load());
    out.push_back({c.name, c.help, control::metric_type::counter, {}, sum});
  }
  out.push_back({"dwproxy_clients_active", "Client connections open (all states).",
                 control::metric_type::gauge, {},
                 static_cast<double>(shared_.active_clients.load())});
  const auto gauge = [&out](const char* name, const char* help, double value) {
    out.push_back({name, help, control::metric_type::gauge, {}, value});
  };
  const auto counter = [&out](const char* name, const char* help, double value) {
    out.push_back({name, help, control::metric_type::counter, {}, value});
  };
  // Phase, diverged sessions and the divergence total come from the status (control/).
  gauge("dwproxy_shadow_connections", "Shadow backend connections open.",
        static_cast<double>(shared_.shadow_connections.load()));
  counter("dwproxy_shadow_units_total", "Units of work the shadows have run.",
          static_cast<double>(shared_.shadow_jobs.load()));
  counter("dwproxy_wrapped_writes_total",
          "Autocommit writes wrapped in a transaction on both sides (ordered mode).",
          static_cast<double>(shared_.wrapped_writes.load()));
  counter("dwproxy_shadow_rollbacks_total",
          "Wrapped autocommit writes that changed rows only on the shadow (an INSERT of the "
          "row still in flight on the primary), rolled back there and recorded as divergences.",
          static_cast<double>(shared_.shadow_rollbacks.load()));
  counter("dwproxy_read_samples_yielded_total",
          "Sampled reads cancelled on the shadow because a write, a commit or a phase move "
          "waited behind them past shadow_reads.yield_after_ms (also counted as skipped).",
          static_cast<double>(shared_.shadow_read_yields.load()));
  counter("dwproxy_held_commits_total", "COMMITs held until the shadow caught up (ordered mode).",
          static_cast<double>(shared_.held_commits.load()));
  counter("dwproxy_serialization_deadlocks_total",
          "Statements failed with 40P01: their transaction and a serialised write waited for "
          "each other across the proxy's write order (ordered mode).",
          static_cast<double>(shared_.serialization_deadlocks.load()));
  counter("dwproxy_flips_total", "Completed flips of the primary.",
          static_cast<double>(shared_.flips.load()));
  gauge("dwproxy_shadow_stalled",
        "1 while waits for the shadow are cut to shadow.stalled_bound_ms (a shadow ran past "
        "shadow.lag_bound_ms within the last lag_bound_ms), else 0.",
        std::chrono::steady_clock::now().time_since_epoch().count() <
                shared_.shadow_stalled_until.load()
            ? 1.0
            : 0.0);
  gauge("dwproxy_last_flip_stall_ms", "How long the last flip held new transactions.",
        static_cast<double>(shared_.last_flip_stall_ms.load()));
  const compare::sample_totals reads = shared_.read_stats->totals();
  for (const auto& [outcome, n] : {std::pair{"match", reads.matches},
                                   {"mismatch", reads.mismatches},
                                   {"noise", reads.noise}}) {
    out.push_back({"dwproxy_read_samples_total",
                   "Sampled reads compared on the shadow, by outcome (since start or the last "
                   "`dwctl diffs --reset`).",
                   control::metric_type::counter, {{"outcome", outcome}},
                   static_cast<double>(n)});
  }
  counter("dwproxy_read_samples_skipped_total",
          "Reads chosen for sampling but not compared (shadow queue full or shadow absent).",
          static_cast<double>(reads.skipped));
  for (const auto kind : shadow::all_divergence_kinds()) {
    out.push_back({"dwproxy_divergences_by_kind_total",
                   "Divergence-log records, by kind (a reconnect ends a session's gap; every "
                   "other kind is a divergence).",
                   control::metric_type::counter,
                   {{"kind", std::string{shadow::to_string(kind)}}},
                   static_cast<double>(
                       shared_.divergences_by_kind[static_cast<std::size_t>(kind)].load())});
  }
  return out;
}

void control_bridge::acknowledge_divergences(
    std::function<void(control::outcome<std::uint64_t>)> done) {
  const std::uint64_t cleared = shared_.diverged_sessions.exchange(0);
  for (auto& w : workers_) w->acknowledge_divergences([](std::uint64_t) {});
  done(cleared);
}

}  // namespace dw::proxy
