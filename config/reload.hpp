// What a reload would change: the options whose values differ between the running config and
// a freshly loaded one, split by the option table's reloadable flag. The proxy applies the
// first list and logs the second as "restart to apply".
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace dw::config {

struct reload_plan {
  std::vector<std::string> applied;        ///< changed and reloadable: take effect now
  std::vector<std::string> needs_restart;  ///< changed but bound at startup (sockets, threads, ...)

  [[nodiscard]] bool empty() const noexcept { return applied.empty() && needs_restart.empty(); }
};

/// Option paths in table order: "limits.max_clients", "backends.old.port", "backends.new",
/// "users" (the whole user list is one reloadable unit). Never includes values.
[[nodiscard]] reload_plan plan_reload(const config& running, const config& fresh);

}  // namespace dw::config
