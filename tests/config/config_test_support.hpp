// Helpers for config_tests: a throwaway directory for config, TLS and password files, and
// loading that captures the config_error so tests can look at each problem.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config_loader.hpp"
#include "tests/common/temp_dir.hpp"

namespace dw::config {

/// gtest prints problems the way users see them.
inline void PrintTo(const problem& p, std::ostream* os) { *os << to_string(p); }

namespace testing {

/// The shared temp dir; config tests name files by string path.
class temp_dir : public dw::test::temp_dir {
 public:
  temp_dir() : dw::test::temp_dir{"dwconfig"} {}
  [[nodiscard]] std::string file(const std::string& name) const { return file_path(name).string(); }
};

/// The problems a load reports; fails the test when it succeeds instead.
template <class Load>
std::vector<problem> problems_of(Load&& load) {
  try {
    (void)load();
  } catch (const config_error& e) {
    return e.problems;
  }
  ADD_FAILURE() << "expected a config_error";
  return {};
}

inline std::vector<problem> yaml_problems(const std::string& yaml) {
  return problems_of([&] { return load_yaml_string(yaml, "test.yaml"); });
}

/// The text of the config_error a load throws, "" when it does not throw.
template <class Load>
std::string error_text(Load&& load) {
  try {
    (void)load();
  } catch (const config_error& e) {
    return e.what();
  }
  return {};
}

/// parse_command_line over a list of arguments (argv[0] added).
inline command_line parse_args(std::vector<std::string> args) {
  std::vector<const char*> argv{"dwproxy"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

/// The smallest valid file body: one OLD backend.
inline constexpr const char* minimal_backends = "backends:\n  old: { host: db1, user: app }\n";

}  // namespace testing
}  // namespace dw::config
