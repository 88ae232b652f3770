#pragma once
// Helpers for the classifier tests: a statement's flags as one readable string, so each case
// asserts every flag at once ("writes_data uses_sequence" means exactly those two are set).
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "compare/classifier.hpp"

namespace dw::compare::test {

inline std::string verb_name(transaction_verb v) {
  switch (v) {
    case transaction_verb::none:
      return "none";
    case transaction_verb::begin:
      return "begin";
    case transaction_verb::commit:
      return "commit";
    case transaction_verb::rollback:
      return "rollback";
    case transaction_verb::savepoint:
      return "savepoint";
    case transaction_verb::release:
      return "release";
    case transaction_verb::rollback_to:
      return "rollback_to";
    case transaction_verb::prepare_transaction:
      return "prepare_transaction";
    case transaction_verb::commit_prepared:
      return "commit_prepared";
    case transaction_verb::rollback_prepared:
      return "rollback_prepared";
  }
  return "?";
}

inline std::string flags(const statement_info& s) {
  std::string out;
  const auto add = [&](bool on, std::string_view name) {
    if (!on) return;
    if (!out.empty()) out += ' ';
    out += name;
  };
  add(s.read_only, "read_only");
  add(s.writes_data, "writes_data");
  add(s.ddl, "ddl");
  add(s.tx != transaction_verb::none, "tx=" + verb_name(s.tx));
  add(s.tx_chain, "chain");
  add(s.session_state, "session_state");
  add(s.transaction_scoped, "transaction_scoped");
  add(s.locking_read, "locking_read");
  add(s.volatile_call, "volatile_call");
  add(s.nondeterministic, "nondeterministic");
  add(s.uses_sequence, "uses_sequence");
  add(s.other_effects, "other_effects");
  add(s.unparseable, "unparseable");
  add(s.copy_from_stdin, "copy_from_stdin");
  add(s.copy_to_stdout, "copy_to_stdout");
  // The invariant every caller relies on.
  EXPECT_EQ(s.goes_to_shadow(), !s.read_only);
  return out;
}

// The flags of a string that must hold exactly one statement.
inline std::string flags_of(std::string_view sql, const classify_options& options = {}) {
  const classification c = classify(sql, options);
  EXPECT_EQ(c.statements.size(), 1u) << sql;
  if (c.statements.size() != 1) return "<" + std::to_string(c.statements.size()) + " statements>";
  return flags(c.statements.front());
}

// tables_written as keys, space-separated.
inline std::string tables_of(std::string_view sql) {
  const classification c = classify(sql);
  std::string out;
  for (const auto& s : c.statements) {
    for (const auto& t : s.tables_written) {
      if (!out.empty()) out += ' ';
      out += t.key();
    }
  }
  return out;
}

}  // namespace dw::compare::test
