// Client-facing users with ready-to-use SCRAM verifiers (derived once from configured
// passwords, since PBKDF2 is deliberately slow) and the login each maps to per backend.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/config.hpp"
#include "protocol/scram.hpp"

namespace dw::proxy {

struct user_entry {
  std::string name;
  std::optional<protocol::scram::verifier> verifier;  ///< nullopt: trusted, no password asked
  config::backend_credentials old_login;
  config::backend_credentials new_login;
};

class auth_table {
 public:
  /// Throws std::runtime_error naming the user when a configured verifier does not parse.
  [[nodiscard]] static auth_table build(const config::config& cfg);
  [[nodiscard]] const user_entry* find(std::string_view name) const;
  [[nodiscard]] std::size_t size() const noexcept { return users_.size(); }

 private:
  std::unordered_map<std::string, user_entry> users_;
};

}  // namespace dw::proxy
