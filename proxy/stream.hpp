// One side of a proxied connection (client or backend), plain or TLS. Reads hand out a view
// that is valid until the caller next suspends; plain sockets read into a per-thread scratch
// buffer after waiting for readiness, so an idle connection holds no read buffer at all.
// Writes are tried without suspending first; only bytes that must wait are copied.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <tuple>
#include <string>
#include <vector>

#include "proxy/asio.hpp"

namespace dw::proxy {

class stream {
 public:
  explicit stream(socket_type socket);
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream();

  // The relay's hot path uses the four primitives below directly, so that a message costs no
  // nested coroutine unless it really has to wait.

  /// True when bytes may be waiting already (the last read filled the buffer, or TLS has
  /// decrypted data in hand): try read_available() before waiting.
  [[nodiscard]] bool expect_more() const noexcept;
  /// read_available() when bytes may be waiting already, else would_block, so that the
  /// caller waits first (the usual case in request/response traffic).
  [[nodiscard]] boost::system::result<std::span<const std::byte>> read_if_expected();
  /// Waits until read_available() can make progress.
  [[nodiscard]] awaitable<std::tuple<error_code>> wait_readable();
  /// Reads what has arrived without waiting; would_block when nothing has, eof at the end.
  /// The view stays valid until the caller next suspends.
  [[nodiscard]] boost::system::result<std::span<const std::byte>> read_available();
  /// Writes as much of `data` as the socket takes now (all of it, usually). TLS writes
  /// nothing here and leaves everything to write_pending().
  [[nodiscard]] std::size_t write_now(std::span<const std::byte> data, error_code& ec);
  /// Copies `rest` (before suspending) and waits until it is written.
  [[nodiscard]] awaitable<error_code> write_pending(std::span<const std::byte> rest);

  /// Reads at least one byte (waiting as needed); for handshakes and other cold paths.
  [[nodiscard]] awaitable<boost::system::result<std::span<const std::byte>>> read_some();
  /// Writes all of `data`; the caller may reuse `data` as soon as this returns.
  [[nodiscard]] awaitable<error_code> write(std::span<const std::byte> data);

  /// Upgrades to TLS. On the client side `server_name` is sent as SNI and, when
  /// `verify_host` is set, must match the certificate. No other operation may be pending.
  [[nodiscard]] awaitable<error_code> start_tls(asio::ssl::context& ctx,
                                                asio::ssl::stream_base::handshake_type role,
                                                const std::string& server_name = {},
                                                bool verify_host = false);
  /// Best-effort write that never suspends (plain sockets only), for last words on close.
  void try_write_now(std::span<const std::byte> data) noexcept;

  /// Cancels pending waits and reads (they complete with operation_aborted); stays open.
  void cancel() noexcept;
  /// Closes the socket; pending operations complete with operation_aborted.
  void close() noexcept;
  [[nodiscard]] bool is_open() const noexcept;
  [[nodiscard]] bool is_tls() const noexcept { return tls_ != nullptr; }
  /// True while a write is suspended: another writer must not interleave bytes.
  [[nodiscard]] bool writing() const noexcept { return writing_; }
  [[nodiscard]] std::string peer() const;
  [[nodiscard]] socket_type& lowest_layer() noexcept;

 private:
  using tls_stream = asio::ssl::stream<socket_type>;
  socket_type socket_;
  std::unique_ptr<tls_stream> tls_;   // owns the socket once TLS is on
  std::vector<std::byte> pending_;    // bytes of a write that had to suspend
  awaitable<std::tuple<error_code>> fill_tls_input();
  std::vector<std::byte> tls_input_;  // TLS records are decrypted into the stream's own buffer
  std::size_t tls_available_ = 0;     // decrypted bytes in tls_input_ not yet handed out
  bool writing_ = false;
  bool last_read_filled_ = false;     // the previous read filled the scratch buffer
};

}  // namespace dw::proxy
