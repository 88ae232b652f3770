// constant_time_equal over OpenSSL's CRYPTO_memcmp, which is written (in assembly on common
// targets) so the compiler cannot turn it back into an early-exit loop.
#include "protocol/secure_compare.hpp"

#include <openssl/crypto.h>

namespace dw::protocol {

bool constant_time_equal(std::span<const std::byte> a, std::span<const std::byte> b) noexcept {
  // The length check may return early: lengths of proofs and keys are fixed by the protocol.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace dw::protocol
