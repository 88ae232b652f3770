// SCRAM-SHA-256 exchanges (RFC 5802 / RFC 7677) as PostgreSQL speaks them: server_exchange
// authenticates a client to the proxy, client_exchange logs the proxy in to a backend. Pure
// state machines over message text: the caller moves the bytes (SASLInitialResponse,
// SASLResponse, AuthenticationSASLContinue/Final). No channel binding: the proxy advertises only
// "SCRAM-SHA-256", never "-PLUS". Each object runs one exchange; after any error it stays failed.
//
// Passwords are not SASLprep-normalised. PostgreSQL applies SASLprep and falls back to the raw
// bytes when that fails; SASLprep is the identity on ASCII, so ASCII passwords always match. A
// non-ASCII password is used as raw UTF-8 bytes, which matches PostgreSQL whenever SASLprep leaves
// it unchanged (NFKC-stable text, no non-ASCII spaces or mapped-to-nothing characters) or rejects
// it. A password that SASLprep would change (e.g. decomposed accents, full-width letters) derives
// different keys here than in PostgreSQL/libpq, so authentication with it fails.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/errc.hpp"
#include "protocol/scram_verifier.hpp"

namespace dw::protocol::scram {

/// The proxy as SCRAM server. Errors: errc::auth_protocol when the client breaks the message
/// rules (syntax, bounds, channel binding "p=", "m=" extensions, authzid, wrong c=, calls out
/// of order); errc::auth_failed when the nonce echo or the proof does not verify.
class server_exchange {
 public:
  /// `server_nonce` empty: 18 random bytes, base64. Injected nonces (tests) must be printable
  /// ASCII without ','; otherwise the exchange starts failed.
  explicit server_exchange(verifier v, std::string server_nonce = {});
  server_exchange(const server_exchange&) = delete;
  server_exchange& operator=(const server_exchange&) = delete;
  server_exchange(server_exchange&&) noexcept = default;
  server_exchange& operator=(server_exchange&&) noexcept = default;
  ~server_exchange();

  /// client-first-message (SASLInitialResponse data) -> server-first-message.
  [[nodiscard]] result<std::string> on_client_first(std::string_view client_first);
  /// client-final-message -> server-final-message ("v=..."), sent only after the proof verified.
  [[nodiscard]] result<std::string> on_client_final(std::string_view client_final);
  /// True once on_client_final succeeded.
  [[nodiscard]] bool authenticated() const noexcept { return state_ == state::done; }

 private:
  enum class state : std::uint8_t { expect_client_first, expect_client_final, done, failed };
  [[nodiscard]] result<std::string> parse_client_first(std::string_view client_first);
  [[nodiscard]] result<std::string> verify_client_final(std::string_view client_final);
  [[nodiscard]] bool proof_holds(std::string_view auth_message,
                                 const std::array<std::byte, key_size>& proof) const;

  verifier verifier_;
  std::string server_nonce_;
  std::string channel_binding_;  ///< expected c= value: base64 of the client's gs2 header
  std::string nonce_;            ///< client nonce + server nonce
  std::string auth_prefix_;      ///< client-first-bare "," server-first ","
  state state_;
};

/// The proxy as SCRAM client of a backend. Errors: errc::auth_protocol when the server breaks
/// the rules (syntax, bounds, nonce not extending ours, iterations outside [1, 10'000'000]);
/// errc::auth_failed when the server signature is wrong or the server sent "e=".
class client_exchange {
 public:
  /// `client_nonce` empty: 18 random bytes, base64. Injected nonces follow server_exchange's rule.
  explicit client_exchange(std::string password, std::string client_nonce = {});
  client_exchange(const client_exchange&) = delete;
  client_exchange& operator=(const client_exchange&) = delete;
  client_exchange(client_exchange&&) noexcept = default;
  client_exchange& operator=(client_exchange&&) noexcept = default;
  ~client_exchange();

  /// "n,,n=,r=<nonce>": no channel binding, empty user name (the backend takes the user from
  /// the StartupMessage, as libpq does).
  [[nodiscard]] std::string client_first();
  /// server-first-message -> client-final-message. Runs PBKDF2 (up to max_iterations rounds).
  [[nodiscard]] result<std::string> on_server_first(std::string_view server_first);
  /// Verifies the server signature. Only after this succeeds has the backend proved it knows
  /// the password; do not trust an AuthenticationOk that arrives before it.
  [[nodiscard]] result<void> on_server_final(std::string_view server_final);

 private:
  enum class state : std::uint8_t {
    initial,
    expect_server_first,
    expect_server_final,
    done,
    failed
  };
  [[nodiscard]] result<std::string> answer_server_first(std::string_view server_first);

  std::string password_;
  std::string client_nonce_;
  std::string client_first_bare_;
  std::array<std::byte, key_size> server_signature_{};  ///< expected "v=" value
  state state_;
};

}  // namespace dw::protocol::scram
