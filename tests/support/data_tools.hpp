// Support for the verify / backfill / repair integration tests: dwctl's data commands run
// against the run's OLD and NEW clusters (straight, not through a proxy), and what their JSON
// answers and backfill's checkpoint file say, without the tests parsing JSON themselves.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/libpq_session.hpp"
#include "tests/support/run_command.hpp"

namespace dw::test {

/// Superuser connections straight to database `db` on OLD and on NEW, for a test's own
/// setup and checks.
struct admin_sides {
  explicit admin_sides(const std::string& db);
  pg_conn old_conn;
  pg_conn new_conn;
};

/// --old URI --new URI for database `db` on the run's clusters, as postgres.
[[nodiscard]] std::vector<std::string> backend_flags(const std::string& db);

/// dwctl COMMAND ARGS... --old ... --new ... (backend_flags appended).
[[nodiscard]] command_result run_data_command(const std::string& db,
                                              const std::vector<std::string>& args,
                                              const command_options& options = {},
                                              const std::function<void(pid_t)>& on_start = {});

/// The value at `path` in a JSON document ("summary.rows_different", "tables.0.rows"), as
/// text: strings unquoted, numbers and booleans as written, anything else serialized. Throws
/// std::runtime_error naming the path when it is not there.
[[nodiscard]] std::string json_at(const std::string& json, std::string_view path);

/// Every row a verify or repair JSON answer lists, as "table kind key": "public.t
/// missing_on_new id=7" (verify) or "public.t insert a=1,b=x" (repair); key parts in key order.
[[nodiscard]] std::set<std::string> listed_rows(const std::string& json);

/// Rows recorded in backfill's checkpoint over all tables; 0 while the file is absent or
/// being replaced.
[[nodiscard]] std::uint64_t checkpoint_rows(const std::filesystem::path& file);

/// The number of JSON lines in a file (repair's change log), and the lines themselves.
[[nodiscard]] std::vector<std::string> read_lines(const std::filesystem::path& file);

}  // namespace dw::test
