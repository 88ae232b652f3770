// A blocking stream-socket client for tests (TCP or Unix): connect with a receive timeout,
// send everything, and buffer what arrives. Protocol-specific readers (lines, HTTP replies)
// build on buffer() and fill(). Header-only, for any test binary.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <string_view>

namespace dw::test {

class stream_client {
 public:
  stream_client(int family, const sockaddr* address, socklen_t length) {
    fd_ = ::socket(family, SOCK_STREAM, 0);
    const timeval ten_seconds{10, 0};  // a misbehaving server fails the test, not hangs it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &ten_seconds, sizeof ten_seconds);
    connected_ = ::connect(fd_, address, length) == 0;
  }
  stream_client(const stream_client&) = delete;
  stream_client& operator=(const stream_client&) = delete;
  ~stream_client() { ::close(fd_); }

  [[nodiscard]] bool connected() const { return connected_; }

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

 protected:
  /// Appends whatever arrives next to buffer(); false at end of stream or timeout.
  bool fill() {
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  std::string& buffer() { return buffer_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

}  // namespace dw::test
