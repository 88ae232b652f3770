// libpq connection strings (URI or key=value) into a backend (internal to dw_config). libpq's
// own parser is used, so every form psql accepts is understood the same way here.
#pragma once

#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/problem.hpp"

namespace dw::config {

/// Fills `b` (already holding table defaults) from `text`. Problems are keyed by `flag`
/// ("--old") or "<flag> <keyword>" and never contain any part of `text`.
void read_conninfo(const secret& text, std::string_view flag, backend& b,
                   std::vector<problem>& out);

}  // namespace dw::config
