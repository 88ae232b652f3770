// Internal to the SCRAM files: the crypto building blocks of RFC 5802 section 3 over OpenSSL's
// crypto API (PBKDF2, HMAC-SHA-256, SHA-256, base64, RAND_bytes), plus wiping of secrets.
// Functions return false only when OpenSSL itself fails (allocation); callers fail closed.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/scram_verifier.hpp"

namespace dw::protocol::scram::detail {

using key = std::array<std::byte, key_size>;

[[nodiscard]] inline std::span<const std::byte> bytes_of(std::string_view s) noexcept {
  return std::as_bytes(std::span{s.data(), s.size()});
}

/// The password bytes fed to PBKDF2. The place where SASLprep would go: today the identity,
/// which equals PostgreSQL for ASCII and for text SASLprep leaves alone (see scram.hpp).
[[nodiscard]] inline std::string_view prepared_password(std::string_view password) noexcept {
  return password;
}

[[nodiscard]] std::string base64_encode(std::span<const std::byte> in);
/// Strict RFC 4648 base64 (length a multiple of 4, '=' only as final padding, no whitespace),
/// nullopt when malformed or when it decodes to more than `max_size` bytes.
[[nodiscard]] std::optional<std::vector<std::byte>> base64_decode(std::string_view in,
                                                                  std::size_t max_size);
/// Decodes exactly key_size bytes.
[[nodiscard]] bool base64_decode_key(std::string_view in, key& out);

[[nodiscard]] bool sha256(std::span<const std::byte> data, key& out) noexcept;
[[nodiscard]] bool hmac_sha256(std::span<const std::byte> k, std::span<const std::byte> data,
                               key& out) noexcept;
/// SaltedPassword := Hi(password, salt, i), i.e. PBKDF2-HMAC-SHA-256.
[[nodiscard]] bool salted_password(std::string_view password, std::span<const std::byte> salt,
                                   int iterations, key& out) noexcept;

/// ClientKey, StoredKey and ServerKey from a SaltedPassword.
struct derived_keys {
  key client_key, stored_key, server_key;
};
[[nodiscard]] bool derive_keys(const key& salted, derived_keys& out) noexcept;

/// Fills `out` from RAND_bytes. Aborts if the DRBG fails: a predictable nonce or salt would
/// silently void the protocol's guarantees, and OpenSSL 3 fails here only when the OS entropy
/// source is broken (BoringSSL's RAND_bytes aborts in the same case).
void random_bytes(std::span<std::byte> out) noexcept;
/// 18 random bytes in base64 (24 characters), as PostgreSQL's SCRAM_RAW_NONCE_LEN.
[[nodiscard]] std::string random_nonce();

/// RFC 5802 "printable": %x21-7E except ','; at least one character.
[[nodiscard]] bool is_printable_nonce(std::string_view s) noexcept;
/// Decimal iteration count within [min_iterations, max_iterations]; no sign, no spaces.
[[nodiscard]] std::optional<int> parse_iterations(std::string_view s) noexcept;

/// Overwrites secrets with OPENSSL_cleanse, which the optimiser may not drop as a dead store.
void wipe(std::span<std::byte> s) noexcept;
/// Also clears the bytes between size() and capacity() that a short-string buffer may keep.
void wipe(std::string& s) noexcept;

/// A local secret (key, derived_keys) wiped when it leaves scope, whichever return is taken.
template <class T>
struct scrubbed {
  T value{};
  scrubbed() = default;
  scrubbed(const scrubbed&) = delete;
  scrubbed& operator=(const scrubbed&) = delete;
  ~scrubbed() { wipe(std::as_writable_bytes(std::span{&value, 1})); }
};

}  // namespace dw::protocol::scram::detail
