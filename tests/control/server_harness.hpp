// A control_server on a real Unix socket in a temp dir, driven by fake_proxy, with its
// io_context on a background thread like the proxy's control thread. Plus a raw line client
// for the cases dwctl never produces (over-long lines, pipelining).
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>

#include "control/cli.hpp"
#include "control/control_protocol.hpp"
#include "control/control_server.hpp"
#include "tests/control/control_test_support.hpp"

namespace dw::control::testing {

class server_test : public ::testing::Test {
 protected:
  void SetUp() override {
    socket_opts.socket_path = dir.file("control.sock");
    service_opts.state_file = dir.file("state.json");
  }

  void start(phase initial = phase::passthrough) {
    proxy.update([&](status_snapshot& s) { s.current = initial; });
    service = std::make_unique<command_service>(ctx, proxy, service_opts,
                                                persisted_state{initial, {}, "test", false});
    server = std::make_unique<control_server>(ctx, *service, socket_opts);
    auto r = server->start();
    ASSERT_TRUE(r) << r.error().message;
    io = std::thread{[this] { ctx.run(); }};
  }

  void TearDown() override {
    if (server) server->stop();
    if (service) service->stop();
    if (io.joinable()) io.join();
    server.reset();
    service.reset();
  }

  /// One request over a fresh connection, as dwctl does it.
  response send(const request& r) {
    auto answer =
        exchange(socket_opts.socket_path.string(), write_request(r), std::chrono::seconds{10});
    EXPECT_TRUE(answer) << answer.error().message;
    if (!answer) return error_response("no answer");
    auto parsed = parse_response(r.cmd, *answer);
    EXPECT_TRUE(parsed) << parsed.error().message;
    return parsed ? *parsed : error_response("bad answer");
  }

  temp_dir dir;
  fake_proxy proxy;
  service_options service_opts;
  socket_options socket_opts;
  boost::asio::io_context ctx;
  std::unique_ptr<command_service> service;
  std::unique_ptr<control_server> server;
  std::thread io;
};

/// A blocking Unix-socket client that sends raw bytes and reads answer lines.
class raw_client {
 public:
  explicit raw_client(const std::filesystem::path& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    const timeval ten_seconds{10, 0};  // a misbehaving server fails the test, not hangs it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &ten_seconds, sizeof ten_seconds);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.string().copy(addr.sun_path, sizeof addr.sun_path - 1);
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;
  ~raw_client() { ::close(fd_); }

  [[nodiscard]] bool connected() const { return connected_; }

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  /// The next line without '\n'; std::nullopt at end of stream.
  std::optional<std::string> read_line() {
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

}  // namespace dw::control::testing
