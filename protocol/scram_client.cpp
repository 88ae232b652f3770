// client_exchange: the proxy logging in to a backend with SCRAM-SHA-256, following RFC 5802
// section 5 and libpq's fe-auth-scram.c. Besides proving the password it checks the server's
// signature, so a backend that does not hold the verifier cannot pass itself off as the real one.
#include "protocol/scram.hpp"
#include "protocol/scram_attributes.hpp"
#include "protocol/scram_primitives.hpp"
#include "protocol/secure_compare.hpp"

namespace dw::protocol::scram {
namespace {

// base64("n,,"): we never use channel binding, so the echo is constant.
constexpr std::string_view channel_binding = "biws";

struct server_first_fields {
  std::string_view nonce;
  std::vector<std::byte> salt;
  int iterations;
};

// "r=<nonce>,s=<salt>,i=<count>", nothing before or after (libpq refuses trailing extensions
// too; a leading reserved "m=" fails the 'r' check).
std::optional<server_first_fields> parse_server_first(std::string_view msg,
                                                      std::string_view client_nonce) {
  if (!detail::acceptable_message(msg)) return std::nullopt;
  detail::attribute_reader reader{msg};
  // The server must extend our nonce with a part of its own: an empty server part would let a
  // recorded exchange be replayed against us.
  const auto nonce = reader.expect('r');
  if (!nonce || !detail::is_printable_nonce(*nonce) || nonce->size() <= client_nonce.size() ||
      !nonce->starts_with(client_nonce)) {
    return std::nullopt;
  }
  const auto salt_text = reader.expect('s');
  auto salt = salt_text ? detail::base64_decode(*salt_text, max_salt_size) : std::nullopt;
  // The iteration bound is the DoS guard: without it a hostile backend picks our CPU time.
  const auto iterations_text = reader.expect('i');
  const auto iterations =
      iterations_text ? detail::parse_iterations(*iterations_text) : std::nullopt;
  if (!salt || salt->empty() || !iterations || !reader.at_end()) return std::nullopt;
  return server_first_fields{*nonce, std::move(*salt), *iterations};
}

}  // namespace

client_exchange::client_exchange(std::string password, std::string client_nonce)
    : password_(std::move(password)),
      client_nonce_(client_nonce.empty() ? detail::random_nonce() : std::move(client_nonce)),
      client_first_bare_("n=,r=" + client_nonce_),
      state_(detail::is_printable_nonce(client_nonce_) ? state::initial : state::failed) {}

client_exchange::~client_exchange() { detail::wipe(password_); }

std::string client_exchange::client_first() {
  if (state_ == state::initial) state_ = state::expect_server_first;
  return "n,," + client_first_bare_;
}

result<std::string> client_exchange::on_server_first(std::string_view server_first) {
  if (state_ != state::expect_server_first) {
    state_ = state::failed;
    return errc::auth_protocol;
  }
  auto r = answer_server_first(server_first);
  state_ = r ? state::expect_server_final : state::failed;
  detail::wipe(password_);  // never needed again: keep it in memory no longer than necessary
  return r;
}

result<std::string> client_exchange::answer_server_first(std::string_view msg) {
  const auto fields = parse_server_first(msg, client_nonce_);
  if (!fields) return errc::auth_protocol;

  detail::scrubbed<detail::key> salted;
  detail::scrubbed<detail::derived_keys> keys;
  if (!detail::salted_password(detail::prepared_password(password_), fields->salt,
                               fields->iterations, salted.value) ||
      !detail::derive_keys(salted.value, keys.value)) {
    return errc::auth_failed;
  }
  // AuthMessage := client-first-bare "," server-first "," client-final-without-proof;
  // ClientProof := ClientKey XOR HMAC(StoredKey, AuthMessage).
  std::string final_message = "c=" + std::string{channel_binding} + ",r=";
  final_message += fields->nonce;
  const std::string auth_message =
      client_first_bare_ + ',' + std::string{msg} + ',' + final_message;
  detail::scrubbed<detail::key> signature, proof;
  if (!detail::hmac_sha256(keys.value.stored_key, detail::bytes_of(auth_message),
                           signature.value) ||
      !detail::hmac_sha256(keys.value.server_key, detail::bytes_of(auth_message),
                           server_signature_)) {
    return errc::auth_failed;
  }
  for (std::size_t i = 0; i < key_size; ++i) {
    proof.value[i] = keys.value.client_key[i] ^ signature.value[i];
  }
  final_message += ",p=";
  final_message += detail::base64_encode(proof.value);
  return final_message;
}

result<void> client_exchange::on_server_final(std::string_view msg) {
  if (state_ != state::expect_server_final) {
    state_ = state::failed;
    return errc::auth_protocol;
  }
  state_ = state::failed;
  if (!detail::acceptable_message(msg)) return errc::auth_protocol;
  detail::attribute_reader reader{msg};
  const auto attr = reader.next();
  if (!attr) return errc::auth_protocol;
  // "e=": the server rejected our proof. Its text is not passed on; it is the peer's words.
  if (attr->name == 'e') return errc::auth_failed;
  if (attr->name != 'v' || !reader.at_end()) return errc::auth_protocol;
  detail::key signature{};
  if (!detail::base64_decode_key(attr->value, signature)) return errc::auth_protocol;
  if (!constant_time_equal(signature, server_signature_)) return errc::auth_failed;
  state_ = state::done;
  return {};
}

}  // namespace dw::protocol::scram
