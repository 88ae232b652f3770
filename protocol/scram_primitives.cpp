// SCRAM crypto building blocks over OpenSSL 3's crypto API. No hand-rolled crypto: PBKDF2,
// HMAC, SHA-256 and base64 are OpenSSL's; this file only adapts types and checks bounds.
#include "protocol/scram_primitives.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <climits>
#include <cstdlib>

namespace dw::protocol::scram::detail {
namespace {

const unsigned char* uchars(const void* p) noexcept { return static_cast<const unsigned char*>(p); }
unsigned char* uchars(void* p) noexcept { return static_cast<unsigned char*>(p); }

bool is_base64_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

std::string base64_encode(std::span<const std::byte> in) {
  // Inputs here are keys, salts (<= max_salt_size) and proofs: far below INT_MAX.
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');  // + 1: EVP_EncodeBlock writes a NUL
  const int n = EVP_EncodeBlock(uchars(out.data()), uchars(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::vector<std::byte>> base64_decode(std::string_view in, std::size_t max_size) {
  // EVP_DecodeBlock skips leading and trailing whitespace, accepts unpadded tails oddly and
  // counts '=' padding as output bytes, so validate the exact form first and trim after.
  if (in.size() % 4 != 0 || in.size() / 4 * 3 > max_size + 2) return std::nullopt;
  std::size_t padding = 0;
  while (padding < in.size() && in[in.size() - 1 - padding] == '=') ++padding;
  if (padding > 2) return std::nullopt;
  for (std::size_t i = 0; i < in.size() - padding; ++i) {
    if (!is_base64_char(in[i])) return std::nullopt;
  }
  std::vector<std::byte> out(in.size() / 4 * 3);
  if (in.empty()) return out;
  const int n = EVP_DecodeBlock(uchars(out.data()), uchars(in.data()), static_cast<int>(in.size()));
  if (n < 0 || static_cast<std::size_t>(n) != out.size()) return std::nullopt;
  out.resize(out.size() - padding);
  if (out.size() > max_size) return std::nullopt;
  return out;
}

bool base64_decode_key(std::string_view in, key& out) {
  auto decoded = base64_decode(in, key_size);
  if (!decoded || decoded->size() != key_size) return false;
  std::copy(decoded->begin(), decoded->end(), out.begin());
  wipe(*decoded);
  return true;
}

bool sha256(std::span<const std::byte> data, key& out) noexcept {
  unsigned int len = 0;
  return EVP_Digest(data.data(), data.size(), uchars(out.data()), &len, EVP_sha256(), nullptr) ==
             1 &&
         len == key_size;
}

bool hmac_sha256(std::span<const std::byte> k, std::span<const std::byte> data, key& out) noexcept {
  if (k.size() > INT_MAX) return false;
  unsigned int len = 0;
  return HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()), uchars(data.data()), data.size(),
              uchars(out.data()), &len) != nullptr &&
         len == key_size;
}

bool salted_password(std::string_view password, std::span<const std::byte> salt, int iterations,
                     key& out) noexcept {
  if (password.size() > INT_MAX || salt.empty() || salt.size() > max_salt_size ||
      iterations < min_iterations || iterations > max_iterations) {
    return false;
  }
  // An empty string_view may carry a null pointer; give OpenSSL a real (empty) one.
  const char* pass = password.empty() ? "" : password.data();
  return PKCS5_PBKDF2_HMAC(pass, static_cast<int>(password.size()), uchars(salt.data()),
                           static_cast<int>(salt.size()), iterations, EVP_sha256(),
                           static_cast<int>(key_size), uchars(out.data())) == 1;
}

bool derive_keys(const key& salted, derived_keys& out) noexcept {
  return hmac_sha256(salted, bytes_of("Client Key"), out.client_key) &&
         sha256(out.client_key, out.stored_key) &&
         hmac_sha256(salted, bytes_of("Server Key"), out.server_key);
}

void random_bytes(std::span<std::byte> out) noexcept {
  if (out.size() > INT_MAX || RAND_bytes(uchars(out.data()), static_cast<int>(out.size())) != 1) {
    std::abort();
  }
}

std::string random_nonce() {
  std::array<std::byte, 18> raw{};
  random_bytes(raw);
  return base64_encode(raw);
}

bool is_printable_nonce(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

std::optional<int> parse_iterations(std::string_view s) noexcept {
  // from_chars alone would accept a leading '-' and stop at the first non-digit; the digit
  // check and the length cap make the whole value count and keep it out of overflow range.
  if (s.empty() || s.size() > 9) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  if (value < min_iterations || value > max_iterations) return std::nullopt;
  return value;
}

void wipe(std::span<std::byte> s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

void wipe(std::string& s) noexcept {
  s.resize(s.capacity());
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace dw::protocol::scram::detail
