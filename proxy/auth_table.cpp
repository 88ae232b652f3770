#include "proxy/auth_table.hpp"

#include <stdexcept>

namespace dw::proxy {

auth_table auth_table::build(const config::config& cfg) {
  auth_table table;
  const config::backend_credentials no_backend{};
  for (const auto& u : cfg.users) {
    user_entry e;
    e.name = u.name;
    if (!u.scram_verifier.empty()) {
      auto v = protocol::scram::parse_verifier(u.scram_verifier.reveal());
      // The verifier itself is a secret: name the user, never echo the value.
      if (!v) throw std::runtime_error("user '" + u.name + "': scram_verifier does not parse");
      e.verifier = std::move(*v);
    } else if (!u.password.empty()) {
      e.verifier = protocol::scram::make_verifier(u.password.reveal());
    }
    e.old_login = u.old_login.value_or(cfg.old_backend.credentials);
    e.new_login = u.new_login.value_or(cfg.new_backend ? cfg.new_backend->credentials : no_backend);
    table.users_.emplace(u.name, std::move(e));
  }
  return table;
}

const user_entry* auth_table::find(std::string_view name) const {
  auto it = users_.find(std::string{name});
  return it == users_.end() ? nullptr : &it->second;
}

}  // namespace dw::proxy
