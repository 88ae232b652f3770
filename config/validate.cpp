// Cross-field rules: what no single value can tell. Single values were checked as they were
// read (option_values.cpp); here problems point at the key whose presence makes the
// combination wrong, and warnings collect what works but deserves a line in the log.
#include <string>

#include "config/draft.hpp"
#include "config/listen_address.hpp"

namespace dw::config {
namespace {

void check_backends(draft& d) {
  const config& c = d.cfg;
  if (!d.has("backends.old"))
    d.report("backends.old", "is required: give a backends.old section or --old URI");
  if (c.phase >= 1 && !c.new_backend)
    d.report("phase", "phase " + std::to_string(c.phase) +
                          " needs backends.new: phases 1-4 send writes to the NEW backend");

  for (const backend* b : {&c.old_backend, c.new_backend ? &*c.new_backend : nullptr}) {
    if (b == nullptr) continue;
    const bool verifies = b->tls == tls_mode::verify_ca || b->tls == tls_mode::verify_full;
    if (verifies && b->tls_root_cert.empty())
      d.report("backends." + b->name + ".tls", "verify-ca and verify-full need tls_root_cert");
  }
  // Dual writes into one database would apply every write twice. Only identical spellings
  // are caught: "localhost" and "127.0.0.1" are not resolved here.
  if (c.new_backend && d.has("backends.old") && c.new_backend->host == c.old_backend.host &&
      c.new_backend->port == c.old_backend.port && c.new_backend->dbname == c.old_backend.dbname)
    d.report("backends.new", "is the same database as backends.old (same host, port and dbname)");
}

void check_client_tls(draft& d) {
  const client_tls& t = d.cfg.tls;
  if (!t.cert_file.empty() && t.key_file.empty()) d.report("tls.cert", "tls.cert needs tls.key");
  if (t.cert_file.empty() && !t.key_file.empty()) d.report("tls.key", "tls.key needs tls.cert");
  if (t.required && t.cert_file.empty())
    d.report("tls.required", "tls.required needs tls.cert and tls.key");
}

void check_addresses(draft& d) {
  const auto& listen = d.cfg.listen;
  for (std::size_t j = 0; j < listen.size(); ++j) {
    const auto path = "listen[" + std::to_string(j) + "]";
    for (std::size_t i = 0; i < j; ++i)
      if (listen[i] == listen[j]) {
        d.report(path, "listed twice");
        break;
      }
    if (listen[j].type == listen_address::kind::tcp && to_string(listen[j]) == d.cfg.http_listen)
      d.report("control.http_listen", "is also a client listen address");
  }
}

std::string first_seen(const origin& o) {
  return o.line > 0 ? " (first at line " + std::to_string(o.line) + ")" : "";
}

void check_users(draft& d) {
  const auto& users = d.cfg.users;
  for (std::size_t i = 0; i < users.size(); ++i) {
    const user& u = users[i];
    const auto path = "users[" + std::to_string(i) + "]";
    if (u.name.empty()) continue;  // already reported as required
    for (std::size_t j = 0; j < i; ++j)
      if (users[j].name == u.name) {
        d.report(path + ".name", "duplicate user '" + u.name + "'" +
                                     first_seen(d.where("users[" + std::to_string(j) + "].name")));
        break;
      }
    if (!u.password.empty() && !u.scram_verifier.empty())
      d.report(path + ".scram_verifier", "give password or scram_verifier, not both");
    if (u.password.empty() && u.scram_verifier.empty())
      d.warn(path, "user '" + u.name +
                       "' has no password or scram_verifier: clients log in as it "
                       "without a password (trust)");
    if (u.new_login && !d.cfg.new_backend)
      d.warn(path + ".new", "ignored: backends.new is not configured");
  }
}

void check_rules(draft& d) {
  const auto& rules = d.cfg.business_rules;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].name.empty()) continue;  // already reported as required
    for (std::size_t j = 0; j < i; ++j)
      if (rules[j].name == rules[i].name) {
        d.report("business_rules[" + std::to_string(i) + "].name",
                 "duplicate rule '" + rules[i].name + "'" +
                     first_seen(d.where("business_rules[" + std::to_string(j) + "].name")));
        break;
      }
  }
  if (d.cfg.gates.verify_max_age_minutes > 0 && d.cfg.gates.verify_report.empty())
    d.report("gates.verify_max_age_minutes", "needs gates.verify_report (the report to check)");
}

}  // namespace

void validate(draft& d) {
  check_backends(d);
  check_client_tls(d);
  check_addresses(d);
  check_users(d);
  check_rules(d);
}

}  // namespace dw::config
