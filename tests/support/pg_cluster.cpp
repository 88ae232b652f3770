#include "tests/support/pg_cluster.hpp"

#include <iostream>
#include <stdexcept>

#include "tests/support/net.hpp"
#include "tests/support/run_command.hpp"

namespace dw::test {

std::string pgcluster_script() { return std::string(DW_SOURCE_DIR) + "/scripts/pgcluster.sh"; }

pg_cluster::pg_cluster(std::filesystem::path dir, std::vector<std::string> settings)
    : dir_{std::move(dir)}, port_{free_port()} {
  std::vector<std::string> args{"create", dir_.string(), std::to_string(port_)};
  for (auto& s : settings) {
    args.emplace_back("-c");
    args.push_back(std::move(s));
  }
  run_script(args);
}

pg_cluster::~pg_cluster() {
  // Never throw from here: this also runs while a failed test unwinds.
  const auto r = run_command(pgcluster_script(),
                             keep_ ? std::vector<std::string>{"stop", dir_.string(), "immediate"}
                                   : std::vector<std::string>{"destroy", dir_.string()},
                             {.env = {}, .stdin_data = {}, .timeout = std::chrono::seconds{60}});
  if (!r.ok() && running_) std::cerr << "pg_cluster: cleanup of " << dir_ << " failed: " << r.describe();
}

void pg_cluster::run_script(const std::vector<std::string>& args) const {
  const auto r = run_command(pgcluster_script(), args,
                             {.env = {}, .stdin_data = {}, .timeout = std::chrono::seconds{120}});
  if (!r.ok()) throw std::runtime_error("pgcluster.sh " + args.front() + " " + dir_.string() +
                                        " failed: " + r.describe());
}

void pg_cluster::start() {
  run_script({"start", dir_.string()});
  running_ = true;
}

void pg_cluster::stop(std::string_view mode) {
  run_script({"stop", dir_.string(), std::string(mode)});
  running_ = false;
}

std::string pg_cluster::conninfo(std::string_view user, std::string_view password,
                                 std::string_view dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + std::string(user) +
         " password=" + std::string(password) + " dbname=" + std::string(dbname) +
         " sslmode=disable connect_timeout=10";
}

std::string pg_cluster::uri(std::string_view user, std::string_view password,
                            std::string_view dbname) const {
  return "postgresql://" + std::string(user) + ":" + std::string(password) + "@127.0.0.1:" +
         std::to_string(port_) + "/" + std::string(dbname);
}

std::string pg_cluster::admin_conninfo(std::string_view dbname) const {
  return "host=" + dir_.string() + " port=" + std::to_string(port_) +
         " user=postgres dbname=" + std::string(dbname) + " connect_timeout=10";
}

}  // namespace dw::test
