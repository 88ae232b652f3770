// Building shadow jobs from a unit's kept frames: shared by unit.cpp (the shadow's share of a
// unit) and catch_up_jobs.cpp (what the shadow runs for statements the primary failed).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "shadow/unit.hpp"

namespace dw::shadow {

/// Where each statement of the text starts. The plan's locations are those of the text as
/// planned; when the nondeterminism rewrite spliced literals in, they have moved, so the
/// rewritten text is split again (only failures and replays need this).
[[nodiscard]] std::vector<std::size_t> statement_starts(const statement_ref& s);

/// The whole frame of a message the unit kept for the shadow (empty unless `m.to_shadow`).
[[nodiscard]] std::span<const std::byte> kept_frame(const unit& u, const unit_message& m);

/// Appends one client message (its whole frame) to the job, and its type for the tracker.
void append_frame(shadow_job& job, char type, std::span<const std::byte> frame);
/// Appends a simple Query of `sql`.
void append_query(shadow_job& job, std::string_view sql);
/// Appends a Sync.
void append_sync(shadow_job& job);

}  // namespace dw::shadow
