// psql and pgbench pointed at a proxy (or any server) through libpq environment variables,
// so the real command-line clients exercise the proxy exactly as users run them.
#pragma once

#include <string>
#include <vector>

#include "tests/support/proxy_process.hpp"
#include "tests/support/run_command.hpp"

namespace dw::test {

/// psql -X -At -v ON_ERROR_STOP=1 <args> against `env` (from proxy_process::client_env).
[[nodiscard]] command_result run_psql(const env_overrides& env, const std::vector<std::string>& args,
                                      const std::string& stdin_data = "",
                                      std::chrono::milliseconds timeout = std::chrono::seconds{60});

/// pgbench <args> against `env`.
[[nodiscard]] command_result run_pgbench(const env_overrides& env, const std::vector<std::string>& args,
                                         std::chrono::milliseconds timeout = std::chrono::seconds{120});

/// The numbers pgbench prints after a run; -1 where a line is missing.
struct pgbench_summary {
  long processed = -1;  ///< "number of transactions actually processed: N/M" (or "N" with -T) -> N
  long planned = -1;    ///< -> M (-1 with -T)
  long failed = -1;     ///< "number of failed transactions: N" (pgbench 15)
};
[[nodiscard]] pgbench_summary parse_pgbench(const std::string& stdout_text);

/// Environment for a direct superuser connection to a cluster over TCP.
[[nodiscard]] env_overrides direct_env(const pg_cluster& cluster);

}  // namespace dw::test
