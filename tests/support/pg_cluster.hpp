// RAII handle on a throwaway PostgreSQL 15 cluster made by scripts/pgcluster.sh: created on
// a free port in the given directory, destroyed (stopped immediately, files removed) with the
// object. Roles from the script's template: postgres/postgres (SCRAM), md5user, plainuser,
// scramuser with password "secret-<name>", and a database `app`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace dw::test {

class pg_cluster {
 public:
  /// Creates (does not start) a cluster in `dir`, which must not exist or be empty.
  /// `settings` are extra "name=value" server settings.
  explicit pg_cluster(std::filesystem::path dir, std::vector<std::string> settings = {});
  ~pg_cluster();
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  void start();
  /// mode: smart, fast or immediate.
  void stop(std::string_view mode = "fast");
  /// Leaves the files on disk (DW_IT_KEEP); the destructor then only stops the server.
  void keep_files() noexcept { keep_ = true; }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
  [[nodiscard]] bool running() const noexcept { return running_; }

  /// libpq key/value conninfo over TCP 127.0.0.1 (password auth per pg_hba.conf).
  [[nodiscard]] std::string conninfo(std::string_view user = "postgres",
                                     std::string_view password = "postgres",
                                     std::string_view dbname = "app") const;
  /// postgresql://user:password@127.0.0.1:port/dbname
  [[nodiscard]] std::string uri(std::string_view user = "postgres",
                                std::string_view password = "postgres",
                                std::string_view dbname = "app") const;
  /// Superuser over the Unix socket (trust): for the tests' own checks on the backend.
  [[nodiscard]] std::string admin_conninfo(std::string_view dbname = "app") const;

 private:
  void run_script(const std::vector<std::string>& args) const;

  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  bool running_ = false;
  bool keep_ = false;
};

/// Path of scripts/pgcluster.sh in the source tree.
[[nodiscard]] std::string pgcluster_script();

}  // namespace dw::test
