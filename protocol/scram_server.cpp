// server_exchange: the proxy verifying a client's SCRAM-SHA-256 proof against a stored
// verifier, following RFC 5802 section 5 and PostgreSQL's auth-scram.c. The proxy never sees
// the client's password, only StoredKey/ServerKey, and answers "v=" only after the proof holds.
#include "protocol/scram.hpp"
#include "protocol/scram_attributes.hpp"
#include "protocol/scram_primitives.hpp"
#include "protocol/secure_compare.hpp"

namespace dw::protocol::scram {

server_exchange::server_exchange(verifier v, std::string server_nonce)
    : verifier_(std::move(v)),
      server_nonce_(server_nonce.empty() ? detail::random_nonce() : std::move(server_nonce)),
      state_(state::expect_client_first) {
  const bool usable = detail::is_printable_nonce(server_nonce_) &&
                      verifier_.iterations >= min_iterations &&
                      verifier_.iterations <= max_iterations && !verifier_.salt.empty() &&
                      verifier_.salt.size() <= max_salt_size;
  if (!usable) state_ = state::failed;
}

server_exchange::~server_exchange() {
  detail::wipe(verifier_.stored_key);
  detail::wipe(verifier_.server_key);
}

result<std::string> server_exchange::on_client_first(std::string_view client_first) {
  if (state_ != state::expect_client_first) {
    state_ = state::failed;
    return errc::auth_protocol;
  }
  auto r = parse_client_first(client_first);
  state_ = r ? state::expect_client_final : state::failed;
  return r;
}

result<std::string> server_exchange::on_client_final(std::string_view client_final) {
  if (state_ != state::expect_client_final) {
    state_ = state::failed;
    return errc::auth_protocol;
  }
  auto r = verify_client_final(client_final);
  state_ = r ? state::done : state::failed;
  return r;
}

result<std::string> server_exchange::parse_client_first(std::string_view msg) {
  if (!detail::acceptable_message(msg) || msg.size() < 3) return errc::auth_protocol;
  // gs2-header. "p=" asks for channel binding, which we never advertise (no -PLUS mechanism):
  // going along would be a lie, so refuse. "y" means "I could bind but think you cannot"; it
  // signals a downgrade only to a server that did offer -PLUS, so we accept it like "n".
  if (msg[0] != 'n' && msg[0] != 'y') return errc::auth_protocol;
  // The authzid ("a=") sits between the two commas. Like PostgreSQL we refuse it rather than
  // ignore it: it asks to act as another user, and silently dropping that request would let a
  // client believe it got an identity it did not.
  if (msg[1] != ',' || msg[2] != ',') return errc::auth_protocol;
  const std::string_view gs2_header = msg.substr(0, 3);
  const std::string_view bare = msg.substr(3);

  detail::attribute_reader reader{bare};
  // The first attribute must be the user name; a reserved "m=" extension lands here and is
  // refused as RFC 5802 requires. PostgreSQL clients send "n=" (the user is in the startup
  // packet) and PostgreSQL ignores the value, so we accept any value and ignore it too.
  const auto user = reader.next();
  if (!user || user->name != 'n') return errc::auth_protocol;
  const auto client_nonce = reader.expect('r');
  if (!client_nonce || !detail::is_printable_nonce(*client_nonce)) return errc::auth_protocol;
  while (!reader.at_end()) {
    if (!reader.next()) return errc::auth_protocol;  // extensions: well-formed, then ignored
  }

  channel_binding_ = detail::base64_encode(detail::bytes_of(gs2_header));
  nonce_.assign(*client_nonce);
  nonce_ += server_nonce_;
  std::string server_first = "r=" + nonce_ + ",s=" + detail::base64_encode(verifier_.salt) +
                             ",i=" + std::to_string(verifier_.iterations);
  auth_prefix_.assign(bare);
  auth_prefix_ += ',';
  auth_prefix_ += server_first;
  auth_prefix_ += ',';
  return server_first;
}

result<std::string> server_exchange::verify_client_final(std::string_view msg) {
  if (!detail::acceptable_message(msg)) return errc::auth_protocol;
  detail::attribute_reader reader{msg};
  // c= must repeat the gs2 header the client sent first: a man in the middle that rewrote
  // "y,," to "n,," is caught here.
  const auto binding = reader.expect('c');
  if (!binding || *binding != channel_binding_) return errc::auth_protocol;
  const auto nonce = reader.expect('r');
  if (!nonce) return errc::auth_protocol;
  std::size_t proof_at = reader.position();
  auto attr = reader.next();
  while (attr && attr->name != 'p') {  // extensions: ignored, but covered by the proof
    proof_at = reader.position();
    attr = reader.next();
  }
  if (!attr || !reader.at_end()) return errc::auth_protocol;
  detail::scrubbed<detail::key> proof;
  if (!detail::base64_decode_key(attr->value, proof.value)) return errc::auth_protocol;

  // The nonce must be ours exactly (client part + server part), or the client could replay an
  // old proof. Like PostgreSQL, a mismatch is a failed login, not a protocol error.
  if (!constant_time_equal(detail::bytes_of(*nonce), detail::bytes_of(nonce_))) {
    return errc::auth_failed;
  }
  // AuthMessage := client-first-bare "," server-first "," client-final-without-proof.
  const std::string auth_message = auth_prefix_ + std::string{msg.substr(0, proof_at)};
  detail::key server_signature{};
  if (!proof_holds(auth_message, proof.value) ||
      !detail::hmac_sha256(verifier_.server_key, detail::bytes_of(auth_message),
                           server_signature)) {
    return errc::auth_failed;
  }
  return "v=" + detail::base64_encode(server_signature);
}

bool server_exchange::proof_holds(std::string_view auth_message,
                                  const std::array<std::byte, key_size>& proof) const {
  // ClientKey := ClientProof XOR HMAC(StoredKey, AuthMessage); the proof holds iff
  // H(ClientKey) == StoredKey. Every intermediate reveals the ClientKey (enough to log in as
  // the user), so all are scrubbed, and the final comparison is constant-time.
  detail::scrubbed<detail::key> signature, client_key, stored_key;
  if (!detail::hmac_sha256(verifier_.stored_key, detail::bytes_of(auth_message), signature.value)) {
    return false;
  }
  for (std::size_t i = 0; i < key_size; ++i) {
    client_key.value[i] = proof[i] ^ signature.value[i];
  }
  return detail::sha256(client_key.value, stored_key.value) &&
         constant_time_equal(stored_key.value, verifier_.stored_key);
}

}  // namespace dw::protocol::scram
