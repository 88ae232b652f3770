// http_api: a Beast HTTP/1.1 server, one coroutine per connection on one strand of the
// proxy's control io_context: read a request (bounded header and body, a deadline), route it
// to command_service, write the answer, keep the connection alive if the client asks.
// This is the only translation unit that includes Beast (STYLE.md: heavy headers in few TUs).
#include "control/http_api.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <map>

#include "control/await_callback.hpp"
#include "control/control_protocol.hpp"

namespace dw::control {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using detail::clock_type;
using detail::use_nothrow;

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

constexpr std::size_t header_limit = 8 * 1024;
constexpr std::string_view json_type = "application/json";
constexpr std::string_view prometheus_type = "text/plain; version=0.0.4; charset=utf-8";

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("http: internal error: {}", ex.what());
  }
}

/// "127.0.0.1:9187", "[::1]:9187", "localhost:9187". Only literal addresses (and localhost):
/// resolving a name at start-up could silently bind somewhere the operator did not mean.
outcome<tcp::endpoint> parse_listen(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return fail(fmt::format("HTTP listen address '{}' is not host:port", text));
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const char* const last = port_text.data() + port_text.size();
  const auto [end, ec] = std::from_chars(port_text.data(), last, port);
  if (ec != std::errc{} || end != last || port > 65535)
    return fail(fmt::format("HTTP listen address '{}' has a bad port", text));
  if (host == "localhost") host = "127.0.0.1";
  error_code bad;
  const auto address = asio::ip::make_address(host, bad);
  if (bad)
    return fail(fmt::format("HTTP listen address '{}': '{}' is not an IP address", text, host));
  return tcp::endpoint{address, static_cast<std::uint16_t>(port)};
}

/// Constant-time in the token's content, so response timing does not reveal how many leading
/// bytes of a guess were right; only the length can leak, which brute force learns anyway.
bool same_secret(std::string_view given, std::string_view expected) noexcept {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const char g = i < given.size() ? given[i] : '\0';
    diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(g) ^
                                              static_cast<unsigned char>(expected[i])));
  }
  return diff == 0;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool authorized(const http_request& req, const std::string& token) {
  const auto it = req.find(http::field::authorization);
  if (it == req.end()) return false;
  const std::string_view value{it->value().data(), it->value().size()};
  constexpr std::string_view scheme = "bearer ";
  if (value.size() < scheme.size() || !iequals(value.substr(0, scheme.size()), scheme))
    return false;
  return same_secret(value.substr(scheme.size()), token);
}

http_response make_response(http::status status, std::string body, std::string_view type) {
  http_response res{status, 11};
  res.set(http::field::server, "dwproxy");
  res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

http_response json_error(http::status status, std::string message) {
  return make_response(status, write_response(error_response(std::move(message))), json_type);
}

/// The HTTP status for a service answer; the body is its JSON either way.
http::status status_of(const response& r) {
  if (r.ok) return http::status::ok;
  if (const auto* m = std::get_if<move_data>(&r.data))
    // Refused by the phase machine or its gates, or failed and left where it was: the
    // proxy's state conflicts with the request. Moved but not persisted is a server fault.
    return m->changed ? http::status::internal_server_error : http::status::conflict;
  return http::status::service_unavailable;  // timed out, shutting down, the proxy failed
}

/// Splits "/phase/3?force=1" into its path and query.
std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

/// force=1|true|0|false; absent: false; anything else (other keys included) is an error.
outcome<bool> parse_force(std::string_view query) {
  if (query.empty()) return false;
  if (query == "force" || query == "force=1" || query == "force=true") return true;
  if (query == "force=0" || query == "force=false") return false;
  return fail(fmt::format("unknown query '{}'; only force=1 is accepted", query));
}

/// GET /diffs's query: empty or limit=N.
outcome<std::size_t> parse_diffs_query(std::string_view query) {
  if (query.empty()) return default_diffs_limit;
  constexpr std::string_view key = "limit=";
  if (!query.starts_with(key))
    return fail(fmt::format("unknown query '{}'; only limit=N is accepted", query));
  return parse_diffs_limit(query.substr(key.size()));
}

}  // namespace

http_options http_options_from(const config::config& cfg) {
  http_options o;
  o.listen = cfg.http_listen;
  if (!cfg.http_token.empty()) o.bearer_token = std::string{cfg.http_token.reveal()};
  return o;
}

struct http_api::impl : std::enable_shared_from_this<impl> {
  using strand_type = asio::strand<asio::io_context::executor_type>;
  using stream_ptr = std::shared_ptr<beast::tcp_stream>;

  impl(asio::io_context& ctx, command_service& s, http_options o)
      : strand{asio::make_strand(ctx)}, service{s}, opts{std::move(o)}, acceptor{strand} {}

  strand_type strand;
  command_service& service;
  http_options opts;
  tcp::acceptor acceptor;
  std::map<std::uint64_t, stream_ptr> connections;
  std::uint64_t next_id = 1;
  bool stopped = false;
  std::atomic<std::uint16_t> bound_port{0};

  outcome<void> listen();
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(stream_ptr stream, std::uint64_t id, std::string peer);
  asio::awaitable<http_response> route(const http_request& req, const std::string& peer);
  asio::awaitable<response> run(const request& r);
  asio::awaitable<http_response> answer(const request& r, const std::string& peer);
  asio::awaitable<http_response> metrics();
  void shutdown();
};

outcome<void> http_api::impl::listen() {
  auto endpoint = parse_listen(opts.listen);
  if (!endpoint) return endpoint.error();
  const bool token_set = opts.bearer_token && !opts.bearer_token->empty();
  if (!endpoint->address().is_loopback() && !token_set)
    return fail(fmt::format(
        "refusing to serve the HTTP API on {} without a bearer token: anyone who can reach it "
        "could move the migration's phase; set a token or listen on 127.0.0.1",
        opts.listen));
  error_code ec;
  acceptor.open(endpoint->protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(*endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    acceptor.close(ignored);
    return fail(fmt::format("cannot listen for HTTP on {}: {}", opts.listen, ec.message()));
  }
  bound_port = acceptor.local_endpoint(ec).port();
  return {};
}

asio::awaitable<void> http_api::impl::accept_loop() {
  auto self = shared_from_this();
  while (!stopped) {
    tcp::socket sock{strand};
    auto [ec] = co_await acceptor.async_accept(sock, use_nothrow);
    if (ec == asio::error::operation_aborted || stopped) co_return;
    if (ec) {
      spdlog::warn("http: accept failed: {}", ec.message());
      asio::steady_timer backoff{strand, std::chrono::milliseconds{100}};
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    if (connections.size() >= opts.max_connections) {
      error_code ignored;
      sock.close(ignored);  // a scraper retries; an answer here could block the strand
      continue;
    }
    error_code peer_ec;
    const auto remote = sock.remote_endpoint(peer_ec);
    std::string peer = peer_ec ? std::string{"?"}
                               : fmt::format("{}:{}", remote.address().to_string(), remote.port());
    const std::uint64_t id = next_id++;
    auto stream = std::make_shared<beast::tcp_stream>(std::move(sock));
    connections.emplace(id, stream);
    asio::co_spawn(strand, serve(stream, id, std::move(peer)), log_exception);
  }
}

asio::awaitable<void> http_api::impl::serve(stream_ptr stream, std::uint64_t id,
                                            std::string peer) {
  auto self = shared_from_this();
  beast::flat_buffer buffer;
  while (!stopped) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(header_limit));
    parser.body_limit(opts.body_limit);
    stream->expires_after(opts.read_timeout);
    auto [read_ec, n] = co_await http::async_read(*stream, buffer, parser, use_nothrow);
    http_response res;
    bool keep_alive = false;
    if (read_ec == http::error::body_limit) {
      res = json_error(http::status::payload_too_large,
                       fmt::format("request body larger than {} bytes", opts.body_limit));
    } else if (read_ec == http::error::header_limit) {
      res = json_error(http::status::request_header_fields_too_large,
                       fmt::format("request header larger than {} bytes", header_limit));
    } else if (read_ec == http::error::end_of_stream || read_ec == beast::error::timeout ||
               read_ec == asio::error::operation_aborted) {
      break;  // the client is done, idled out, or stop(): nothing to answer
    } else if (read_ec) {
      // A malformed request gets one answer and a close, since the stream is out of sync;
      // a socket error has nobody to answer.
      if (read_ec.category() != http::make_error_code(http::error::bad_target).category()) break;
      res = json_error(http::status::bad_request, "malformed HTTP request: " + read_ec.message());
    } else {
      const http_request& req = parser.get();
      // Commands may run for a minute (a flip); no deadline while the service works.
      stream->expires_never();
      res = co_await route(req, peer);
      keep_alive = req.keep_alive();
      res.version(req.version());
    }
    res.keep_alive(keep_alive);
    res.prepare_payload();
    stream->expires_after(opts.write_timeout);
    auto [write_ec, written] = co_await http::async_write(*stream, res, use_nothrow);
    if (write_ec || !keep_alive) break;
  }
  error_code ignored;
  stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream->close();
  connections.erase(id);
}

asio::awaitable<response> http_api::impl::run(const request& r) {
  // command_service always answers, by its own deadline at the latest.
  auto reply = co_await detail::await_callback<response>(
      strand, clock_type::time_point::max(),
      [this, &r](auto done) { service.execute(r, std::move(done)); });
  if (!reply) co_return error_response("no answer from the command service");
  co_return std::move(*reply);
}

asio::awaitable<http_response> http_api::impl::answer(const request& r, const std::string& peer) {
  auto reply = co_await run(r);
  if (is_mutating(r.cmd)) {
    std::string line = write_request(r);
    line.pop_back();
    spdlog::info("http[{}]: {} -> {}", peer, line, reply.ok ? "ok" : reply.error);
  }
  co_return make_response(status_of(reply), write_response(reply), json_type);
}

asio::awaitable<http_response> http_api::impl::metrics() {
  auto reply = co_await run(request{command::status});
  const auto* status = std::get_if<status_data>(&reply.data);
  if (!reply.ok || !status)
    co_return make_response(http::status::service_unavailable,
                            "# status unavailable: " + reply.error + "\n", prometheus_type);
  auto samples = status_metrics(*status);
  if (opts.metrics) {
    try {
      auto more = opts.metrics();
      samples.insert(samples.end(), std::make_move_iterator(more.begin()),
                     std::make_move_iterator(more.end()));
    } catch (const std::exception& ex) {
      // A broken source loses its own metrics, not the phase and session gauges.
      spdlog::error("http: metrics source failed: {}", ex.what());
    }
  }
  co_return make_response(http::status::ok, write_prometheus(samples), prometheus_type);
}

asio::awaitable<http_response> http_api::impl::route(const http_request& req,
                                                     const std::string& peer) {
  const auto [path, query] = split_target({req.target().data(), req.target().size()});
  const auto method = req.method();
  auto wrong_method = [](std::string_view allowed) {
    auto res = json_error(http::status::method_not_allowed, "method not allowed");
    res.set(http::field::allow, allowed);
    return res;
  };

  // Health checks come from load balancers that hold no token, and reveal nothing.
  if (path == "/healthz") {
    if (method != http::verb::get && method != http::verb::head) co_return wrong_method("GET");
    co_return make_response(http::status::ok, "ok\n", "text/plain; charset=utf-8");
  }
  if (opts.bearer_token && !opts.bearer_token->empty() && !authorized(req, *opts.bearer_token)) {
    spdlog::debug("http[{}]: {} {}: missing or wrong bearer token", peer,
                  std::string_view{req.method_string().data(), req.method_string().size()}, path);
    auto res = json_error(http::status::unauthorized, "a valid bearer token is required");
    res.set(http::field::www_authenticate, "Bearer realm=\"dwproxy\"");
    co_return res;
  }

  if (path == "/status") {
    if (method != http::verb::get) co_return wrong_method("GET");
    co_return co_await answer(request{command::status}, peer);
  }
  if (path == "/metrics") {
    if (method != http::verb::get) co_return wrong_method("GET");
    co_return co_await metrics();
  }
  if (path == "/diffs") {
    if (method != http::verb::get) co_return wrong_method("GET");
    const auto limit = parse_diffs_query(query);
    if (!limit) co_return json_error(http::status::bad_request, limit.error().message);
    co_return co_await answer(request{.cmd = command::diffs, .limit = *limit}, peer);
  }
  if (path == "/diffs/reset") {
    if (method != http::verb::post) co_return wrong_method("POST");
    co_return co_await answer(request{.cmd = command::diffs, .limit = 1, .reset = true}, peer);
  }
  struct simple {
    std::string_view path;
    command cmd;
  };
  static constexpr simple simple_posts[] = {
      {"/pause", command::pause}, {"/resume", command::resume}, {"/ack", command::ack_divergence}};
  for (const auto& s : simple_posts) {
    if (path != s.path) continue;
    if (method != http::verb::post) co_return wrong_method("POST");
    co_return co_await answer(request{s.cmd}, peer);
  }
  constexpr std::string_view phase_prefix = "/phase/";
  if (path.starts_with(phase_prefix)) {
    if (method != http::verb::post) co_return wrong_method("POST");
    const auto which = path.substr(phase_prefix.size());
    const auto target = parse_phase(which);
    if (!target)
      co_return json_error(http::status::bad_request,
                           fmt::format("unknown phase '{}'; use 0-4 or a phase name", which));
    const auto force = parse_force(query);
    if (!force) co_return json_error(http::status::bad_request, force.error().message);
    co_return co_await answer(request{command::phase, *target, *force}, peer);
  }
  co_return json_error(http::status::not_found, fmt::format("no such endpoint: {}", path));
}

void http_api::impl::shutdown() {
  if (stopped) return;
  stopped = true;
  error_code ec;
  acceptor.close(ec);
  for (auto& [id, stream] : connections) stream->socket().close(ec);
}

http_api::http_api(asio::io_context& ctx, command_service& service, http_options options)
    : impl_{std::make_shared<impl>(ctx, service, std::move(options))} {}

http_api::~http_api() { stop(); }

outcome<void> http_api::start() {
  if (auto listening = impl_->listen(); !listening) return listening;
  asio::co_spawn(impl_->strand, impl_->accept_loop(), log_exception);
  // The token itself is never logged; whether one is set is what an operator needs to know.
  spdlog::info("http: API listening on {} (port {}), bearer token {}", impl_->opts.listen,
               impl_->bound_port.load(),
               impl_->opts.bearer_token && !impl_->opts.bearer_token->empty() ? "required"
                                                                              : "not set");
  return {};
}

std::uint16_t http_api::port() const noexcept { return impl_->bound_port.load(); }

void http_api::stop() {
  asio::dispatch(impl_->strand, [self = impl_] { self->shutdown(); });
}

}  // namespace dw::control
