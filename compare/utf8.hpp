// UTF-8 helpers for everything that becomes JSON (the divergence log, the read-diff statistics).
// Boost.JSON's serializer copies string bytes as they are, and a client's statement may be in
// LATIN1 or hold any bytes, so every string is made valid UTF-8 before it becomes JSON;
// otherwise one record could make the whole file or answer unreadable.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dw::compare {

/// Length of the valid UTF-8 sequence at text[i], or 0 when the bytes there are not one.
[[nodiscard]] std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept;

[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;

/// `text` with each invalid byte replaced by U+FFFD.
[[nodiscard]] std::string to_valid_utf8(std::string_view text);

/// The longest prefix of valid UTF-8 `text` that fits in `max_bytes` without splitting a
/// character.
[[nodiscard]] std::size_t utf8_prefix_length(std::string_view text, std::size_t max_bytes) noexcept;

}  // namespace dw::compare
