// Helpers shared by shadow_tests.
#pragma once

#include <cstddef>
#include <string_view>

#include "shadow/redaction.hpp"

namespace dw::shadow::testing {

/// The bytes of `text`, as a parameter value.
inline bytes to_bytes(std::string_view text) {
  bytes out(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) out[i] = static_cast<std::byte>(text[i]);
  return out;
}

}  // namespace dw::shadow::testing
