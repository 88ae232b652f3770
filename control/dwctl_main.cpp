// dwctl: the operator CLI over dwproxy's control socket. Everything lives in control/cli.cpp;
// this file turns argv into views and maps escaped exceptions to a failure status.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string_view>
#include <vector>

#include "control/cli.hpp"

int main(int argc, char** argv) {
  try {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    return dw::control::run_dwctl(args, std::getenv("DWCTL_SOCKET"), std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "dwctl: " << e.what() << '\n';
    return dw::control::exit_failed;
  }
}
