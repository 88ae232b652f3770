#include "proxy/backend_connector.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <array>

#include "protocol/backend_messages.hpp"
#include "protocol/frontend_messages.hpp"
#include "protocol/md5_auth.hpp"
#include "protocol/scram.hpp"
#include "proxy/framed_reader.hpp"
#include "proxy/sqlstate.hpp"

namespace dw::proxy {
namespace {

namespace msg = protocol;
using config::tls_mode;

backend_failure unable(const config::backend& b, std::string what) {
  return {std::string{sqlstate::sqlclient_unable_to_establish_connection},
          "dwproxy could not connect to backend " + b.name + " (" + b.host + ":" +
              std::to_string(b.port) + "): " + std::move(what),
          {}};
}

backend_failure broken(const config::backend& b, std::string what) {
  return {std::string{sqlstate::connection_failure},
          "backend " + b.name + " broke the startup exchange: " + std::move(what), {}};
}

// Connects to the first address that answers. Unix sockets follow PostgreSQL's layout.
awaitable<boost::system::result<socket_type>> open_socket(const config::backend& b) {
  auto ex = co_await asio::this_coro::executor;
  if (!b.host.empty() && b.host.front() == '/') {
    asio::local::stream_protocol::endpoint ep{b.host + "/.s.PGSQL." + std::to_string(b.port)};
    socket_type s{ex};
    auto [ec] = co_await s.async_connect(asio::generic::stream_protocol::endpoint{ep}, use_nothrow);
    if (ec) co_return ec;
    co_return std::move(s);
  }
  asio::ip::tcp::resolver resolver{ex};
  auto [rec, results] = co_await resolver.async_resolve(b.host, std::to_string(b.port), use_nothrow);
  if (rec) co_return rec;
  error_code last = asio::error::host_not_found;
  for (const auto& entry : results) {
    socket_type s{ex};
    auto [ec] = co_await s.async_connect(asio::generic::stream_protocol::endpoint{entry.endpoint()},
                                         use_nothrow);
    if (!ec) {
      if (entry.endpoint().protocol() == asio::ip::tcp::v4() ||
          entry.endpoint().protocol() == asio::ip::tcp::v6()) {
        // Latency matters more than packet count for query traffic.
        int one = 1;
        ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
      co_return std::move(s);
    }
    last = ec;
  }
  co_return last;
}

// SSLRequest, then TLS when the server agrees. Returns an empty string on success.
awaitable<std::string> negotiate_tls(stream& io, const backend_login& login) {
  const config::backend& b = *login.target;
  std::vector<std::byte> out;
  msg::write_ssl_request(out);
  if (auto ec = co_await io.write(out)) co_return "SSLRequest: " + ec.message();
  auto answer = co_await io.read_some();
  if (!answer || answer->empty()) co_return "no answer to SSLRequest";
  // Anything after the single answer byte would be unencrypted data injected ahead of the
  // TLS handshake (CVE-2021-23222): refuse it.
  if (answer->size() != 1) co_return "unexpected bytes after the SSLRequest answer";
  const auto reply = static_cast<char>((*answer)[0]);
  if (reply == 'S') {
    const bool verify_host = b.tls == tls_mode::verify_full;
    auto ec = co_await io.start_tls(*login.tls, asio::ssl::stream_base::client, b.host, verify_host);
    co_return ec ? "TLS handshake: " + ec.message() : std::string{};
  }
  if (reply == 'N' && b.tls == tls_mode::prefer) co_return std::string{};
  if (reply == 'N') co_return "the server does not support TLS, but tls: require was configured";
  co_return "invalid answer to SSLRequest";
}

std::string as_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// One authentication request from the server; returns a reply to send (possibly empty) or
// a failure message.
struct auth_step {
  std::vector<std::byte> reply;
  std::string failure;
};

class backend_authenticator {
 public:
  explicit backend_authenticator(const config::backend_credentials& c) : creds_{c} {}

  auth_step on_request(const msg::authentication& a) {
    auth_step step;
    const std::string_view password = creds_.password.reveal();
    switch (a.code) {
      case 0:
        // A server that started SCRAM must prove it knows the verifier before we accept it;
        // otherwise an impostor could skip the exchange with a bare AuthenticationOk.
        if (scram_ && !scram_done_) return {{}, "the server ended SCRAM without proving itself"};
        break;
      case 3:
        msg::write_password(step.reply, password);
        break;
      case 5: {
        if (a.data.size() != 4) return {{}, "malformed MD5 salt"};
        msg::write_password(step.reply, msg::md5_auth::password_response(
                                            creds_.user, password, a.data.first<4>()));
        break;
      }
      case 10: {
        auto mechanisms = msg::parse_sasl_mechanisms(a.data);
        if (!mechanisms) return {{}, "malformed SASL mechanism list"};
        if (std::find(mechanisms->begin(), mechanisms->end(), "SCRAM-SHA-256") == mechanisms->end())
          return {{}, "the server offers no SASL mechanism dwproxy supports"};
        scram_.emplace(std::string{password});
        msg::write_sasl_initial_response(step.reply, "SCRAM-SHA-256", scram_->client_first());
        break;
      }
      case 11: {
        if (!scram_) return {{}, "SASL continue without SASL start"};
        auto final_message = scram_->on_server_first(as_string(a.data));
        if (!final_message) return {{}, "SCRAM server-first-message rejected"};
        msg::write_sasl_response(step.reply, *final_message);
        break;
      }
      case 12: {
        if (!scram_ || !scram_->on_server_final(as_string(a.data)))
          return {{}, "the server's SCRAM signature did not verify"};
        scram_done_ = true;
        break;
      }
      default:
        return {{}, "authentication method " + std::to_string(a.code) + " is not supported"};
    }
    return step;
  }

 private:
  const config::backend_credentials& creds_;
  std::optional<msg::scram::client_exchange> scram_;
  bool scram_done_ = false;
};

// Reads the server's startup answers until ReadyForQuery.
awaitable<backend_outcome> finish_startup(std::unique_ptr<stream> io, const backend_login& login) {
  const config::backend& b = *login.target;
  backend_outcome out;
  backend_connection conn;
  conn.cancel.host = b.host;
  conn.cancel.port = b.port;
  framed_reader reader{*io, msg::frame_decoder{msg::direction::backend}};
  backend_authenticator auth{login.credentials};
  for (;;) {
    auto f = co_await reader.next();
    if (!f) {
      out.failure = broken(b, f.error().message());
      co_return out;
    }
    if (f->type == msg::backend_type::error_response) {
      auto e = msg::decode_backend(*f);
      const auto* err = e ? std::get_if<msg::error_response>(&*e) : nullptr;
      out.failure.sqlstate = err ? std::string{err->fields.sqlstate()} : "08006";
      out.failure.message = err ? std::string{err->fields.message()} : "backend error";
      auto raw = std::span<const std::byte>{f->body.data() - 5, f->wire_size};
      out.failure.error_response.assign(raw.begin(), raw.end());
      co_return out;
    }
    auto m = msg::decode_backend(*f);
    if (!m) {
      out.failure = broken(b, m.error().message());
      co_return out;
    }
    if (auto* a = std::get_if<msg::authentication>(&*m)) {
      auth_step step = auth.on_request(*a);
      if (!step.failure.empty()) {
        out.failure = unable(b, step.failure);
        co_return out;
      }
      if (!step.reply.empty()) {
        if (auto ec = co_await io->write(step.reply)) {
          out.failure = broken(b, ec.message());
          co_return out;
        }
      }
    } else if (auto* p = std::get_if<msg::parameter_status>(&*m)) {
      conn.parameters.emplace_back(std::string{p->name}, std::string{p->value});
    } else if (auto* k = std::get_if<msg::backend_key_data>(&*m)) {
      conn.cancel.process_id = k->process_id;
      conn.cancel.secret_key = k->secret_key;
    } else if (std::holds_alternative<msg::ready_for_query>(*m)) {
      reader.consume(*f);
      conn.leftover = reader.take_leftover();
      conn.io = std::move(io);
      out.connection = std::move(conn);
      co_return out;
    }
    // NoticeResponse and NegotiateProtocolVersion during startup need no action.
    reader.consume(*f);
  }
}

awaitable<backend_outcome> open_and_login(const backend_login& login) {
  const config::backend& b = *login.target;
  backend_outcome out;
  auto sock = co_await open_socket(b);
  if (!sock) {
    out.failure = unable(b, sock.error().message());
    co_return out;
  }
  auto io = std::make_unique<stream>(std::move(*sock));
  if (login.tls) {
    if (std::string err = co_await negotiate_tls(*io, login); !err.empty()) {
      out.failure = unable(b, err);
      co_return out;
    }
  }
  std::vector<std::pair<std::string_view, std::string_view>> params;
  params.emplace_back("user", login.credentials.user);
  if (!login.database.empty()) params.emplace_back("database", login.database);
  for (const auto& [k, v] : login.client_parameters) params.emplace_back(k, v);
  std::vector<std::byte> startup;
  msg::write_startup_message(startup, params);
  if (auto ec = co_await io->write(startup)) {
    out.failure = unable(b, ec.message());
    co_return out;
  }
  co_return co_await finish_startup(std::move(io), login);
}

}  // namespace

awaitable<backend_outcome> connect_backend(const backend_login& login) {
  using namespace asio::experimental::awaitable_operators;
  // One deadline covers connect, TLS and authentication: a backend that accepts and then
  // says nothing must not hold a client forever. The loser of the race is cancelled.
  asio::steady_timer deadline{co_await asio::this_coro::executor, login.target->connect_timeout};
  auto winner = co_await (open_and_login(login) || deadline.async_wait(use_nothrow));
  if (winner.index() == 0) co_return std::get<0>(std::move(winner));
  backend_outcome out;
  out.failure = unable(*login.target, "timed out after " +
                                          std::to_string(login.target->connect_timeout.count()) +
                                          " ms");
  co_return out;
}

namespace {

awaitable<void> deliver_cancel(cancel_target target) {
  config::backend b;
  b.name = "cancel";
  b.host = target.host;
  b.port = target.port;
  auto sock = co_await open_socket(b);
  if (!sock) co_return;
  stream io{std::move(*sock)};
  std::vector<std::byte> out;
  msg::write_cancel_request(out, target.process_id, target.secret_key);
  (void)co_await io.write(out);
  // The server closes the connection once it has read the request; wait for that so the
  // request is not cut off by our own close.
  (void)co_await io.read_some();
}

}  // namespace

awaitable<void> send_cancel(cancel_target target) {
  using namespace asio::experimental::awaitable_operators;
  // Bounded: a shadow link waits for its cancel to be delivered before it writes on, and a
  // host that never answers must not hold it past this.
  constexpr std::chrono::seconds cancel_timeout{5};
  asio::steady_timer deadline{co_await asio::this_coro::executor, cancel_timeout};
  (void)co_await (deliver_cancel(std::move(target)) || deadline.async_wait(use_nothrow));
}

awaitable<bool> read_until_ready(stream& io, std::size_t ready_owed, std::vector<std::byte>& carry,
                                 const std::function<void(const protocol::frame&)>& on_message) {
  protocol::limits lim;
  lim.max_message = lim.max_small = (1u << 30) - 1;
  const protocol::frame_decoder answers{protocol::direction::backend, lim};
  while (ready_owed > 0) {
    std::size_t used = 0;
    for (;;) {
      auto f = answers.next(std::span<const std::byte>{carry}.subspan(used));
      if (!f) co_return false;
      if (!*f) break;
      used += (*f)->wire_size;
      if (on_message) on_message(**f);
      if ((*f)->type == 'Z' && --ready_owed == 0) break;
    }
    carry.erase(carry.begin(), carry.begin() + static_cast<std::ptrdiff_t>(used));
    if (ready_owed == 0) break;
    auto bytes = co_await io.read_some();
    if (!bytes) co_return false;
    carry.insert(carry.end(), bytes->begin(), bytes->end());
  }
  co_return true;
}

void send_terminate(stream& backend) noexcept {
  constexpr std::array<std::byte, 5> terminate{std::byte{'X'}, std::byte{0}, std::byte{0},
                                               std::byte{0}, std::byte{4}};
  backend.try_write_now(terminate);
}

}  // namespace dw::proxy
