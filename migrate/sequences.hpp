// Sequence positions for backfill: NEW's sequences moved up to OLD's, so that rows inserted on
// NEW after the copy never take a value OLD already handed out. Only ever forward: a sequence
// NEW has already used further is left alone.
#pragma once

#include <cstddef>
#include <vector>

#include "compare/pg_connection.hpp"
#include "compare/pg_identifier.hpp"

namespace dw::migrate {

/// Moves each target sequence that lags the source's forward to the source's next value:
/// the sequences owned by a column of one of `tables`, or every sequence when `tables` is
/// empty. Returns how many were moved.
std::size_t catch_up_sequences(compare::pg_connection& source, compare::pg_connection& target,
                               const std::vector<compare::table_name>& tables);

}  // namespace dw::migrate
