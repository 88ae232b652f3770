// What configuration loading reports: every problem found, each with where it came from
// (file:line:column, or "command line" and the flag) and the key it concerns. Messages never
// carry a configured value, only keys and expectations, so no secret can leak through them.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace dw::config {

/// One finding. line/column are 1-based; 0 means "no position" (a flag, a missing key, a file).
struct problem {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;  ///< dotted option path ("limits.max_clients", "users[1].name") or flag
  std::string message;

  friend bool operator==(const problem&, const problem&) = default;
};

/// "file:line:column: key: message"; position and key are left out when unknown.
[[nodiscard]] std::string to_string(const problem& p);

/// The one exception the public loading API throws. what() lists every problem, one per line.
class config_error : public std::runtime_error {
 public:
  explicit config_error(std::vector<problem> all);
  std::vector<problem> problems;
};

}  // namespace dw::config
