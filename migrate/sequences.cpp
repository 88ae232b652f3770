#include "migrate/sequences.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include "compare/table_catalog.hpp"
#include "compare/verify_checks.hpp"

namespace dw::migrate {

std::size_t catch_up_sequences(compare::pg_connection& source, compare::pg_connection& target,
                               const std::vector<compare::table_name>& tables) {
  const auto wanted = [&](const compare::sequence_info& s) {
    if (tables.empty()) return true;
    return s.owned_by && std::find(tables.begin(), tables.end(), *s.owned_by) != tables.end();
  };
  std::size_t moved = 0;
  const auto on_target = compare::read_sequences(target);
  for (const auto& s : compare::read_sequences(source)) {
    if (!wanted(s)) continue;
    const auto t = std::find_if(on_target.begin(), on_target.end(),
                                [&](const auto& x) { return x.name == s.name; });
    if (t == on_target.end() || !compare::sequence_lags(s.increment, s.next_value, t->next_value))
      continue;
    // setval(..., false): nextval() returns exactly the source's next value. The guard, read
    // from the sequence itself in the same statement, keeps a value the target took meanwhile
    // from being handed out twice; numeric, so last_value + increment cannot overflow.
    const auto sql = "SELECT setval($1::regclass, $2::bigint, false) FROM " + s.name.sql() +
                     " WHERE CASE WHEN is_called THEN last_value::numeric + $3::numeric "
                     "ELSE last_value::numeric END " +
                     std::string{s.increment >= 0 ? "<" : ">"} + " $2::numeric";
    const std::vector<std::optional<std::string>> params{
        s.name.sql(), std::to_string(s.next_value), std::to_string(s.increment)};
    moved += target.exec(sql, params).size();
  }
  return moved;
}

}  // namespace dw::migrate
