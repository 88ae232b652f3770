// Knows, from message types alone, whether a session is between transactions with nothing
// in flight: the only moment the proxy may close it gracefully or (issue 3) swap its primary.
// Pure: fed by the relay loops, no I/O.
#pragma once

#include <cstdint>

namespace dw::proxy {

class boundary_tracker {
 public:
  /// A frame the client sent and the proxy forwarded.
  void on_client_message(char type) noexcept {
    switch (type) {
      case 'Q': case 'F': ++awaiting_ready_; unsynced_ = false; break;
      case 'S': ++awaiting_ready_; unsynced_ = false; break;
      case 'P': case 'B': case 'E': case 'D': case 'C': case 'H': unsynced_ = true; break;
      default: break;
    }
  }
  /// ReadyForQuery from the primary with its transaction status ('I', 'T' or 'E').
  void on_ready_for_query(char status) noexcept {
    if (awaiting_ready_ > 0) --awaiting_ready_;
    transaction_status_ = status;
  }
  /// No transaction open, no query or extended-protocol batch awaiting its answer.
  [[nodiscard]] bool idle() const noexcept {
    return awaiting_ready_ == 0 && !unsynced_ && transaction_status_ == 'I';
  }
  [[nodiscard]] char transaction_status() const noexcept { return transaction_status_; }
  [[nodiscard]] std::uint32_t awaiting_ready() const noexcept { return awaiting_ready_; }

 private:
  std::uint32_t awaiting_ready_ = 0;
  bool unsynced_ = false;
  char transaction_status_ = 'I';
};

}  // namespace dw::proxy
