#include "proxy/stream.hpp"

#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <array>

namespace dw::proxy {
namespace {

constexpr std::size_t scratch_size = 64 * 1024;
constexpr std::size_t tls_read_size = 16 * 1024;  // one TLS record
constexpr std::size_t keep_pending_capacity = 64 * 1024;

// Every session on a worker thread reads into the same scratch buffer. This is safe because a
// session finishes with (forwards or copies) what it read before it suspends again.
std::span<std::byte> thread_scratch() {
  thread_local std::array<std::byte, scratch_size> scratch;
  return scratch;
}

}  // namespace

stream::stream(socket_type socket) : socket_{std::move(socket)} {
  error_code ec;
  socket_.non_blocking(true, ec);
}

stream::~stream() = default;

socket_type& stream::lowest_layer() noexcept { return tls_ ? tls_->next_layer() : socket_; }

bool stream::is_open() const noexcept {
  return tls_ ? tls_->next_layer().is_open() : socket_.is_open();
}

void stream::cancel() noexcept {
  error_code ec;
  lowest_layer().cancel(ec);
}

void stream::close() noexcept {
  error_code ec;
  lowest_layer().shutdown(socket_type::shutdown_both, ec);
  lowest_layer().close(ec);
}

std::string stream::peer() const {
  error_code ec;
  const auto& s = tls_ ? tls_->next_layer() : socket_;
  auto ep = s.remote_endpoint(ec);
  if (ec) return "?";
  if (ep.protocol().family() == AF_UNIX) return "unix";
  // Decode the sockaddr ourselves: generic endpoints have no printer.
  char host[64] = {};
  const auto* sa = ep.data();
  unsigned port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return fmt::format("{}:{}", host, port);
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return fmt::format("[{}]:{}", host, port);
  }
  return "?";
}

bool stream::expect_more() const noexcept { return tls_ ? tls_available_ > 0 : last_read_filled_; }

awaitable<std::tuple<error_code>> stream::wait_readable() {
  // Not a coroutine for plain sockets: the caller awaits Asio's operation directly.
  // Waiting re-arms the edge-triggered epoll registration (EPOLL_CTL_MOD), so data that
  // arrived before the wait is not missed. In request/response traffic a read right after
  // the previous one nearly always finds nothing, so waiting first saves a failed recv.
  if (tls_) return fill_tls_input();
  return socket_.async_wait(socket_type::wait_read, use_nothrow);
}

awaitable<std::tuple<error_code>> stream::fill_tls_input() {
  tls_input_.resize(tls_read_size);
  auto [ec, n] = co_await tls_->async_read_some(asio::buffer(tls_input_), use_nothrow);
  tls_available_ = ec ? 0 : n;
  co_return std::tuple<error_code>{ec};
}

boost::system::result<std::span<const std::byte>> stream::read_available() {
  if (tls_) {
    if (tls_available_ == 0) return error_code{asio::error::would_block};
    const std::span<const std::byte> out{tls_input_.data(), tls_available_};
    tls_available_ = 0;
    return out;
  }
  const std::span<std::byte> scratch = thread_scratch();
  error_code ec;
  const std::size_t n = socket_.read_some(asio::buffer(scratch.data(), scratch.size()), ec);
  if (ec) {
    last_read_filled_ = false;
    if (ec == asio::error::try_again) ec = asio::error::would_block;
    return ec;
  }
  last_read_filled_ = n == scratch.size();
  return std::span<const std::byte>{scratch.data(), n};
}

boost::system::result<std::span<const std::byte>> stream::read_if_expected() {
  if (expect_more()) return read_available();
  return error_code{asio::error::would_block};
}

awaitable<boost::system::result<std::span<const std::byte>>> stream::read_some() {
  auto bytes = read_if_expected();
  while (!bytes && bytes.error() == asio::error::would_block) {
    auto [ec] = co_await wait_readable();
    if (ec) co_return ec;
    bytes = read_available();
  }
  co_return bytes;
}

std::size_t stream::write_now(std::span<const std::byte> data, error_code& ec) {
  ec = {};
  if (tls_ || data.empty()) return 0;
  const std::size_t n = socket_.write_some(asio::buffer(data.data(), data.size()), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    return 0;
  }
  return ec ? 0 : n;
}

awaitable<error_code> stream::write_pending(std::span<const std::byte> rest) {
  // The caller's bytes may live in the shared scratch buffer: copy before suspending.
  pending_.assign(rest.begin(), rest.end());
  writing_ = true;
  error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, asio::buffer(pending_), use_nothrow);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(socket_, asio::buffer(pending_), use_nothrow);
  }
  writing_ = false;
  pending_.clear();
  if (pending_.capacity() > keep_pending_capacity) pending_.shrink_to_fit();
  co_return ec;
}

awaitable<error_code> stream::write(std::span<const std::byte> data) {
  error_code ec;
  const std::size_t done = write_now(data, ec);
  if (ec || done == data.size()) co_return ec;
  co_return co_await write_pending(data.subspan(done));
}

void stream::try_write_now(std::span<const std::byte> data) noexcept {
  if (tls_ || writing_) return;  // a TLS record or a half-written message must not be cut
  error_code ec;
  (void)socket_.write_some(asio::buffer(data.data(), data.size()), ec);
}

awaitable<error_code> stream::start_tls(asio::ssl::context& ctx,
                                        asio::ssl::stream_base::handshake_type role,
                                        const std::string& server_name, bool verify_host) {
  tls_ = std::make_unique<tls_stream>(std::move(socket_), ctx);
  if (!server_name.empty()) {
    // SSL_set_tlsext_host_name is a macro with a C cast; call what it expands to.
    SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(server_name.c_str()));
    if (verify_host) SSL_set1_host(tls_->native_handle(), server_name.c_str());
  }
  auto [ec] = co_await tls_->async_handshake(role, use_nothrow);
  co_return ec;
}

}  // namespace dw::proxy
