// The dwproxy process: worker threads, listeners, signals, staged shutdown and reload.
// main() builds the first config and hands over; everything after that happens here.
#pragma once

#include <functional>

#include "config/config.hpp"

namespace dw::proxy {

/// Re-reads the configuration for SIGHUP; throws (config_error or std::exception) on errors.
using config_loader = std::function<config::config()>;

/// Runs until SIGTERM/SIGINT and the shutdown that follows. Returns the process exit code.
[[nodiscard]] int run_server(config::config cfg, config_loader reload);

}  // namespace dw::proxy
