#include "proxy/listener.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <spdlog/spdlog.h>

#include <netinet/tcp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>

#include "proxy/session.hpp"
#include "proxy/worker.hpp"

namespace dw::proxy {
namespace {

std::atomic<std::uint64_t> next_session_id{1};
std::atomic<std::size_t> next_worker{0};

asio::generic::stream_protocol::endpoint tcp_endpoint(const config::listen_address& a) {
  namespace ip = asio::ip;
  ip::address addr;
  if (a.host == "*" || a.host.empty()) {
    addr = ip::address_v6::any();  // dual-stack: IPv4 clients arrive as mapped addresses
  } else if (a.host == "localhost") {
    addr = ip::address_v4::loopback();
  } else {
    addr = ip::make_address(a.host);
  }
  return asio::generic::stream_protocol::endpoint{ip::tcp::endpoint{addr, a.port}};
}

}  // namespace

listener::listener(asio::io_context& control, const config::listen_address& address,
                   std::vector<std::unique_ptr<worker>>& workers)
    : control_{control}, workers_{workers}, acceptor_{control} {
  try {
    if (address.type == config::listen_address::kind::unix_socket) {
      tcp_ = false;
      unix_path_ = address.unix_dir + "/.s.PGSQL." + std::to_string(address.port);
      name_ = "unix:" + unix_path_;
      ::unlink(unix_path_.c_str());  // a stale file from a crashed run blocks bind
      asio::generic::stream_protocol::endpoint ep{asio::local::stream_protocol::endpoint{unix_path_}};
      protocol_ = ep.protocol();
      acceptor_.open(ep.protocol());
      acceptor_.bind(ep);
      // Same default as PostgreSQL's unix_socket_permissions: access is decided by auth.
      ::chmod(unix_path_.c_str(), 0777);
    } else {
      auto ep = tcp_endpoint(address);
      name_ = address.host + ":" + std::to_string(address.port);
      protocol_ = ep.protocol();
      acceptor_.open(ep.protocol());
      acceptor_.set_option(asio::socket_base::reuse_address(true));
      if (ep.protocol().family() == AF_INET6) {
        int off = 0;
        ::setsockopt(acceptor_.native_handle(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
      }
      acceptor_.bind(ep);
    }
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("cannot listen on " + (name_.empty() ? address.host : name_) + ": " +
                             e.code().message());
  }
}

listener::~listener() { stop(); }

void listener::listen() {
  // Separate from binding: clients should find the port open only once the whole proxy
  // (control socket, HTTP API) is up, so "accepting" really means "ready".
  error_code ec;
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + name_ + ": " + ec.message());
}

void listener::start() {
  spdlog::info("listening on {}", name_);
  asio::co_spawn(control_, accept_loop(), asio::detached);
}

void listener::stop() noexcept {
  error_code ec;
  if (acceptor_.is_open()) acceptor_.close(ec);
  if (!unix_path_.empty()) {
    ::unlink(unix_path_.c_str());
    unix_path_.clear();
  }
}

awaitable<void> listener::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      // EMFILE and friends: keep serving existing clients, retry shortly.
      spdlog::error("accept on {} failed: {}", name_, ec.message());
      asio::steady_timer backoff{control_, std::chrono::milliseconds(100)};
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    if (tcp_) {
      int one = 1;
      ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    hand_over(socket.release());
  }
}

void listener::hand_over(int fd) {
  worker& w = *workers_[next_worker.fetch_add(1) % workers_.size()];
  asio::post(w.context(), [&w, fd, protocol = protocol_] {
    error_code ec;
    socket_type s{w.context()};
    s.assign(protocol, fd, ec);
    if (ec) {
      spdlog::error("cannot adopt accepted socket: {}", ec.message());
      ::close(fd);
      return;
    }
    ++w.stats().clients_accepted;
    session::start(std::make_shared<session>(w, std::move(s), next_session_id.fetch_add(1)));
  });
}

}  // namespace dw::proxy
