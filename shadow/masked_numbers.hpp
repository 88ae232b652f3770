// A cache key for statement plans that differ only in numeric constants. Applications that
// send literals instead of parameters (pgbench -M simple, many ORMs' simple mode) make every
// text new, and each would be parsed again; a plan never depends on a number's value, only
// on the statement's shape, tables and functions. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dw::shadow {

/// `sql` with each numeric constant replaced by '?'. Nothing inside quotes is touched, and
/// anything this scan cannot take apart for certain gives nullopt: comments, dollar quoting
/// and parameters ('$'), backslashes, prefixed strings (E'', B'', X'', N''), a number
/// running into a name. Also nullopt when the text holds no number, so that the key then is
/// the text itself.
[[nodiscard]] std::optional<std::string> masked_numbers(std::string_view sql);

}  // namespace dw::shadow
