// A blocking TCP client with per-call deadlines for sending arbitrary bytes to the proxy and
// reading back whatever comes: single bytes (SSLRequest answers), v3 backend messages, or
// everything up to the peer's close. A reset counts as closed: a peer that closes with our
// unread bytes pending sends RST, which is still a close.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tests/support/wire.hpp"

namespace dw::test {

class raw_client {
 public:
  /// Connects to host:port (IPv4) or throws.
  raw_client(const std::string& host, std::uint16_t port,
             std::chrono::milliseconds timeout = std::chrono::seconds{5});
  /// Takes over a duplicate of an already connected socket (e.g. PQsocket of a logged-in
  /// libpq connection whose buffers are empty), to send it what libpq never would.
  static raw_client adopt_duplicate(int fd);
  ~raw_client();
  raw_client(raw_client&& other) noexcept;
  raw_client& operator=(raw_client&&) = delete;
  raw_client(const raw_client&) = delete;

  /// Sends all of `bytes`; false when the peer already closed or reset.
  bool send(std::string_view bytes);

  enum class status { message, closed, timeout };
  struct read_result {
    status st = status::timeout;
    backend_message msg;  ///< valid when st == message
  };
  /// Reads one v3 backend message.
  [[nodiscard]] read_result read_message(std::chrono::milliseconds timeout);

  /// Reads a single raw byte (the 'S'/'N' answer to SSLRequest); nullopt on close or timeout.
  [[nodiscard]] std::optional<char> read_byte(std::chrono::milliseconds timeout);

  struct drain_result {
    std::string bytes;  ///< everything received (including bytes buffered before the call)
    bool closed = false;
  };
  /// Reads until the peer closes or the deadline passes.
  [[nodiscard]] drain_result read_until_closed(std::chrono::milliseconds timeout);

  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  explicit raw_client(int fd) noexcept : fd_{fd} {}
  enum class fill_status { data, closed, timeout };
  fill_status fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace dw::test
