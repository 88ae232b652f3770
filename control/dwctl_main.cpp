// dwctl: the operator CLI. The data commands (verify, backfill, repair) talk to OLD and NEW
// over libpq and live in migrate/; everything else talks to dwproxy's control socket and lives
// in control/cli.cpp. This file only picks one, turns argv into views and maps escaped
// exceptions to a failure status.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string_view>
#include <vector>

#include "control/cli.hpp"
#include "migrate/data_cli.hpp"

int main(int argc, char** argv) {
  try {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    if (dw::migrate::is_data_command(args))
      return dw::migrate::run_data_command(args, std::cout, std::cerr);
    return dw::control::run_dwctl(args, std::getenv("DWCTL_SOCKET"), std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "dwctl: " << e.what() << '\n';
    return dw::control::exit_failed;
  }
}
