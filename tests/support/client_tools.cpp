#include "tests/support/client_tools.hpp"

#include <regex>

namespace dw::test {

command_result run_psql(const env_overrides& env, const std::vector<std::string>& args,
                        const std::string& stdin_data, std::chrono::milliseconds timeout) {
  std::vector<std::string> all{"-X", "-At", "-v", "ON_ERROR_STOP=1"};
  all.insert(all.end(), args.begin(), args.end());
  return run_command("psql", all, {.env = env, .stdin_data = stdin_data, .timeout = timeout});
}

command_result run_pgbench(const env_overrides& env, const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout) {
  return run_command("pgbench", args, {.env = env, .stdin_data = {}, .timeout = timeout});
}

pgbench_summary parse_pgbench(const std::string& text) {
  pgbench_summary s;
  std::smatch m;
  // "N/M" with -t (M planned), plain "N" with -T (a duration plans no count).
  static const std::regex processed{R"(number of transactions actually processed: (\d+)(?:/(\d+))?)"};
  static const std::regex failed{R"(number of failed transactions: (\d+))"};
  if (std::regex_search(text, m, processed)) {
    s.processed = std::stol(m[1].str());
    if (m[2].matched) s.planned = std::stol(m[2].str());
  }
  if (std::regex_search(text, m, failed)) s.failed = std::stol(m[1].str());
  return s;
}

env_overrides direct_env(const pg_cluster& cluster) {
  return {{"PGHOST", "127.0.0.1"}, {"PGPORT", std::to_string(cluster.port())},
          {"PGUSER", "postgres"},  {"PGPASSWORD", "postgres"},
          {"PGDATABASE", "app"},   {"PGSSLMODE", "disable"}, {"PGCONNECT_TIMEOUT", "10"}};
}

}  // namespace dw::test
