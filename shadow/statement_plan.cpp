#include "shadow/statement_plan.hpp"

#include <algorithm>

namespace dw::shadow {

statement_plan plan_statement(std::string_view sql, const plan_options& options) {
  using compare::transaction_verb;
  compare::classify_options co;
  co.read_only_functions = options.read_only_functions;
  // The fingerprint costs a second parse; only a divergence record needs it, and computes it
  // then (statement_fingerprint).
  co.fingerprint = false;
  const compare::classification c = compare::classify(sql, co);

  statement_plan plan;
  plan.to_shadow = c.goes_to_shadow();
  const auto add_key = [&plan](std::string key) {
    if (std::find(plan.serialize_keys.begin(), plan.serialize_keys.end(), key) ==
        plan.serialize_keys.end())
      plan.serialize_keys.push_back(std::move(key));
  };
  for (const auto& s : c.statements) {
    statement_plan::part part;
    part.location = s.location;
    part.compare_rows = s.writes_data;
    part.ends_transaction = s.tx == transaction_verb::commit || s.tx == transaction_verb::rollback ||
                            s.tx == transaction_verb::prepare_transaction;
    part.chain = s.tx_chain;
    part.replayable = s.session_state && !s.transaction_scoped;
    part.creates_object = s.creates_temp_object;

    plan.tx_control = plan.tx_control || s.tx != transaction_verb::none;
    plan.commits = plan.commits || s.tx == transaction_verb::commit ||
                   s.tx == transaction_verb::prepare_transaction ||
                   s.tx == transaction_verb::commit_prepared;
    plan.outside_transaction = plan.outside_transaction || s.outside_transaction;
    plan.concurrent_index_build = plan.concurrent_index_build || s.concurrent_index_build;
    plan.ddl = plan.ddl || s.ddl;
    plan.copy_in = plan.copy_in || s.copy_from_stdin;
    plan.replayable = plan.replayable || part.replayable;
    plan.nondeterministic = plan.nondeterministic || s.nondeterministic;
    for (const auto& t : s.tables_written) {
      const std::string key = t.key();
      const bool listed = std::find(options.serialize_tables.begin(),
                                    options.serialize_tables.end(),
                                    key) != options.serialize_tables.end();
      if (listed || (options.serialize_sequences && s.uses_sequence && s.writes_data)) {
        add_key(key);
        part.serialized = true;
      }
    }
    part.begins = s.tx == transaction_verb::begin;
    part.commits = s.tx == transaction_verb::commit;
    part.needs_order = s.writes_data || s.ddl || s.locking_read || s.volatile_call ||
                       s.uses_sequence || s.unparseable || s.other_effects;
    plan.needs_order = plan.needs_order || part.needs_order;
    plan.parts.push_back(part);
  }
  // A text that opens or ends transactions itself is never wrapped (its own COMMIT is held
  // instead), and neither is session state alone: SET needs no cross-session order.
  if (plan.tx_control) plan.needs_order = false;
  std::sort(plan.serialize_keys.begin(), plan.serialize_keys.end());  // one lock order for all
  return plan;
}

std::uint64_t statement_fingerprint(std::string_view sql) {
  return compare::classify(sql).fingerprint;
}

}  // namespace dw::shadow
