// The md5 password response over OpenSSL's EVP MD5 (no hand-rolled hashing). The inner hash is
// what pg_authid stores for md5 users; the salt makes each response single-use.
#include "protocol/md5_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <optional>

namespace dw::protocol::md5_auth {
namespace {

// md5 of `data` in 32 lowercase hex digits, nullopt when the digest is unavailable.
std::optional<std::string> md5_hex(std::string_view data) {
  std::array<unsigned char, 16> digest{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_md5(), nullptr) != 1 ||
      len != digest.size()) {
    return std::nullopt;
  }
  constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * digest.size());
  for (unsigned char b : digest) {
    out += hex[b >> 4];
    out += hex[b & 0xf];
  }
  OPENSSL_cleanse(digest.data(), digest.size());
  return out;
}

}  // namespace

std::string password_response(std::string_view user, std::string_view password,
                              std::span<const std::byte, 4> salt) {
  // The inner hash is password-equivalent for md5 auth (it is all a client needs), so both
  // intermediates are wiped before returning.
  std::string input{password};
  input += user;
  auto inner = md5_hex(input);
  OPENSSL_cleanse(input.data(), input.size());
  if (!inner) return {};
  for (std::byte b : salt) inner->push_back(static_cast<char>(b));
  auto outer = md5_hex(*inner);
  OPENSSL_cleanse(inner->data(), inner->size());
  if (!outer) return {};
  return "md5" + *outer;
}

}  // namespace dw::protocol::md5_auth
