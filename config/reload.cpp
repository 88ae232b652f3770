// Reload planning compares field by field through the option table, so a new option is
// covered the moment it is declared. Secrets are compared but never copied into the plan.
#include "config/reload.hpp"

#include "config/options.hpp"

namespace dw::config {
namespace {

void note(reload_plan& plan, const option& o, std::string path) {
  (o.reloadable ? plan.applied : plan.needs_restart).push_back(std::move(path));
}

template <class Target>
void compare_scope(reload_plan& plan, option_scope scope, Target a, Target b,
                   const std::string& prefix) {
  for (const auto& o : all_options()) {
    if (o.scope() != scope) continue;
    // password and password_file share a field: report it once, under its first name.
    if (o.kind == option_kind::secret_file) continue;
    if (!same_value(bind(o, a), bind(o, b))) note(plan, o, prefix + std::string{o.name});
  }
}

}  // namespace

reload_plan plan_reload(const config& running, const config& fresh) {
  reload_plan plan;
  // Copies: binding hands out mutable field pointers; nothing here writes through them.
  compare_scope<config>(plan, option_scope::root, running, fresh, "");
  compare_scope<backend>(plan, option_scope::backend, running.old_backend, fresh.old_backend,
                         "backends.old.");
  // Adding NEW is how a migration starts, so it must not need a restart (which would drop
  // every client). Whether the running phase allows adding or removing it is the phase
  // machine's decision, not the config's.
  if (running.new_backend.has_value() != fresh.new_backend.has_value())
    plan.applied.emplace_back("backends.new");
  else if (running.new_backend)
    compare_scope<backend>(plan, option_scope::backend, *running.new_backend, *fresh.new_backend,
                           "backends.new.");
  // Every users[] option is reloadable (options_test checks): new logins see the new list.
  if (running.users != fresh.users) plan.applied.emplace_back("users");
  // Only `dwctl verify` reads the rules, from the file itself; the proxy keeps none.
  if (running.business_rules != fresh.business_rules) plan.applied.emplace_back("business_rules");
  return plan;
}

}  // namespace dw::config
