// SCRAM-SHA-256 exchanges: the RFC 7677 test vector on both sides, round trips, and every way a
// hostile client or backend can break the exchange (tampered echoes, missing attributes,
// channel binding, oversized values, iteration-count DoS, calls out of order).
#include "protocol/scram.hpp"

#include <gtest/gtest.h>

#include <string>

#include "protocol/scram_primitives.hpp"

namespace dw::protocol::scram {
namespace {

// RFC 7677 section 3.
constexpr std::string_view rfc_client_nonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view rfc_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view rfc_client_first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view rfc_server_first =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view rfc_client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view rfc_server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

// The same exchange as PostgreSQL clients run it, with "n=" instead of "n=user". The user name
// is part of AuthMessage, so proof and signature differ from the RFC's. Derived independently
// with Python's hashlib.pbkdf2_hmac and hmac (RFC 5802 section 3 formulas, same nonces/salt).
constexpr std::string_view pg_client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k=";
constexpr std::string_view pg_server_final = "v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=";

verifier pencil_verifier() {
  const auto salt = detail::base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==", max_salt_size);
  return make_verifier("pencil", *salt, 4096);
}

// A server that has answered the PostgreSQL-form client-first of the RFC vector.
server_exchange server_after_first() {
  server_exchange server{pencil_verifier(), std::string{rfc_server_nonce}};
  EXPECT_TRUE(server.on_client_first("n,,n=,r=rOprNGfwEbeRWgbNEkqO"));
  return server;
}

// A client that has sent its first message and awaits server-first.
client_exchange client_after_first(std::string password = "pencil") {
  client_exchange client{std::move(password), std::string{rfc_client_nonce}};
  (void)client.client_first();
  return client;
}

std::string without_last_char(std::string_view s) { return std::string{s.substr(0, s.size() - 1)}; }

TEST(ScramServer, Rfc7677TestVector) {
  server_exchange server{pencil_verifier(), std::string{rfc_server_nonce}};
  auto first = server.on_client_first(rfc_client_first);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, rfc_server_first);
  auto final_message = server.on_client_final(rfc_client_final);
  ASSERT_TRUE(final_message);
  EXPECT_EQ(*final_message, rfc_server_final);
  EXPECT_TRUE(server.authenticated());
}

TEST(ScramServer, Rfc7677VectorInPostgresForm) {
  server_exchange server = server_after_first();
  auto final_message = server.on_client_final(pg_client_final);
  ASSERT_TRUE(final_message);
  EXPECT_EQ(*final_message, pg_server_final);
}

TEST(ScramClient, Rfc7677VectorInPostgresForm) {
  client_exchange client{"pencil", std::string{rfc_client_nonce}};
  EXPECT_EQ(client.client_first(), "n,,n=,r=rOprNGfwEbeRWgbNEkqO");
  auto final_message = client.on_server_first(rfc_server_first);
  ASSERT_TRUE(final_message);
  EXPECT_EQ(*final_message, pg_client_final);
  EXPECT_TRUE(client.on_server_final(pg_server_final));
}

TEST(Scram, RoundTripWithRandomNonces) {
  const verifier v = make_verifier("correct horse battery staple");
  server_exchange server{v};
  client_exchange client{"correct horse battery staple"};
  const std::string first = client.client_first();
  auto server_first = server.on_client_first(first);
  ASSERT_TRUE(server_first);
  // Random nonces: 18 bytes of base64 each, the server's appended to the client's.
  ASSERT_EQ(first.size(), std::string_view{"n,,n=,r="}.size() + 24);
  EXPECT_TRUE(server_first->starts_with("r=" + first.substr(8)));
  EXPECT_EQ(server_first->find(','), 2 + 48u);
  auto client_final = client.on_server_first(*server_first);
  ASSERT_TRUE(client_final);
  auto server_final = server.on_client_final(*client_final);
  ASSERT_TRUE(server_final);
  EXPECT_TRUE(server.authenticated());
  EXPECT_TRUE(client.on_server_final(*server_final));
}

TEST(Scram, RandomNoncesDiffer) {
  client_exchange a{"x"}, b{"x"};
  EXPECT_NE(a.client_first(), b.client_first());
}

TEST(Scram, WrongPasswordFails) {
  server_exchange server{make_verifier("right")};
  client_exchange client{"wrong"};
  auto server_first = server.on_client_first(client.client_first());
  ASSERT_TRUE(server_first);
  auto client_final = client.on_server_first(*server_first);
  ASSERT_TRUE(client_final);
  auto r = server.on_client_final(*client_final);
  EXPECT_EQ(r.error(), errc::auth_failed);
  EXPECT_FALSE(server.authenticated());
}

TEST(Scram, NonAsciiPasswordRoundTrips) {
  // Raw UTF-8 bytes on both sides (no SASLprep): equal inputs still agree.
  server_exchange server{make_verifier("p\xc3\xa2ss")};
  client_exchange client{"p\xc3\xa2ss"};
  auto client_final = client.on_server_first(*server.on_client_first(client.client_first()));
  ASSERT_TRUE(client_final);
  EXPECT_TRUE(server.on_client_final(*client_final));
}

TEST(ScramServer, TamperedNonceFails) {
  std::string tampered{pg_client_final};
  tampered[tampered.find(",p=") - 1] ^= 1;
  EXPECT_EQ(server_after_first().on_client_final(tampered).error(), errc::auth_failed);
  // A client nonce alone (no server part) is a replay attempt, not a match.
  EXPECT_EQ(server_after_first()
                .on_client_final("c=biws,r=rOprNGfwEbeRWgbNEkqO,"
                                 "p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k=")
                .error(),
            errc::auth_failed);
}

TEST(ScramServer, TamperedProofFails) {
  std::string tampered{pg_client_final};
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(server_after_first().on_client_final(tampered).error(), errc::auth_failed);
}

TEST(ScramServer, TamperedChannelBindingIsProtocolError) {
  std::string tampered{pg_client_final};
  tampered.replace(0, 6, "c=eSws");  // base64("y,,") where "n,," was sent
  EXPECT_EQ(server_after_first().on_client_final(tampered).error(), errc::auth_protocol);
}

TEST(ScramServer, ExtensionsAreCoveredByTheProof) {
  std::string with_extension{pg_client_final};
  with_extension.insert(with_extension.find(",p="), ",x=ext");
  EXPECT_EQ(server_after_first().on_client_final(with_extension).error(), errc::auth_failed);
}

TEST(ScramServer, AcceptsYFlagAndExpectsItEchoed) {
  server_exchange server{pencil_verifier(), std::string{rfc_server_nonce}};
  ASSERT_TRUE(server.on_client_first("y,,n=,r=rOprNGfwEbeRWgbNEkqO"));
  // The client-final computed for "n,," (c=biws) no longer matches.
  EXPECT_EQ(server.on_client_final(pg_client_final).error(), errc::auth_protocol);
}

TEST(ScramServer, IgnoresUserNameAndExtensions) {
  server_exchange server{pencil_verifier(), std::string{rfc_server_nonce}};
  EXPECT_TRUE(server.on_client_first("n,,n=anyone=2Cat all,r=abc,x=1,y=two"));
}

TEST(ScramServer, RejectsBadClientFirst) {
  const std::string long_nonce = "n,,n=,r=" + std::string(max_attribute_size + 1, 'a');
  const std::string long_message = "n,,n=,r=abc,x=" + std::string(max_message_size, 'b');
  const std::vector<std::string> bad_messages{
      "p=tls-server-end-point,,n=,r=abc",  // channel binding requested
      "n,a=admin,n=,r=abc",                // authzid
      "n,,m=ext,n=,r=abc",                 // reserved mandatory extension
      "n,,n=,r=",                          // empty nonce
      "n,,n=",                             // no nonce
      "n,,r=abc",                          // no user name
      "n,,",
      "",
      "x,,n=,r=abc",  // unknown gs2 flag
      "n,n=,r=abc",   // gs2 header cut short
      "n,,n=,r=ab\x01"
      "c",                               // non-printable nonce
      "n,,n=,r=abc,=x",                  // nameless extension
      "n,,n=,r=abc,",                    // trailing comma
      std::string{"n,,n=,r=abc\0", 12},  // NUL
      long_nonce,                        // oversized value
      long_message,                      // oversized message
  };
  for (const std::string& bad : bad_messages) {
    server_exchange server{pencil_verifier()};
    EXPECT_EQ(server.on_client_first(bad).error(), errc::auth_protocol) << bad.substr(0, 40);
  }
}

TEST(ScramServer, RejectsBadClientFinal) {
  const std::string nonce = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const std::string proof = "p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k=";
  for (const std::string& bad : {
           "c=biws," + nonce,                         // no proof
           "c=biws," + proof,                         // no nonce
           nonce + "," + proof,                       // no channel binding
           "c=biws," + nonce + "," + proof + ",x=1",  // garbage after the proof
           "c=biws," + nonce + ",p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k",  // bad base64
           "c=biws," + nonce + ",p=AAAA",                // proof of the wrong length
           "r=" + nonce.substr(2) + ",c=biws," + proof,  // wrong order
       }) {
    EXPECT_EQ(server_after_first().on_client_final(bad).error(), errc::auth_protocol) << bad;
  }
}

TEST(ScramServer, OutOfOrderCallsFail) {
  server_exchange early{pencil_verifier()};
  EXPECT_EQ(early.on_client_final(pg_client_final).error(), errc::auth_protocol);
  EXPECT_EQ(early.on_client_first(rfc_client_first).error(), errc::auth_protocol);  // stays failed

  server_exchange twice = server_after_first();
  EXPECT_EQ(twice.on_client_first(rfc_client_first).error(), errc::auth_protocol);

  server_exchange failed = server_after_first();
  EXPECT_FALSE(failed.on_client_final(without_last_char(pg_client_final)));
  EXPECT_EQ(failed.on_client_final(pg_client_final).error(), errc::auth_protocol);  // no retry
  EXPECT_FALSE(failed.authenticated());
}

TEST(ScramServer, UnusableInjectedNonceStartsFailed) {
  server_exchange server{pencil_verifier(), "has,comma"};
  EXPECT_EQ(server.on_client_first(rfc_client_first).error(), errc::auth_protocol);
}

TEST(ScramClient, RejectsTamperedServerSignature) {
  client_exchange client = client_after_first();
  ASSERT_TRUE(client.on_server_first(rfc_server_first));
  std::string tampered{pg_server_final};
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(client.on_server_final(tampered).error(), errc::auth_failed);
}

TEST(ScramClient, ServerErrorIsAuthFailed) {
  client_exchange client = client_after_first();
  ASSERT_TRUE(client.on_server_first(rfc_server_first));
  EXPECT_EQ(client.on_server_final("e=invalid-proof").error(), errc::auth_failed);
}

TEST(ScramClient, RejectsBadServerFinal) {
  for (std::string_view bad :
       {"", "v=", "v=AAAA", "x=1", "v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=,x=1"}) {
    client_exchange client = client_after_first();
    ASSERT_TRUE(client.on_server_first(rfc_server_first));
    EXPECT_EQ(client.on_server_final(bad).error(), errc::auth_protocol) << bad;
  }
}

TEST(ScramClient, RejectsHugeIterationCountsWithoutHashing) {
  // At 10^9 rounds PBKDF2 would run for minutes; the bound must trip before any hashing.
  const std::string head = "r=rOprNGfwEbeRWgbNEkqOsrv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=";
  for (std::string_view count : {"10000001", "999999999", "2147483648", "4294967296", "0", "-1",
                                 "+4096", " 4096", "", "4k"}) {
    client_exchange client = client_after_first();
    EXPECT_EQ(client.on_server_first(head + std::string{count}).error(), errc::auth_protocol)
        << count;
  }
  client_exchange bound = client_after_first();
  EXPECT_TRUE(bound.on_server_first(head + "1"));
}

TEST(ScramClient, RejectsBadServerFirst) {
  const std::string big_salt = detail::base64_encode(std::vector<std::byte>(max_salt_size + 1));
  for (const std::string& bad : {
           std::string{
               "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"},  // no server part
           std::string{"r=someoneElsesNonce,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"},
           std::string{"m=x,r=rOprNGfwEbeRWgbNEkqOsrv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"},
           std::string{"r=rOprNGfwEbeRWgbNEkqOsrv,i=4096"},                           // no salt
           std::string{"r=rOprNGfwEbeRWgbNEkqOsrv,s=W22ZaJ0SNY7soEsUEjb6gQ=="},       // no count
           std::string{"r=rOprNGfwEbeRWgbNEkqOsrv,s=,i=4096"},                        // empty salt
           std::string{"r=rOprNGfwEbeRWgbNEkqOsrv,s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096"},  // unpadded
           std::string{"r=rOprNGfwEbeRWgbNEkqOsrv,s= W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"},
           std::string{"r=rOprNGfwEbeRWgbNEkqOsrv,s=" + big_salt + ",i=4096"},
           std::string{"r=rOprNGfwEbeRWgbNEkqOsrv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x=1"},
           std::string{"s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOsrv,i=4096"},
       }) {
    client_exchange client = client_after_first();
    EXPECT_EQ(client.on_server_first(bad).error(), errc::auth_protocol) << bad;
  }
}

TEST(ScramClient, OutOfOrderCallsFail) {
  client_exchange early{"pencil", std::string{rfc_client_nonce}};
  EXPECT_EQ(early.on_server_first(rfc_server_first).error(), errc::auth_protocol);

  client_exchange no_first = client_after_first();
  EXPECT_EQ(no_first.on_server_final(pg_server_final).error(), errc::auth_protocol);

  client_exchange done = client_after_first();
  ASSERT_TRUE(done.on_server_first(rfc_server_first));
  ASSERT_TRUE(done.on_server_final(pg_server_final));
  EXPECT_EQ(done.on_server_final(pg_server_final).error(), errc::auth_protocol);
}

TEST(ScramMock, UnknownUserLooksLikeAWrongPassword) {
  const verifier mock = mock_verifier("nobody");
  const verifier real = make_verifier("pencil");
  EXPECT_EQ(mock.iterations, real.iterations);
  EXPECT_EQ(mock.salt.size(), real.salt.size());
  for (std::string_view password : {"", "pencil", "nobody"}) {
    server_exchange server{mock};
    client_exchange client{std::string{password}};
    auto server_first = server.on_client_first(client.client_first());
    ASSERT_TRUE(server_first);
    auto client_final = client.on_server_first(*server_first);
    ASSERT_TRUE(client_final);
    EXPECT_EQ(server.on_client_final(*client_final).error(), errc::auth_failed);
  }
}

TEST(ScramMock, StablePerUserAndUnrelatedAcrossUsers) {
  const verifier a1 = mock_verifier("alice"), a2 = mock_verifier("alice");
  const verifier b = mock_verifier("bob");
  EXPECT_EQ(format_verifier(a1), format_verifier(a2));
  EXPECT_NE(a1.salt, b.salt);
  EXPECT_NE(a1.stored_key, b.stored_key);
  EXPECT_NE(a1.stored_key, a1.server_key);
}

}  // namespace
}  // namespace dw::protocol::scram
