#include "migrate/chunk_tracker.hpp"

#include <algorithm>

namespace dw::migrate {

std::uint64_t chunk_tracker::open(std::optional<compare::key_value> up_to) {
  pending_.emplace(next_, pending{std::move(up_to)});
  return next_++;
}

bool chunk_tracker::close(std::uint64_t chunk, std::uint64_t rows, std::uint64_t bytes) {
  const auto it = pending_.find(chunk);
  if (it == pending_.end()) return false;
  it->second.closed = true;
  it->second.rows = rows;
  it->second.bytes = bytes;
  bool grew = false;
  // The prefix grows only from its front: an earlier chunk still copying holds it back.
  while (!pending_.empty() && pending_.begin()->second.closed) {
    auto& first = pending_.begin()->second;
    progress_.rows += first.rows;
    progress_.bytes += first.bytes;
    if (first.up_to)
      progress_.after = std::move(first.up_to);
    else
      progress_.done = true;
    pending_.erase(pending_.begin());
    grew = true;
  }
  return grew;
}

std::size_t chunk_tracker::in_flight() const noexcept {
  return static_cast<std::size_t>(std::count_if(pending_.begin(), pending_.end(),
                                                [](const auto& p) { return !p.second.closed; }));
}

}  // namespace dw::migrate
