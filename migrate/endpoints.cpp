#include "migrate/endpoints.hpp"

#include <fmt/format.h>

#include <array>
#include <stdexcept>

#include "config/command_line.hpp"
#include "config/config_loader.hpp"

namespace dw::migrate {
namespace {

constexpr std::array<std::string_view, 5> sslmodes{"disable", "prefer", "require", "verify-ca",
                                                   "verify-full"};

/// dwproxy's own flag parser reads --config/--old/--new, so URIs are checked and redacted
/// exactly as the proxy does it.
config::config load(const connection_flags& flags) {
  std::vector<std::string> args{"dwctl"};
  if (!flags.config_file.empty()) args.insert(args.end(), {"--config", flags.config_file});
  if (flags.old_uri) args.insert(args.end(), {"--old", *flags.old_uri});
  if (flags.new_uri) args.insert(args.end(), {"--new", *flags.new_uri});
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return config::build(config::parse_command_line(static_cast<int>(argv.size()), argv.data()));
}

}  // namespace

compare::pg_endpoint to_endpoint(const config::backend& b, std::string label,
                                 const std::string& dbname_override,
                                 const std::string& application_name) {
  const std::string dbname = dbname_override.empty() ? b.dbname : dbname_override;
  if (dbname.empty())
    throw std::invalid_argument{"backends." + b.name +
                                ".dbname is empty (the proxy passes the client's database "
                                "through); give --dbname NAME"};
  compare::pg_endpoint e;
  e.label = std::move(label);
  e.description = fmt::format("{}:{}/{} as {}", b.host, b.port, dbname, b.credentials.user);
  const auto seconds = std::max<long long>(2, (b.connect_timeout.count() + 999) / 1000);
  e.params = {{"host", b.host},
              {"port", std::to_string(b.port)},
              {"dbname", dbname},
              {"user", b.credentials.user},
              {"sslmode", std::string{sslmodes.at(static_cast<std::size_t>(b.tls))}},
              {"connect_timeout", std::to_string(seconds)},
              {"application_name", application_name}};
  if (!b.credentials.password.empty())
    e.params.emplace_back("password", std::string{b.credentials.password.reveal()});
  if (!b.tls_root_cert.empty()) e.params.emplace_back("sslrootcert", b.tls_root_cert);
  return e;
}

data_endpoints resolve_endpoints(const connection_flags& flags) {
  if (flags.config_file.empty() && (!flags.old_uri || !flags.new_uri))
    throw std::invalid_argument{"give --config FILE, or --old URI and --new URI"};
  const config::config cfg = load(flags);
  if (!cfg.new_backend)
    throw std::invalid_argument{"no NEW backend: give backends.new in the file, or --new URI"};
  data_endpoints out;
  out.old_side = to_endpoint(cfg.old_backend, "OLD", flags.dbname, flags.application_name);
  out.new_side = to_endpoint(*cfg.new_backend, "NEW", flags.dbname, flags.application_name);
  for (const auto& r : cfg.business_rules) out.rules.push_back({r.name, r.sql});
  out.verify_report = cfg.gates.verify_report;
  return out;
}

}  // namespace dw::migrate
