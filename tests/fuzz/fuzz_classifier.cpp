// libFuzzer target for the statement classifier and the nondeterminism rewriter. Input: SQL
// text, as a client would send it. Oracles: nothing crashes or overflows the stack (libpg_query
// is fed whatever nests deeply); every statement's flags agree with goes_to_shadow() and its
// byte range lies inside the input; what does not parse goes to the shadow; a rewrite that
// replaced nothing returns the input byte for byte, and one that replaced something still
// parses into the same statements with the same routing. The plan cache's masked form of the
// text (shadow/masked_numbers) is checked on the same input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "compare/classifier.hpp"
#include "compare/nondeterminism.hpp"
#include "shadow/masked_numbers.hpp"

namespace {

namespace c = dw::compare;

void check(bool ok) {
  if (!ok) std::abort();
}

// Smaller than the default cap so each run stays fast; the cap itself is unit-tested.
constexpr std::size_t max_bytes = std::size_t{64} << 10;

void check_classification(const c::classification& result, std::size_t size) {
  check(result.goes_to_shadow() ==
        (result.unparseable || std::any_of(result.statements.begin(), result.statements.end(),
                                           [](const auto& s) { return !s.read_only; })));
  if (result.unparseable) {
    check(result.statements.size() == 1 && result.statements[0].goes_to_shadow());
    check(result.reason != c::unparseable_reason::none);
  }
  for (const c::statement_info& s : result.statements) {
    check(s.location <= size && s.length <= size - s.location);
    const bool changes = s.writes_data || s.ddl || s.tx != c::transaction_verb::none ||
                         s.session_state || s.locking_read || s.volatile_call || s.other_effects ||
                         s.unparseable;
    check(s.read_only == !changes);
    check(s.goes_to_shadow() == !s.read_only);
    check(!s.transaction_scoped || s.session_state);
    check(!s.tx_chain || s.tx == c::transaction_verb::commit ||
          s.tx == c::transaction_verb::rollback);
    for (const auto& t : s.tables_written) check(!t.name.empty() && !t.key().empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view sql{reinterpret_cast<const char*>(data), size};
  c::classify_options options;
  options.max_sql_bytes = max_bytes;
  const c::classification before = c::classify(sql, options);
  check_classification(before, size);

  // The plan cache's key: never longer than the text, and with nothing left to mask.
  if (const auto masked = dw::shadow::masked_numbers(sql)) {
    check(masked->size() <= sql.size());
    check(!dw::shadow::masked_numbers(*masked));
  }

  c::nondeterministic_values values;
  values.transaction_timestamp = "2026-11-21 10:00:00.123456+00";
  values.statement_timestamp = "2026-11-21 10:00:01+00";
  values.random = [] { return 0.5; };
  values.uuid = [] { return std::string{"00000000-0000-4000-8000-000000000001"}; };
  const c::rewrite_result rewritten = c::rewrite_nondeterministic(sql, values, max_bytes);
  if (rewritten.replaced == 0) {
    check(rewritten.sql == sql);
    if (!c::may_be_nondeterministic(sql)) check(rewritten.not_covered.empty());
    return 0;
  }
  check(!before.unparseable);
  options.max_sql_bytes = rewritten.sql.size();
  const c::classification after = c::classify(rewritten.sql, options);
  // Each literal nests a little deeper than the call it replaced; at the depth limit that alone
  // may tip the balance.
  if (after.reason == c::unparseable_reason::too_deep) return 0;
  check(!after.unparseable);
  check(after.statements.size() == before.statements.size());
  for (std::size_t i = 0; i < after.statements.size(); ++i) {
    check(after.statements[i].read_only == before.statements[i].read_only);
    check(after.statements[i].tables_written == before.statements[i].tables_written);
  }
  return 0;
}
