// Accepts client connections on one TCP or Unix address and hands each socket to a worker,
// round-robin. The acceptors live on the control thread's io_context.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include <boost/asio/basic_socket_acceptor.hpp>

#include "proxy/asio.hpp"

namespace dw::proxy {

class worker;

class listener {
 public:
  /// Binds (so a taken address fails startup early); throws std::runtime_error naming it.
  listener(asio::io_context& control, const config::listen_address& address,
           std::vector<std::unique_ptr<worker>>& workers);
  ~listener();
  /// Opens the port to clients; throws std::runtime_error naming the address on failure.
  void listen();
  /// Starts accepting (after listen(), once the workers run).
  void start();
  void stop() noexcept;
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  awaitable<void> accept_loop();
  void hand_over(int fd);

  asio::io_context& control_;
  std::vector<std::unique_ptr<worker>>& workers_;
  asio::basic_socket_acceptor<asio::generic::stream_protocol> acceptor_;
  asio::generic::stream_protocol protocol_{AF_INET, IPPROTO_TCP};
  std::string name_;
  std::string unix_path_;  // removed again on stop
  bool tcp_ = true;
};

}  // namespace dw::proxy
