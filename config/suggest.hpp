// "Did you mean" for unknown keys, flags and choices (internal to dw_config).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace dw::config {

/// The candidate closest to `word` by edit distance, or "" when none is plausibly meant.
[[nodiscard]] std::string closest(std::string_view word, std::span<const std::string> candidates);

/// " (did you mean 'x'?)" or "".
[[nodiscard]] std::string did_you_mean(std::string_view word,
                                       std::span<const std::string> candidates);

}  // namespace dw::config
