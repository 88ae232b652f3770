// The integration run's shared state, set up once per binary run by a gtest Environment:
// a temp root under /tmp, the OLD cluster (clients' primary) and the NEW cluster (idle until
// later issues use it), and a default quick-start proxy in front of OLD. Everything is torn
// down at the end; a watchdog child cleans up even when the test binary crashes.
//
// DW_IT_DIRECT=1  point every "proxy" at PostgreSQL itself (validates the tests)
// DW_IT_KEEP=1    keep the temp root (logs, data) for debugging; servers are still stopped
#pragma once

#include <filesystem>
#include <string_view>

#include "tests/support/pg_cluster.hpp"
#include "tests/support/proxy_process.hpp"

namespace dw::test {

[[nodiscard]] bool direct_mode();
[[nodiscard]] bool keep_files();

/// A new, empty directory under the run's temp root, named <prefix>-<n>.
[[nodiscard]] std::filesystem::path make_work_dir(std::string_view prefix);

[[nodiscard]] pg_cluster& old_cluster();
[[nodiscard]] pg_cluster& new_cluster();

/// A quick-start proxy in front of OLD as postgres/postgres, started on first use and
/// stopped at the end of the run. Tests that need other flags start their own.
[[nodiscard]] proxy_process& default_proxy();

/// Quick-start options for a proxy in front of `backend`, logging in as user/password.
[[nodiscard]] proxy_options quick_start(const pg_cluster& backend, std::string_view user = "postgres",
                                        std::string_view password = "postgres",
                                        std::string_view dbname = "app");

}  // namespace dw::test
