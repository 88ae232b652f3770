// pg_authid SCRAM verifiers against values from real PostgreSQL 15 and from the RFC 7677
// derivation, strict base64, and constant_time_equal.
#include "protocol/scram_verifier.hpp"

#include <gtest/gtest.h>

#include "protocol/scram_primitives.hpp"
#include "protocol/secure_compare.hpp"

namespace dw::protocol::scram {
namespace {

// Password "pencil", the RFC 7677 salt and count. StoredKey/ServerKey computed independently
// with Python (hashlib.pbkdf2_hmac, hmac, base64) from RFC 5802 section 3.
constexpr std::string_view rfc_verifier =
    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";

// Captured from a throwaway PostgreSQL 15.x cluster: CREATE ROLE ... PASSWORD '<password>' with
// password_encryption = 'scram-sha-256', then SELECT rolpassword FROM pg_authid.
constexpr std::string_view pg15_pencil =
    "SCRAM-SHA-256$4096:JSyVb4AcwxISG2tOzIlhOQ==$tRe+RE/lZYD2x9S2S7a6nVqeu2I0jGVW7d74j+e1PGk=:"
    "TUVXEhTW8zdg2txsBTMPvky2O0/0p8+Q05ZYn3nk3uA=";
// Password "p\u00e2ss" (precomposed a-circumflex): SASLprep leaves it unchanged, so raw bytes
// match.
constexpr std::string_view pg15_non_ascii =
    "SCRAM-SHA-256$4096:E+FtWtQ543g8X9NcPp7rkg==$dOi+y7xm8RX1316INvXVuRM7ZQ10GcjywwRSEfVh/ps=:"
    "BaUNwdebdm9BKy1CtoEPL4Y3YEGRv7rL5F3UwLhwyeU=";

std::vector<std::byte> b64(std::string_view s) { return *detail::base64_decode(s, max_salt_size); }

TEST(ScramVerifier, DerivesTheRfc7677Keys) {
  const verifier v = make_verifier("pencil", b64("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
  EXPECT_EQ(format_verifier(v), rfc_verifier);
}

TEST(ScramVerifier, MatchesPostgres15) {
  for (auto [password, expected] : {std::pair{std::string_view{"pencil"}, pg15_pencil},
                                    std::pair{std::string_view{"p\xc3\xa2ss"}, pg15_non_ascii}}) {
    auto parsed = parse_verifier(expected);
    ASSERT_TRUE(parsed) << expected;
    EXPECT_EQ(parsed->iterations, 4096);
    EXPECT_EQ(parsed->salt.size(), default_salt_size);
    EXPECT_EQ(format_verifier(*parsed), expected);
    EXPECT_EQ(format_verifier(make_verifier(password, parsed->salt, parsed->iterations)), expected);
  }
}

TEST(ScramVerifier, RandomSaltDiffersPerCall) {
  const verifier a = make_verifier("pencil"), b = make_verifier("pencil");
  EXPECT_EQ(a.iterations, default_iterations);
  EXPECT_EQ(a.salt.size(), default_salt_size);
  EXPECT_NE(a.salt, b.salt);
  EXPECT_NE(a.stored_key, b.stored_key);
  auto round_trip = parse_verifier(format_verifier(a));
  ASSERT_TRUE(round_trip);
  EXPECT_EQ(format_verifier(*round_trip), format_verifier(a));
}

TEST(ScramVerifier, RejectsMalformedText) {
  const std::string keys =
      "$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
      "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
  const std::string big_salt = detail::base64_encode(std::vector<std::byte>(max_salt_size + 1));
  for (const std::string& bad : {
           std::string{""},
           "SCRAM-SHA-1$4096:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
           "scram-sha-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
           "SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
           "SCRAM-SHA-256$10000001:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
           "SCRAM-SHA-256$-1:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
           "SCRAM-SHA-256$:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
           "SCRAM-SHA-256$4096W22ZaJ0SNY7soEsUEjb6gQ==" + keys,     // no ':'
           "SCRAM-SHA-256$4096:" + keys,                            // empty salt
           "SCRAM-SHA-256$4096:" + big_salt + keys,                 // salt over 1 KiB
           "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ" + keys,      // unpadded
           "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==\n" + keys,  // whitespace
           std::string{"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
                       "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY="},  // one key
           std::string{"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
                       "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT:"  // 30-byte key
                       "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="},
           std::string{rfc_verifier} + "=",
           std::string{rfc_verifier} + ":AAAA",
       }) {
    EXPECT_EQ(parse_verifier(bad).error(), errc::malformed_body) << bad;
  }
}

TEST(ScramBase64, StrictDecoding) {
  EXPECT_EQ(detail::base64_decode("", 10)->size(), 0u);
  EXPECT_EQ(detail::base64_decode("AA==", 10)->size(), 1u);
  EXPECT_EQ(detail::base64_decode("AAA=", 10)->size(), 2u);
  EXPECT_EQ(detail::base64_decode("AAAA", 10)->size(), 3u);
  EXPECT_EQ(detail::base64_decode("AAAA", 2), std::nullopt);  // over the bound
  for (std::string_view bad :
       {"A", "AA", "AAA", "A===", "A=AA", "AA=A", " AAAA", "AAAA ", "AA\nAA", "AA-_", "===="}) {
    EXPECT_EQ(detail::base64_decode(bad, 10), std::nullopt) << bad;
  }
  EXPECT_EQ(detail::base64_decode(std::string_view{"AAAA\0AAA", 8}, 10), std::nullopt);
  const std::vector<std::byte> bytes{std::byte{0xff}, std::byte{0x00}, std::byte{0x80}};
  EXPECT_EQ(detail::base64_encode(bytes), "/wCA");
  EXPECT_EQ(*detail::base64_decode("/wCA", 3), bytes);
}

TEST(ConstantTimeEqual, BasicCases) {
  const std::array<std::byte, 3> abc{std::byte{'a'}, std::byte{'b'}, std::byte{'c'}};
  const std::array<std::byte, 3> abd{std::byte{'a'}, std::byte{'b'}, std::byte{'d'}};
  const std::array<std::byte, 2> ab{std::byte{'a'}, std::byte{'b'}};
  EXPECT_TRUE(constant_time_equal(abc, abc));
  EXPECT_TRUE(constant_time_equal(std::span<const std::byte>{}, std::span<const std::byte>{}));
  EXPECT_FALSE(constant_time_equal(abc, abd));
  EXPECT_FALSE(constant_time_equal(abc, ab));  // prefix is not equal
  EXPECT_FALSE(constant_time_equal(ab, abc));
  EXPECT_FALSE(constant_time_equal(ab, std::span<const std::byte>{}));
}

}  // namespace
}  // namespace dw::protocol::scram
