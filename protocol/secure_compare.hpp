// Constant-time comparison for secrets (SCRAM proofs and keys, signatures). The running time
// depends only on the lengths, never on where the inputs first differ, so a peer that times our
// answers cannot learn a secret byte by byte. Lengths are not secret in any caller.
#pragma once

#include <cstddef>
#include <span>

namespace dw::protocol {

/// True when both spans hold the same bytes; leaks only whether the lengths differ.
[[nodiscard]] bool constant_time_equal(std::span<const std::byte> a,
                                       std::span<const std::byte> b) noexcept;

}  // namespace dw::protocol
