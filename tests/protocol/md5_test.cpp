// PostgreSQL's md5 password response against independently computed values and a hash that
// real PostgreSQL 15 stored in pg_authid.
#include <gtest/gtest.h>

#include <array>
#include <regex>

#include "protocol/md5_auth.hpp"

namespace dw::protocol::md5_auth {
namespace {

constexpr std::array<std::byte, 4> salt_1234{std::byte{1}, std::byte{2}, std::byte{3},
                                             std::byte{4}};

bool well_formed(const std::string& s) {
  static const std::regex form{"md5[0-9a-f]{32}"};
  return std::regex_match(s, form);
}

TEST(Md5Auth, KnownValue) {
  // python3 -c "import hashlib; i=hashlib.md5(b'postgres'+b'postgres').hexdigest();
  //   print('md5'+hashlib.md5(i.encode()+bytes([1,2,3,4])).hexdigest())"
  const std::string r = password_response("postgres", "postgres", salt_1234);
  EXPECT_EQ(r, "md568be9ed08db75f318087ab337aaea044");
  EXPECT_TRUE(well_formed(r));
}

TEST(Md5Auth, InnerHashIsWhatPostgresStores) {
  // PostgreSQL 15 stored "md565170a859842ceb2930dc2fa1454af9d" for role bob, password
  // "postgres" (password_encryption = 'md5'). Expected response:
  // python3 -c "import hashlib; print('md5'+hashlib.md5(
  //   b'65170a859842ceb2930dc2fa1454af9d'+bytes([1,2,3,4])).hexdigest())"
  EXPECT_EQ(password_response("bob", "postgres", salt_1234), "md59c0b69c6db9916209e79d39889dac44f");
}

TEST(Md5Auth, EmptyInputsAndHighSaltBytes) {
  // python3 -c "import hashlib; print('md5'+hashlib.md5(hashlib.md5(b'').hexdigest().encode()
  //   +bytes([0xff,0,0x80,0x7f])).hexdigest())"
  const std::array<std::byte, 4> salt{std::byte{0xff}, std::byte{0x00}, std::byte{0x80},
                                      std::byte{0x7f}};
  EXPECT_EQ(password_response("", "", salt), "md5914349703b2bcc281c23f272aa8ec549");
}

TEST(Md5Auth, SaltChangesTheResponse) {
  const std::array<std::byte, 4> other{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{5}};
  const std::string a = password_response("u", "secret", salt_1234);
  const std::string b = password_response("u", "secret", other);
  EXPECT_TRUE(well_formed(a));
  EXPECT_TRUE(well_formed(b));
  EXPECT_NE(a, b);
  EXPECT_NE(password_response("v", "secret", salt_1234), a);  // the user name is salt too
}

}  // namespace
}  // namespace dw::protocol::md5_auth
