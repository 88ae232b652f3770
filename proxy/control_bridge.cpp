#include "proxy/control_bridge.hpp"

#include <atomic>
#include <mutex>

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
    done(std::move(s));
  });
}

void control_bridge::move_phase(const control::move_plan& plan,
                                std::chrono::steady_clock::time_point /*deadline*/,
                                std::function<void(control::outcome<control::move_report>)> done) {
  done(control::failure{"moving to " + control::describe(plan.to) +
                        " needs dual-write (a shadow per session), which this dwproxy build "
                        "does not carry yet; the proxy stays in " +
                        control::describe(plan.from)});
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
  return out;
}

void control_bridge::acknowledge_divergences(
    std::function<void(control::outcome<std::uint64_t>)> done) {
  done(std::uint64_t{0});  // no shadow yet, so nothing can have diverged
}

}  // namespace dw::proxy
