// control_server: the Unix socket and one coroutine per connection: read a line (bounded,
// with an idle deadline), hand it to command_service, write the answer (with a deadline).
// Everything runs on one strand of the proxy's control io_context.
//
// Asio is header-only here (dw_proxy compiles its own copy separately; the linker keeps one).
#include "control/control_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <map>
#include <system_error>

#include "control/await_callback.hpp"
#include "control/control_protocol.hpp"

namespace dw::control {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using unix_stream = asio::local::stream_protocol;
using detail::clock_type;
using detail::use_nothrow;

constexpr std::chrono::seconds write_timeout{10};

std::string os_error(int err) { return std::system_category().message(err); }

/// The request as its line, without the '\n', for logs and messages.
std::string line_of(const request& r) {
  std::string s = write_request(r);
  s.pop_back();
  return s;
}

/// Logs what escaped a coroutine instead of letting it tear down the proxy's control thread.
void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("control: internal error: {}", ex.what());
  }
}

/// Checks the socket path and removes a stale socket file left by a crashed run. A path
/// something still listens on is refused: two proxies must not share a control socket.
outcome<void> prepare_socket_path(const std::filesystem::path& path) {
  const std::string p = path.string();
  if (p.empty()) return fail("no control socket path configured");
  if (p.size() >= sizeof(sockaddr_un::sun_path))
    return fail(fmt::format("control socket path {} is longer than {} bytes", p,
                            sizeof(sockaddr_un::sun_path) - 1));
  const auto dir = path.parent_path().empty() ? std::filesystem::path{"."} : path.parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return fail("control socket directory " + dir.string() +
                " does not exist; create it, "
                "owned by the proxy's user, or choose another control.socket");
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail("cannot inspect " + p + ": " + os_error(errno));
  }
  if (!S_ISSOCK(st.st_mode)) return fail(p + " exists and is not a socket; not removing it");

  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  p.copy(addr.sun_path, p.size());
  const int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int err = errno;
  ::close(probe);
  if (rc == 0) return fail("another process is serving the control socket " + p);
  if (err != ECONNREFUSED) return fail("cannot probe " + p + ": " + os_error(err));
  if (::unlink(p.c_str()) != 0)
    return fail("cannot remove stale socket " + p + ": " + os_error(errno));
  spdlog::info("control: removed stale socket {}", p);
  return {};
}

}  // namespace

socket_options socket_options_from(const config::config& cfg) {
  socket_options o;
  o.socket_path = cfg.control_socket;
  return o;
}

struct control_server::impl : std::enable_shared_from_this<impl> {
  using strand_type = asio::strand<asio::io_context::executor_type>;
  using socket_ptr = std::shared_ptr<unix_stream::socket>;

  impl(asio::io_context& ctx, command_service& s, socket_options o)
      : strand{asio::make_strand(ctx)}, service{s}, opts{std::move(o)}, acceptor{strand} {}

  strand_type strand;
  command_service& service;
  socket_options opts;
  unix_stream::acceptor acceptor;
  std::map<std::uint64_t, socket_ptr> connections;
  std::uint64_t next_id = 1;
  bool stopped = false;
  std::atomic<bool> listening{false};  ///< we own the socket file; stop() may run off-strand

  void remove_socket_file() {
    if (listening.exchange(false)) ::unlink(opts.socket_path.c_str());
  }

  outcome<void> listen();
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(socket_ptr sock, std::uint64_t id);
  asio::awaitable<response> answer(std::string_view line, std::uint64_t id);
  void shutdown();
};

outcome<void> control_server::impl::listen() {
  if (auto prepared = prepare_socket_path(opts.socket_path); !prepared) return prepared;
  const std::string path = opts.socket_path.string();
  error_code ec;
  acceptor.open(unix_stream{}, ec);
  if (!ec) acceptor.bind(unix_stream::endpoint{path}, ec);
  if (ec) return fail("cannot bind control socket " + path + ": " + ec.message());
  // Permissions go on before listen(): until then connect() is refused, so there is no window
  // in which the socket exists with the umask's wider mode and accepts anyone.
  if (::chmod(path.c_str(), static_cast<mode_t>(opts.socket_mode)) != 0) {
    const int err = errno;
    acceptor.close(ec);
    ::unlink(path.c_str());
    return fail("cannot chmod control socket " + path + ": " + os_error(err));
  }
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.close(ec);
    ::unlink(path.c_str());
    return fail("cannot listen on control socket " + path + ": " + ec.message());
  }
  listening = true;
  return {};
}

asio::awaitable<void> control_server::impl::accept_loop() {
  auto self = shared_from_this();
  while (!stopped) {
    auto sock = std::make_shared<unix_stream::socket>(strand);
    auto [ec] = co_await acceptor.async_accept(*sock, use_nothrow);
    if (ec == asio::error::operation_aborted || stopped) co_return;
    if (ec) {
      spdlog::warn("control: accept failed: {}", ec.message());
      asio::steady_timer backoff{strand, std::chrono::milliseconds{100}};
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    const std::uint64_t id = next_id++;
    if (connections.size() >= opts.max_connections) {
      const auto line = write_response(error_response(
          fmt::format("too many control connections (limit {}); try again", opts.max_connections)));
      error_code ignored;
      asio::write(*sock, asio::buffer(line), ignored);  // tiny; the kernel buffer takes it
      continue;
    }
    connections.emplace(id, sock);
    asio::co_spawn(strand, serve(sock, id), log_exception);
  }
}

asio::awaitable<void> control_server::impl::serve(socket_ptr sock, std::uint64_t id) {
  auto self = shared_from_this();
  std::string buffer;
  asio::steady_timer watchdog{strand};
  // Closing the socket is how a timeout ends a pending read or write.
  auto arm = [&](clock_type::duration timeout) {
    watchdog.expires_after(timeout);
    watchdog.async_wait([sock](error_code expired) {
      error_code ignored;
      if (!expired) sock->close(ignored);
    });
  };
  for (;;) {
    arm(opts.idle_timeout);
    // +2: room for the '\r\n' after a line of exactly max_line_length bytes.
    auto [read_ec, n] = co_await asio::async_read_until(
        *sock, asio::dynamic_buffer(buffer, max_line_length + 2), '\n', use_nothrow);
    watchdog.cancel();
    response reply;
    bool close_after = false;
    if (read_ec == asio::error::not_found) {
      reply = error_response(fmt::format("request longer than {} bytes", max_line_length));
      close_after = true;
    } else if (read_ec) {
      break;  // end of stream, idle timeout, or stop(): nothing to answer
    } else {
      const std::string line = buffer.substr(0, n - 1);
      buffer.erase(0, n);
      reply = co_await answer(line, id);
    }
    const std::string out = write_response(reply);
    arm(write_timeout);
    auto [write_ec, written] = co_await asio::async_write(*sock, asio::buffer(out), use_nothrow);
    watchdog.cancel();
    if (write_ec || close_after) break;
  }
  error_code ignored;
  sock->close(ignored);
  connections.erase(id);
}

asio::awaitable<response> control_server::impl::answer(std::string_view line, std::uint64_t id) {
  auto req = parse_request(line);
  if (!req) co_return error_response(req.error().message);
  // command_service always answers, by its own deadline at the latest.
  auto reply = co_await detail::await_callback<response>(
      strand, clock_type::time_point::max(),
      [this, &req](auto done) { service.execute(*req, std::move(done)); });
  if (!reply) reply = error_response("no answer from the command service");
  // Monitoring may poll status every second; only what changes the proxy is worth info.
  spdlog::log(is_mutating(req->cmd) ? spdlog::level::info : spdlog::level::debug,
              "control[{}]: {} -> {}", id, line_of(*req), reply->ok ? "ok" : reply->error);
  co_return std::move(*reply);
}

void control_server::impl::shutdown() {
  if (stopped) return;
  stopped = true;
  error_code ec;
  acceptor.close(ec);
  remove_socket_file();
  for (auto& [id, sock] : connections) sock->close(ec);
}

control_server::control_server(asio::io_context& ctx, command_service& service,
                               socket_options options)
    : impl_{std::make_shared<impl>(ctx, service, std::move(options))} {}

control_server::~control_server() { stop(); }

outcome<void> control_server::start() {
  if (auto listening = impl_->listen(); !listening) return listening;
  asio::co_spawn(impl_->strand, impl_->accept_loop(), log_exception);
  spdlog::info("control: listening on {} (mode {:o})", impl_->opts.socket_path.string(),
               impl_->opts.socket_mode);
  return {};
}

void control_server::stop() {
  // The file goes at once: the io_context may already be stopped (proxy shutdown), and then
  // the strand work below never runs. New clients get "no such file", not a dead socket.
  impl_->remove_socket_file();
  asio::dispatch(impl_->strand, [self = impl_] { self->shutdown(); });
}

}  // namespace dw::control
