#include "tests/support/raw_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "tests/support/run_command.hpp"

namespace dw::test {
namespace {

using clock = std::chrono::steady_clock;

int remaining_ms(clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

}  // namespace

raw_client::raw_client(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  ignore_sigpipe();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    pollfd p{fd_, POLLOUT, 0};
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (errno != EINPROGRESS || ::poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0) {
      ::close(fd_);
      throw std::runtime_error("raw_client: cannot connect to " + host + ":" + std::to_string(port));
    }
  }
}

raw_client raw_client::adopt_duplicate(int fd) {
  ignore_sigpipe();
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw std::runtime_error(std::string("dup: ") + std::strerror(errno));
  ::fcntl(copy, F_SETFL, ::fcntl(copy, F_GETFL) | O_NONBLOCK);
  return raw_client{copy};
}

raw_client::~raw_client() {
  if (fd_ >= 0) ::close(fd_);
}

raw_client::raw_client(raw_client&& other) noexcept
    : fd_{std::exchange(other.fd_, -1)}, buffer_{std::move(other.buffer_)} {}

bool raw_client::send(std::string_view bytes) {
  const auto deadline = clock::now() + std::chrono::seconds{10};
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) != 1) return false;
      continue;
    }
    return false;
  }
  return true;
}

raw_client::fill_status raw_client::fill(clock::time_point deadline) {
  for (;;) {
    std::array<char, 65536> buf{};
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n > 0) {
      buffer_.append(buf.data(), static_cast<std::size_t>(n));
      return fill_status::data;
    }
    if (n == 0) return fill_status::closed;
    if (errno != EAGAIN && errno != EINTR) return fill_status::closed;  // ECONNRESET and kin
    pollfd p{fd_, POLLIN, 0};
    const int ms = remaining_ms(deadline);
    if (ms == 0 || ::poll(&p, 1, ms) == 0) return fill_status::timeout;
  }
}

raw_client::read_result raw_client::read_message(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  for (;;) {
    auto split = split_backend_messages(buffer_);
    if (!split.messages.empty()) {
      const std::size_t first_size = 5 + split.messages.front().body.size();
      buffer_.erase(0, first_size);
      return {status::message, std::move(split.messages.front())};
    }
    switch (fill(deadline)) {
      case fill_status::data: break;
      case fill_status::closed: return {status::closed, {}};
      case fill_status::timeout: return {status::timeout, {}};
    }
  }
}

std::optional<char> raw_client::read_byte(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  while (buffer_.empty()) {
    if (fill(deadline) != fill_status::data) return std::nullopt;
  }
  const char c = buffer_.front();
  buffer_.erase(0, 1);
  return c;
}

raw_client::drain_result raw_client::read_until_closed(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  drain_result out;
  for (;;) {
    const auto st = fill(deadline);
    if (st == fill_status::data) continue;
    out.closed = st == fill_status::closed;
    out.bytes = std::exchange(buffer_, {});
    return out;
  }
}

}  // namespace dw::test
