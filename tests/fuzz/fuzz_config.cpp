// libFuzzer target for configuration loading: YAML text through yaml-cpp and every check
// config/ makes (keys, types, addresses, URIs, users, limits). Bad input must come back as
// config_error naming its problems, never as a crash or another exception.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "config/config_loader.hpp"
#include "config/problem.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Paths in the input are opened (password files, TLS files); none may wait on a terminal.
  (void)std::freopen("/dev/null", "r", stdin);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml{reinterpret_cast<const char*>(data), size};
  try {
    (void)dw::config::load_yaml_string(yaml, "fuzz.yaml");
  } catch (const dw::config::config_error&) {
  }
  return 0;
}
