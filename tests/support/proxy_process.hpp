// The dwproxy binary under test as a child process: started with the quick-start CLI, its
// stdout+stderr in <work_dir>/proxy.log, ready once its port accepts TCP. With DW_IT_DIRECT=1
// no proxy is started and the "proxy" is the OLD server itself (or a stand-in cluster with
// equivalent settings), which validates the tests against PostgreSQL.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/pg_cluster.hpp"
#include "tests/support/run_command.hpp"

namespace dw::test {

struct proxy_options {
  std::string old_uri;                 ///< postgresql://USER:PW@127.0.0.1:PORT/DB
  std::optional<std::string> new_uri;
  std::optional<int> phase;
  int threads = 2;
  std::string log_level = "debug";
  std::filesystem::path tls_cert;      ///< both empty: no --tls-* flags
  std::filesystem::path tls_key;
  std::optional<int> max_clients;
  std::string config_yaml;             ///< non-empty: written to a file passed as --config
  std::vector<std::string> extra_args;
  /// DW_IT_DIRECT only: "name=value" settings that make a stand-in PostgreSQL cluster behave
  /// like this proxy configuration (e.g. authentication_timeout for a startup timeout). A
  /// stand-in is also made when TLS is asked for.
  std::vector<std::string> direct_settings;
};

/// The parts of a postgresql:// URI the harness itself writes.
struct pg_uri {
  std::string user, password, host, dbname;
  std::uint16_t port = 0;
};
[[nodiscard]] pg_uri parse_pg_uri(const std::string& uri);

class proxy_process {
 public:
  /// Starts dwproxy (or prepares direct mode) in a fresh work dir; throws with the proxy's
  /// log when it exits or does not listen within the deadline.
  explicit proxy_process(proxy_options options);
  ~proxy_process();
  proxy_process(const proxy_process&) = delete;
  proxy_process& operator=(const proxy_process&) = delete;

  [[nodiscard]] const std::string& host() const noexcept { return host_; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const std::filesystem::path& work_dir() const noexcept { return work_dir_; }
  /// The quick-start login (OLD URI's user and password) through the proxy.
  [[nodiscard]] const pg_uri& login() const noexcept { return login_; }

  /// libpq conninfo for the quick-start login; `extra` ("sslmode=require ...") is appended
  /// and wins over the defaults (sslmode=disable, connect_timeout=10).
  [[nodiscard]] std::string conninfo(const std::string& extra = "") const;
  /// PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE for psql and pgbench.
  [[nodiscard]] env_overrides client_env() const;

  /// True while the child runs (always true in direct mode).
  [[nodiscard]] bool alive();
  /// Exit description once the child ended ("running" otherwise).
  [[nodiscard]] std::string exit_description() const;
  /// SIGTERM, then waits up to `deadline`; SIGKILL after that. True when it exited in time.
  bool stop(std::chrono::milliseconds deadline = std::chrono::seconds{10});
  void kill();
  /// Sends `signo` (SIGHUP, SIGTERM, ...) without waiting for any effect.
  void send_signal(int signo);
  /// Raw exit status from waitpid (valid after stop/kill or when alive() turned false).
  [[nodiscard]] std::optional<int> wait_status() const noexcept { return wait_status_; }

  [[nodiscard]] std::string log_text() const;
  [[nodiscard]] std::string log_tail(std::size_t lines = 40) const;
  [[nodiscard]] bool direct() const noexcept { return pid_ <= 0; }

  /// Every proxy currently alive in this process, for failure reports.
  [[nodiscard]] static std::vector<proxy_process*> live_instances();

 private:
  void spawn(const proxy_options& options);
  void start_stand_in(const proxy_options& options);
  [[nodiscard]] std::vector<std::string> arguments(const proxy_options& options) const;
  void wait_listening();
  bool reap(bool block);

  std::filesystem::path work_dir_;
  pg_uri login_;
  std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::optional<int> wait_status_;
  std::unique_ptr<pg_cluster> stand_in_;
};

}  // namespace dw::test
