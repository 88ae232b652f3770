// pg_authid SCRAM verifiers: parse/format in PostgreSQL's exact text form, derivation from a
// password (RFC 5802 section 3), and the mock verifier for unknown users.
#include "protocol/scram_verifier.hpp"

#include <algorithm>
#include <cstdlib>

#include "protocol/scram_primitives.hpp"

namespace dw::protocol::scram {
namespace {

constexpr std::string_view prefix = "SCRAM-SHA-256$";

// Splits "a<sep>b" at the first `sep`; nullopt when absent.
std::optional<std::pair<std::string_view, std::string_view>> split(std::string_view s, char sep) {
  const auto at = s.find(sep);
  if (at == std::string_view::npos) return std::nullopt;
  return std::pair{s.substr(0, at), s.substr(at + 1)};
}

// Programming errors in our own callers (bad iteration count, empty salt) or OpenSSL failing
// to allocate: there is no error channel in these signatures and no safe verifier to return.
void require(bool ok) noexcept {
  if (!ok) std::abort();
}

// Per-process key for mock verifiers, drawn once. Were the salt a plain hash of the name, a
// prober could compute it and recognise a mock by the salt it is served; under a secret key it
// looks like any random salt. PostgreSQL keeps its equivalent in pg_control so it survives
// restarts; ours changes on restart, so a prober that sees a name's salt change across a proxy
// restart learns it is unknown (unless real salts change too, as make_verifier's do).
const detail::key& mock_secret() {
  static const detail::key secret = [] {
    detail::key k{};
    detail::random_bytes(k);
    return k;
  }();
  return secret;
}

// HMAC(secret, label || 0x00 || user): the label separates salt and keys, the NUL separates
// the label from a user name that might start with another label's text.
detail::key mock_field(std::string_view label, std::string_view user_name) {
  std::string input{label};
  input.push_back('\0');
  input.append(user_name);
  detail::key out{};
  require(detail::hmac_sha256(mock_secret(), detail::bytes_of(input), out));
  return out;
}

}  // namespace

result<verifier> parse_verifier(std::string_view text) {
  constexpr auto bad = errc::malformed_body;
  if (text.size() > max_message_size || !text.starts_with(prefix)) return bad;
  const auto halves = split(text.substr(prefix.size()), '$');
  if (!halves) return bad;
  const auto iter_salt = split(halves->first, ':');
  const auto keys = split(halves->second, ':');
  if (!iter_salt || !keys) return bad;

  verifier v{};
  const auto iterations = detail::parse_iterations(iter_salt->first);
  auto salt = detail::base64_decode(iter_salt->second, max_salt_size);
  if (!iterations || !salt || salt->empty()) return bad;
  v.iterations = *iterations;
  v.salt = std::move(*salt);
  if (!detail::base64_decode_key(keys->first, v.stored_key) ||
      !detail::base64_decode_key(keys->second, v.server_key)) {
    return bad;
  }
  return v;
}

std::string format_verifier(const verifier& v) {
  std::string out{prefix};
  out += std::to_string(v.iterations);
  out += ':';
  out += detail::base64_encode(v.salt);
  out += '$';
  out += detail::base64_encode(v.stored_key);
  out += ':';
  out += detail::base64_encode(v.server_key);
  return out;
}

verifier make_verifier(std::string_view password, int iterations) {
  std::array<std::byte, default_salt_size> salt{};
  detail::random_bytes(salt);
  return make_verifier(password, salt, iterations);
}

verifier make_verifier(std::string_view password, std::span<const std::byte> salt, int iterations) {
  require(iterations >= min_iterations && iterations <= max_iterations && !salt.empty() &&
          salt.size() <= max_salt_size);
  detail::key salted{};
  detail::derived_keys keys{};
  require(detail::salted_password(detail::prepared_password(password), salt, iterations, salted) &&
          detail::derive_keys(salted, keys));
  verifier v{iterations, {salt.begin(), salt.end()}, keys.stored_key, keys.server_key};
  detail::wipe(salted);
  detail::wipe(keys.client_key);
  detail::wipe(keys.stored_key);
  detail::wipe(keys.server_key);
  return v;
}

verifier mock_verifier(std::string_view user_name) {
  const detail::key salt = mock_field("salt", user_name);
  verifier v{default_iterations,
             {salt.begin(), salt.begin() + default_salt_size},
             mock_field("stored_key", user_name),
             mock_field("server_key", user_name)};
  return v;
}

}  // namespace dw::protocol::scram
