// Support for the dual-write integration tests: a database per test on both clusters
// (optionally holding identical pgbench tables), a dwproxy configured with OLD and NEW, a
// control socket, a state file and a divergence log in its own directory, dwctl calls with
// the status JSON decoded, and libpq queries awaited with a deadline so a hanging proxy
// fails the test instead of blocking it.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/integration_env.hpp"
#include "tests/support/proxy_process.hpp"
#include "tests/support/run_command.hpp"

/// Skips a test that needs a proxy with OLD and NEW when DW_IT_DIRECT runs the suite
/// against PostgreSQL itself.
#define DW_SKIP_WITHOUT_PROXY() \
  if (direct_mode()) GTEST_SKIP() << "needs dwproxy with OLD and NEW (not DW_IT_DIRECT)"

namespace dw::test {

/// Whole seconds from environment variable `name` (a positive integer), else `fallback`.
[[nodiscard]] std::chrono::seconds env_seconds(const char* name, std::chrono::seconds fallback);

/// PGHOST... for psql/pgbench straight at `cluster` as postgres, in database `dbname`.
[[nodiscard]] env_overrides direct_env(const pg_cluster& cluster, const std::string& dbname);

/// Drops `name` (terminating its sessions) and creates it again, empty or as a copy of
/// `template_db`, on `cluster`.
void recreate_database(const pg_cluster& cluster, const std::string& name,
                       const std::string& template_db = "");

/// The same fresh database on OLD and NEW, holding `pgbench -i -s 1` tables (identical on
/// both sides: pgbench's initial data is deterministic). The pgbench data is generated once
/// per run and cluster into a template database and copied from there.
void create_pgbench_databases(const std::string& name);

/// The four pgbench tables.
[[nodiscard]] const std::vector<std::string>& pgbench_tables();

/// The same fresh, empty database on OLD and NEW, with `schema_sql` run on each.
void create_databases(const std::string& name, const std::string& schema_sql = "");

/// What `dwctl --json status` says, decoded; `json` is the whole answer for messages.
struct dwctl_status {
  int phase = -1;
  std::uint64_t sessions = 0;
  std::uint64_t divergences = 0;
  std::uint64_t diverged_sessions = 0;
  std::string json;
};
/// Decodes a status answer; throws std::runtime_error naming what is missing.
[[nodiscard]] dwctl_status parse_dwctl_status(const std::string& json);
/// No divergence recorded and no session diverged; the failure shows the status JSON.
[[nodiscard]] ::testing::AssertionResult no_divergence(const dwctl_status& st);

/// One query shape of `dwctl --json diffs`, decoded.
struct diff_counts {
  std::string fingerprint;  ///< 16 hex digits; empty: not found
  std::string statement;
  std::uint64_t samples = 0;
  std::uint64_t matches = 0;
  std::uint64_t mismatches = 0;
  std::uint64_t noise = 0;
  std::uint64_t skipped = 0;
};
/// Decodes the `worst` list of a diffs answer; throws std::runtime_error naming what is missing.
[[nodiscard]] std::vector<diff_counts> parse_dwctl_diffs(const std::string& json);

struct dual_write_options {
  std::string dbname;               ///< on both clusters; also what clients ask for
  int phase = 1;                    ///< `phase:` in the configuration file
  std::optional<int> lag_bound_ms;  ///< shadow.lag_bound_ms when set
  int reconnect_min_ms = 50;        ///< shadow.reconnect_min_ms
  int reconnect_max_ms = 500;       ///< shadow.reconnect_max_ms
  std::string redaction;            ///< divergence_log.redaction when set
  std::string extra_yaml;           ///< appended to the generated file (other top-level keys)
  std::string log_level = "info";
  int threads = 2;
};

/// dwproxy in front of OLD (primary up to phase 2) with NEW configured, driven by dwctl over
/// its control socket. The configuration file, state file, control socket and divergence log
/// live in dir() and survive restart(), as they would for an operator restarting the proxy.
class dual_write_proxy {
 public:
  explicit dual_write_proxy(dual_write_options options);

  [[nodiscard]] proxy_process& proxy() { return *proxy_; }
  [[nodiscard]] std::string conninfo(const std::string& extra = "") const {
    return proxy_->conninfo(extra);
  }
  [[nodiscard]] env_overrides client_env() const { return proxy_->client_env(); }
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
  [[nodiscard]] std::filesystem::path control_socket() const { return dir_ / "control.sock"; }
  [[nodiscard]] std::filesystem::path state_file() const { return dir_ / "state.json"; }
  [[nodiscard]] std::filesystem::path divergence_log() const { return dir_ / "divergences.jsonl"; }

  /// Stops the proxy with SIGTERM and starts it again with the same configuration.
  /// Call from the test's main thread (see proxy_process).
  void restart();

  /// dwctl --socket <control socket> --timeout <timeout> <args...>
  [[nodiscard]] command_result dwctl(const std::vector<std::string>& args,
                                     std::chrono::seconds timeout = std::chrono::seconds{60}) const;
  /// dwctl --json status, decoded; throws with dwctl's output when it fails.
  [[nodiscard]] dwctl_status status() const;
  /// dwctl --json diffs --limit 100, decoded.
  [[nodiscard]] std::vector<diff_counts> diffs() const;

 private:
  void start();

  dual_write_options options_;
  std::filesystem::path dir_;
  std::unique_ptr<proxy_process> proxy_;
};

/// How a query awaited with a deadline ended.
struct timed_outcome {
  bool finished = false;  ///< false: the deadline passed with the query still running
  bool ok = false;        ///< every result was tuples or command-ok
  std::string value;      ///< first column of the first row, when there was one
  std::string sqlstate;   ///< of the first error ("" for none, or for libpq's own errors)
  std::string message;    ///< of the first error, or libpq's message
  std::chrono::milliseconds took{0};
};

/// PQsendQuery; throws when it cannot even be sent.
void send_query(PGconn* conn, const std::string& sql);
/// Collects the results of the query sent last, giving up at `deadline`.
[[nodiscard]] timed_outcome await_query(PGconn* conn, std::chrono::milliseconds deadline);
/// send_query + await_query.
[[nodiscard]] timed_outcome timed_query(PGconn* conn, const std::string& sql,
                                        std::chrono::milliseconds deadline);

/// Polls `sql` (one integer) on `conninfo` until it reaches `at_least`; reconnects per poll
/// so a restarting server is tolerated. Returns the last value seen (-1: no answer).
long wait_for_count(const std::string& conninfo, const std::string& sql, long at_least,
                    std::chrono::milliseconds deadline);

/// Starts `cluster` again when a test that stopped it ends, however it ends.
class restart_on_exit {
 public:
  explicit restart_on_exit(pg_cluster& cluster) : cluster_{cluster} {}
  ~restart_on_exit();
  restart_on_exit(const restart_on_exit&) = delete;
  restart_on_exit& operator=(const restart_on_exit&) = delete;

 private:
  pg_cluster& cluster_;
};

}  // namespace dw::test
