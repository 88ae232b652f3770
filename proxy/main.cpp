// dwproxy: parse the command line, load and validate the configuration, run the server.
// Exit codes: 0 clean shutdown or valid config, 1 startup failure, 2 configuration errors.
#include <cstdio>
#include <exception>
#include <string>

#include "config/config_loader.hpp"
#include "config/problem.hpp"
#include "config/reference.hpp"
#include "proxy/server.hpp"

#ifndef DW_VERSION
#define DW_VERSION "0.1.0"
#endif

int main(int argc, char** argv) {
  using namespace dw;
  try {
    const config::command_line cl = config::parse_command_line(argc, argv);
    if (cl.help) {
      std::fputs(config::help_text().c_str(), stdout);
      return 0;
    }
    if (cl.version) {
      std::puts("dwproxy " DW_VERSION);
      return 0;
    }
    if (cl.print_reference) {
      std::fputs(config::render_reference_markdown().c_str(), stdout);
      return 0;
    }
    config::config cfg = config::build(cl);
    if (cl.check_only) {
      for (const auto& w : cfg.warnings) std::fprintf(stderr, "warning: %s\n", config::to_string(w).c_str());
      std::printf("%s: configuration is valid\n", cfg.source.c_str());
      return 0;
    }
    // SIGHUP re-reads the same sources: the file and the flags that override it.
    proxy::config_loader reload;
    if (!cl.config_file.empty()) reload = [cl] { return config::build(cl); };
    return proxy::run_server(std::move(cfg), std::move(reload));
  } catch (const config::config_error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dwproxy: %s\n", e.what());
    return 1;
  }
}
