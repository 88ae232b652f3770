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

#include "tests/common/stream_client.hpp"
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
class raw_client : public dw::test::stream_client {
 public:
  explicit raw_client(const std::filesystem::path& path)
      : stream_client{AF_UNIX, address(path).as_sockaddr(), sizeof(sockaddr_un)} {}

  /// The next line without '\n'; std::nullopt at end of stream.
  std::optional<std::string> read_line() {
    for (;;) {
      if (auto nl = buffer().find('\n'); nl != std::string::npos) {
        std::string line = buffer().substr(0, nl);
        buffer().erase(0, nl + 1);
        return line;
      }
      if (!fill()) return std::nullopt;
    }
  }

 private:
  struct unix_address {
    sockaddr_un value{};
    [[nodiscard]] const sockaddr* as_sockaddr() const {
      return reinterpret_cast<const sockaddr*>(&value);
    }
  };
  static unix_address address(const std::filesystem::path& path) {
    unix_address a;
    a.value.sun_family = AF_UNIX;
    path.string().copy(a.value.sun_path, sizeof a.value.sun_path - 1);
    return a;
  }
};

}  // namespace dw::control::testing
