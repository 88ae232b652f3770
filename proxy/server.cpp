#include "proxy/server.hpp"

#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "config/problem.hpp"
#include "control/command_service.hpp"
#include "control/control_server.hpp"
#include "control/http_api.hpp"
#include "control/state_file.hpp"
#include "proxy/control_bridge.hpp"
#include "config/reload.hpp"
#include "proxy/cancel_registry.hpp"
#include "proxy/listener.hpp"
#include "proxy/runtime.hpp"
#include "proxy/table_locks.hpp"
#include "proxy/worker.hpp"

namespace dw::proxy {
namespace {

void configure_logging(const config::logging& log) {
  std::shared_ptr<spdlog::logger> logger;
  if (log.file.empty()) {
    logger = spdlog::stderr_color_mt("dwproxy");
  } else {
    logger = spdlog::basic_logger_mt("dwproxy", log.file);
  }
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  logger->set_level(spdlog::level::from_str(log.level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void log_config_warnings(const config::config& cfg) {
  for (const auto& w : cfg.warnings) spdlog::warn("{}", config::to_string(w));
}

compare::read_stats_options read_stats_options_from(const config::config& cfg) {
  compare::read_stats_options o;
  o.max_fingerprints = cfg.shadow_reads.max_fingerprints;
  // The longest window anyone asks about: the 2->3 gate's or the automatic rollback's.
  o.window = std::chrono::seconds{std::max(cfg.gates.read_window_s, cfg.rollback.window_s)};
  return o;
}

std::shared_ptr<shadow::divergence_log> open_divergence_log(
    const config::divergence_log_settings& s) {
  shadow::divergence_log_options o;
  o.path = s.path;
  o.max_bytes = s.max_bytes;
  o.keep_files = s.keep_files;
  o.fsync = s.fsync ? shadow::fsync_policy::every_record : shadow::fsync_policy::none;
  o.redaction = shadow::parse_redaction_mode(s.redaction).value_or(
      shadow::redaction_mode::values_and_literals);
  o.max_field_bytes = s.max_field_bytes;
  spdlog::info("divergence log: {}", s.path);
  return std::make_shared<shadow::divergence_log>(std::move(o));
}

class server {
 public:
  server(config::config cfg, config_loader reload) : reload_{std::move(reload)} {
    // Signals first: once a listener is open a client (or a test) may act on our presence,
    // and a SIGTERM before the handlers exist would kill the process uncleanly.
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.add(SIGHUP);
    log_config_warnings(cfg);
    shared_.cancels = &cancels_;
    shared_.locks = &locks_;
    // The persisted phase wins over the configured one; a corrupt state file stops startup
    // rather than silently falling back to phase 0 in the middle of a migration.
    auto start = control::load_startup_phase(cfg);
    if (!start) throw std::runtime_error(start.error().message);
    shared_.phase.store(static_cast<int>(start->state.current));
    if (start->from_state_file)
      spdlog::info("phase {} from the state file {}", shared_.phase.load(), cfg.state_file);
    unsigned threads = cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < threads; ++i) workers_.push_back(std::make_unique<worker>(i, shared_));
    for (const auto& address : cfg.listen)
      listeners_.push_back(std::make_unique<listener>(control_, address, workers_));
    shutdown_timeout_ = cfg.limits.shutdown_timeout;
    if (cfg.new_backend) shared_.divergence_log = open_divergence_log(cfg.divergence_log);
    shared_.read_stats = std::make_unique<compare::read_stats>(read_stats_options_from(cfg));
    // Both front ends (socket, HTTP) share one command service: one queue for all moves.
    bridge_ = std::make_unique<control_bridge>(shared_, workers_);
    commands_ = std::make_unique<control::command_service>(
        control_, *bridge_, control::service_options_from(cfg), start->state);
    if (!cfg.control_socket.empty())
      control_socket_ = std::make_unique<control::control_server>(
          control_, *commands_, control::socket_options_from(cfg));
    if (!cfg.http_listen.empty()) {
      auto options = control::http_options_from(cfg);
      options.metrics = [bridge = bridge_.get()] { return bridge->metrics(); };
      http_ = std::make_unique<control::http_api>(control_, *commands_, std::move(options));
    }
    shared_.current.store(runtime::build(std::move(cfg)));
  }

  int run() {
    // Before any thread starts: a failure here must leave nothing running.
    if (control_socket_) {
      if (auto started = control_socket_->start(); !started)
        throw std::runtime_error("control socket: " + started.error().message);
      spdlog::info("control socket ready");
    }
    if (http_) {
      if (auto started = http_->start(); !started)
        throw std::runtime_error("HTTP API: " + started.error().message);
      spdlog::info("HTTP API listening on port {}", http_->port());
    }
    for (auto& l : listeners_) l->listen();
    for (auto& w : workers_) w->start_thread();
    for (auto& l : listeners_) l->start();
    wait_for_signal();
    spdlog::info("dwproxy ready: {} worker threads, phase {}", workers_.size(),
                 shared_.phase.load());
    control_.run();
    for (auto& w : workers_) w->join();
    spdlog::info("dwproxy stopped");
    return 0;
  }

 private:
  void wait_for_signal() {
    signals_.async_wait([this](error_code ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        reload();
        wait_for_signal();
        return;
      }
      if (shared_.shutting_down.exchange(true)) {
        spdlog::warn("second shutdown signal: closing all sessions now");
        for (auto& w : workers_) w->close_all();
        finish();
        return;
      }
      begin_shutdown();
      wait_for_signal();
    });
  }

  // Stage 1: stop accepting. Stage 2: idle sessions close now, busy ones at their next
  // transaction boundary. Stage 3: after shutdown_timeout, close whatever is left.
  void begin_shutdown() {
    spdlog::info("shutting down: waiting up to {} ms for sessions to finish",
                 shutdown_timeout_.count());
    for (auto& l : listeners_) l->stop();
    for (auto& w : workers_) w->begin_shutdown();
    shutdown_deadline_ = std::chrono::steady_clock::now() + shutdown_timeout_;
    poll_sessions();
  }

  void poll_sessions() {
    std::size_t open = 0;
    for (auto& w : workers_) open += w->session_count();
    if (open == 0) {
      finish();
      return;
    }
    if (std::chrono::steady_clock::now() >= shutdown_deadline_) {
      spdlog::warn("shutdown timeout: closing {} remaining sessions", open);
      for (auto& w : workers_) w->close_all();
      shutdown_deadline_ = std::chrono::steady_clock::time_point::max();
    }
    poll_timer_.expires_after(std::chrono::milliseconds(20));
    poll_timer_.async_wait([this](error_code ec) {
      if (!ec) poll_sessions();
    });
  }

  void finish() {
    if (control_socket_) control_socket_->stop();
    if (http_) http_->stop();
    if (commands_) commands_->stop();
    signals_.cancel();
    poll_timer_.cancel();
    for (auto& l : listeners_) l->stop();
    control_.stop();
  }

  void reload() {
    if (!reload_) {
      spdlog::info("SIGHUP: started without a config file, nothing to reload");
      return;
    }
    try {
      config::config fresh = reload_();
      auto current = shared_.current.load();
      const config::reload_plan plan = config::plan_reload(current->cfg, fresh);
      if (plan.empty()) {
        spdlog::info("SIGHUP: configuration unchanged");
        return;
      }
      log_config_warnings(fresh);
      if (fresh.log.level != current->cfg.log.level)
        spdlog::default_logger()->set_level(spdlog::level::from_str(fresh.log.level));
      // Running sessions keep their snapshot; new sessions see the new users, limits, TLS
      // files and backends. Listeners and threads are bound at startup.
      shared_.current.store(runtime::build(std::move(fresh)));
      if (!plan.applied.empty()) spdlog::info("configuration reloaded: {}", fmt::join(plan.applied, ", "));
      if (!plan.needs_restart.empty())
        spdlog::warn("changed but only applied after a restart: {}", fmt::join(plan.needs_restart, ", "));
    } catch (const std::exception& e) {
      spdlog::error("reload failed, keeping the running configuration: {}", e.what());
    }
  }

  config_loader reload_;
  shared_state shared_;
  cancel_registry cancels_;
  table_locks locks_;
  asio::io_context control_{1};
  asio::signal_set signals_{control_};
  asio::steady_timer poll_timer_{control_};
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<std::unique_ptr<listener>> listeners_;
  std::unique_ptr<control_bridge> bridge_;
  std::unique_ptr<control::command_service> commands_;
  std::unique_ptr<control::control_server> control_socket_;
  std::unique_ptr<control::http_api> http_;
  std::chrono::milliseconds shutdown_timeout_{};
  std::chrono::steady_clock::time_point shutdown_deadline_{};
};

}  // namespace

int run_server(config::config cfg, config_loader reload) {
  configure_logging(cfg.log);
  std::unique_ptr<server> s;
  try {
    s = std::make_unique<server>(std::move(cfg), std::move(reload));
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  try {
    return s->run();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}

}  // namespace dw::proxy
