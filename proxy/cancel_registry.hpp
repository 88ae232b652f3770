// Maps the cancel keys the proxy hands to clients onto the backend that runs their queries.
// Clients never see a backend's own key (BackendKeyData is replaced), so a CancelRequest
// can only reach the backend through this table. Shared by all workers; the lock is taken
// once per session start/end and per cancel request, never per message.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace dw::proxy {

/// Where to send a CancelRequest so it reaches one backend process.
struct cancel_target {
  std::string host;       ///< hostname/IP, or a directory for a Unix socket
  std::uint16_t port = 0;
  std::int32_t process_id = 0;
  std::int32_t secret_key = 0;
};

struct cancel_key {
  std::int32_t process_id;
  std::int32_t secret_key;
};

class cancel_registry {
 public:
  /// Issues a fresh key for a session; the key is unique among live sessions.
  [[nodiscard]] cancel_key add(const cancel_target& target);
  /// Points an existing key at another backend (after a flip).
  void update(const cancel_key& key, const cancel_target& target);
  void remove(const cancel_key& key);
  /// The target for a key, when both halves match (constant-time on the secret).
  [[nodiscard]] std::optional<cancel_target> find(const cancel_key& key) const;

 private:
  struct entry {
    std::int32_t secret_key;
    cancel_target target;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::int32_t, entry> entries_;
};

}  // namespace dw::proxy
