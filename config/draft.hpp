// A config under construction (internal to dw_config): the values read so far, where each was
// set (file position or flag), and the problems found. Readers fill it; validate() checks it;
// finish() freezes it into a config or throws config_error with every problem.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/problem.hpp"

namespace dw::config {

/// Where a value came from. For YAML, key is the option path; for flags, the flag ("--old").
struct origin {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;
};

class draft {
 public:
  /// Starts from the option table's defaults.
  explicit draft(std::string source);

  config cfg;
  std::vector<problem> problems;

  /// Records where `path` ("limits.max_clients", "users[2].name", "backends.old") was set.
  void set_origin(const std::string& path, origin o);
  /// Drops what was recorded for `path` and everything under it, when a flag replaces it.
  void forget(std::string_view path);
  [[nodiscard]] bool has(std::string_view path) const;
  /// Where `path` was set, else where its nearest set parent was (keyed by `path` unless that
  /// parent came from a flag), else the source with no position.
  [[nodiscard]] origin where(std::string_view path) const;

  void report(const origin& at, std::string message);
  void report(std::string_view path, std::string message) {
    report(where(path), std::move(message));
  }
  void warn(std::string_view path, std::string message);

 private:
  std::map<std::string, origin, std::less<>> origins_;
};

/// Cross-field checks and derived values, then the frozen config or config_error.
[[nodiscard]] config finish(draft d);

/// The problems found by cross-field rules (validate.cpp).
void validate(draft& d);

}  // namespace dw::config
