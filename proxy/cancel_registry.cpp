#include "proxy/cancel_registry.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace dw::proxy {
namespace {

std::int32_t random_int32() {
  std::int32_t v = 0;
  // RAND_bytes failing means the CSPRNG is unusable; a guessable key would let anyone cancel
  // other users' queries, so there is no fallback.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) std::abort();
  return v;
}

}  // namespace

cancel_key cancel_registry::add(const cancel_target& target) {
  std::lock_guard lock{mutex_};
  for (;;) {
    // Positive process ids look like real ones to clients that print them.
    const std::int32_t pid = random_int32() & 0x7fffffff;
    if (pid == 0 || entries_.contains(pid)) continue;
    const cancel_key key{pid, random_int32()};
    entries_.emplace(pid, entry{key.secret_key, target});
    return key;
  }
}

void cancel_registry::update(const cancel_key& key, const cancel_target& target) {
  std::lock_guard lock{mutex_};
  if (auto it = entries_.find(key.process_id); it != entries_.end()) it->second.target = target;
}

void cancel_registry::remove(const cancel_key& key) {
  std::lock_guard lock{mutex_};
  entries_.erase(key.process_id);
}

std::optional<cancel_target> cancel_registry::find(const cancel_key& key) const {
  std::lock_guard lock{mutex_};
  auto it = entries_.find(key.process_id);
  if (it == entries_.end()) return std::nullopt;
  if (CRYPTO_memcmp(&it->second.secret_key, &key.secret_key, sizeof key.secret_key) != 0)
    return std::nullopt;
  return it->second.target;
}

}  // namespace dw::proxy
