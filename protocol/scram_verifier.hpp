// SCRAM-SHA-256 verifiers (RFC 5802 / RFC 7677) in PostgreSQL's pg_authid text form: parsing,
// formatting, derivation from a plain password, and the "mock" verifier served for unknown users.
// A verifier is as sensitive as a password hash: StoredKey plus one sniffed exchange yields the
// ClientKey, so never log one. Include "protocol/scram.hpp" for the exchanges built on it.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errc.hpp"

namespace dw::protocol::scram {

/// Bounds on what a peer or a config file may hand us. PostgreSQL has no iteration limit, but a
/// malicious backend could send i=2^31 and pin a proxy core in PBKDF2 for hours, so we refuse.
inline constexpr int min_iterations = 1;
inline constexpr int max_iterations = 10'000'000;
inline constexpr int default_iterations = 4096;          ///< PostgreSQL's scram_iterations default
inline constexpr std::size_t default_salt_size = 16;     ///< PostgreSQL's SCRAM_DEFAULT_SALT_LEN
inline constexpr std::size_t max_salt_size = 1024;       ///< decoded bytes
inline constexpr std::size_t max_attribute_size = 4096;  ///< bytes of one "x=value" value
inline constexpr std::size_t max_message_size = 16384;   ///< bytes of one SCRAM message
inline constexpr std::size_t key_size = 32;              ///< SHA-256 output

struct verifier {
  int iterations;
  std::vector<std::byte> salt;
  std::array<std::byte, key_size> stored_key, server_key;
};

/// Parses "SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>";
/// errc::malformed_body for anything else, including out-of-bounds iterations or salt sizes.
[[nodiscard]] result<verifier> parse_verifier(std::string_view text);

/// The pg_authid form of `v`, byte-identical to what PostgreSQL stores for the same inputs.
[[nodiscard]] std::string format_verifier(const verifier& v);

/// Derives a verifier with a fresh 16-byte salt from RAND_bytes. Preconditions (checked, abort on
/// violation because they are programming errors, not peer input): iterations within bounds.
[[nodiscard]] verifier make_verifier(std::string_view password,
                                     int iterations = default_iterations);

/// Derives a verifier with the given salt (1..max_salt_size bytes).
[[nodiscard]] verifier make_verifier(std::string_view password, std::span<const std::byte> salt,
                                     int iterations);

/// A verifier for a user that does not exist, so that a probe cannot tell "no such user" from
/// "wrong password" (PostgreSQL's scram_mock_salt idea). Salt and keys are HMACs of the user name
/// under a random per-process secret: stable for one user within a process, unrelated across
/// users, 16-byte salt and default_iterations like make_verifier's output (PostgreSQL's own mock
/// uses a 32-byte salt, which tells it apart). No password matches it. Serve it only when real
/// verifiers use default_iterations too, or the iteration count becomes the tell.
[[nodiscard]] verifier mock_verifier(std::string_view user_name);

}  // namespace dw::protocol::scram
