// Where dwctl's data commands connect: OLD and NEW from dwproxy's own configuration file
// (backends.old / backends.new, their credentials and TLS settings), from --old/--new libpq
// URIs, or both (flags win, as for dwproxy). Parsing and validation are config/'s, so a URI
// or a file means exactly what it means to the proxy, and no message quotes a password.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compare/pg_connection.hpp"
#include "compare/verify_checks.hpp"
#include "config/config.hpp"

namespace dw::migrate {

struct connection_flags {
  std::string config_file;             ///< --config FILE
  std::optional<std::string> old_uri;  ///< --old URI
  std::optional<std::string> new_uri;  ///< --new URI
  std::string dbname;                  ///< --dbname: both sides, over what the sources say
  std::string application_name = "dwctl";
};

struct data_endpoints {
  compare::pg_endpoint old_side;
  compare::pg_endpoint new_side;
  std::vector<compare::business_rule> rules;  ///< business_rules from the file
  std::string verify_report;                  ///< gates.verify_report from the file
};

/// Throws config::config_error (every problem, values never quoted) or std::invalid_argument
/// (no NEW backend, no database name).
[[nodiscard]] data_endpoints resolve_endpoints(const connection_flags& flags);

/// libpq parameters for one backend: host, port, dbname, user, password (when set),
/// sslmode, sslrootcert, connect_timeout (whole seconds, at least 2: libpq's minimum).
[[nodiscard]] compare::pg_endpoint to_endpoint(const config::backend& b, std::string label,
                                               const std::string& dbname_override,
                                               const std::string& application_name);

}  // namespace dw::migrate
