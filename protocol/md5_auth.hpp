// PostgreSQL's MD5 password response (AuthenticationMD5Password, protocol docs 55.2.3), used only
// as a client towards backends still configured for md5. MD5 is broken as a hash, and a sniffed
// response plus salt allows offline guessing: prefer SCRAM on every backend that offers it.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace dw::protocol::md5_auth {

/// "md5" + md5hex(md5hex(password + user) + salt): 35 characters, lowercase hex. Returns an empty
/// string if OpenSSL refuses MD5 (a FIPS-only provider); sending it fails the login, closed.
[[nodiscard]] std::string password_response(std::string_view user, std::string_view password,
                                            std::span<const std::byte, 4> salt);

}  // namespace dw::protocol::md5_auth
