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

namespace dw::config {

/// gtest prints problems the way users see them.
inline void PrintTo(const problem& p, std::ostream* os) { *os << to_string(p); }

namespace testing {

/// A mkdtemp directory, removed with everything in it when the test ends.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dwconfig-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error{"mkdtemp failed"};
    path_ = tmpl;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

  /// Writes `content` to `name` inside the directory and returns the full path.
  std::string write(const std::string& name, const std::string& content) const {
    const auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream{p, std::ios::binary} << content;
    return p.string();
  }

 private:
  std::filesystem::path path_;
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
