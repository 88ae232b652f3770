// Session lifecycle and the relay loops. Bytes are forwarded as received; only the frames
// routing and state tracking need are looked at (STYLE.md 4).
#include "proxy/session.hpp"

#include <spdlog/spdlog.h>

#include <array>

#include "protocol/backend_messages.hpp"
#include "protocol/relay_scanner.hpp"
#include "proxy/shadow_link.hpp"
#include "proxy/sqlstate.hpp"
#include "proxy/table_locks.hpp"
#include "proxy/worker.hpp"

namespace dw::proxy {
namespace {

// Backend messages the session must see whole; all others stream through.
constexpr std::array<char, 2> inspected_backend_types{
    protocol::backend_type::ready_for_query, protocol::backend_type::error_response};
constexpr std::size_t max_inspected_backend_message = 1u << 20;
// PostgreSQL's own cap on any message (PQ_LARGE_MESSAGE_LIMIT); backend frames are trusted
// up to it and streamed, never buffered.
constexpr std::size_t backend_message_limit = (1u << 30) - 1;

bool is_expected_disconnect(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::operation_aborted || ec == asio::error::broken_pipe ||
         ec == asio::error::bad_descriptor;
}

// Appends `in` behind the carried bytes, or uses it in place when nothing is carried.
std::span<const std::byte> join_carry(std::vector<std::byte>& carry, std::span<const std::byte> in) {
  if (carry.empty()) return in;
  carry.insert(carry.end(), in.begin(), in.end());
  return carry;
}

// Keeps bytes [from, end) of `view` for the next read. Must run before any suspension when
// `view` is the shared scratch buffer.
void keep_tail(std::vector<std::byte>& carry, std::span<const std::byte> view, std::size_t from) {
  if (!carry.empty() && view.data() == carry.data()) {
    carry.erase(carry.begin(), carry.begin() + static_cast<std::ptrdiff_t>(from));
  } else {
    carry.assign(view.begin() + static_cast<std::ptrdiff_t>(from), view.end());
  }
  if (carry.empty() && carry.capacity() > 64 * 1024) carry.shrink_to_fit();
}

protocol::relay_scanner make_backend_scanner() {
  protocol::limits backend_limits;
  backend_limits.max_message = backend_message_limit;
  backend_limits.max_small = backend_message_limit;
  return protocol::relay_scanner{
      protocol::frame_decoder{protocol::direction::backend, backend_limits},
      inspected_backend_types, max_inspected_backend_message};
}

bool holds_frame_or_error(const protocol::frame_decoder& decoder,
                          std::span<const std::byte> bytes) {
  if (bytes.empty()) return false;
  auto f = decoder.next(bytes);
  return !f || *f;
}

}  // namespace

session::session(worker& owner, socket_type client, std::uint64_t id)
    : owner_{owner},
      runtime_{owner.shared().current.load()},
      id_{id},
      client_{std::make_unique<stream>(std::move(client))},
      deadline_{owner.context()},
      reader_stopped_{owner.context(), asio::steady_timer::time_point::max()},
      backend_scanner_{make_backend_scanner()},
      dual_signal_{owner.context(), asio::steady_timer::time_point::max()} {
  prefix_ = fmt::format("[s{} {}]", id_, client_->peer());
  owner_.add(this);
}

session::~session() {
  release_table_locks();
  if (shadow_) shadow_->finish(runtime_->cfg.shadow.lag_bound);
  owner_.remove(this);
  if (cancel_key_) owner_.shared().cancels->remove(*cancel_key_);
  if (counted_) owner_.shared().active_clients.fetch_sub(1);
}

void session::start(const std::shared_ptr<session>& self) {
  asio::co_spawn(self->owner_.context(), self->run(), [self](std::exception_ptr e) {
    if (!e) return;
    // The last line of defence: one session's bug must not unwind io_context::run.
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("{} session ended by an exception: {}", self->log_prefix(), ex.what());
    }
    self->close_all();
  });
}

awaitable<void> session::run() {
  auto self = shared_from_this();
  const std::size_t active = owner_.shared().active_clients.fetch_add(1) + 1;
  counted_ = true;
  if (active > runtime_->cfg.limits.max_clients) {
    co_await fail_client(sqlstate::too_many_connections, "sorry, too many clients already");
    co_return;
  }
  if (owner_.shared().shutting_down.load()) {
    co_await fail_client(sqlstate::cannot_connect_now, "dwproxy is shutting down");
    co_return;
  }
  arm_startup_timeout();
  const bool ready = co_await handshake();
  deadline_.cancel();
  if (!ready) {
    close_all();
    co_return;
  }
  state_ = session_state::relaying;
  spdlog::debug("{} relaying", log_prefix());
  if (runtime_->cfg.limits.idle_timeout.count() > 0) arm_idle_timeout();
  if (runtime_->cfg.new_backend) {
    shadow::unit_builder::options o;
    o.planning.serialize_sequences = runtime_->cfg.shadow.serialize_sequences;
    o.planning.serialize_tables = runtime_->serialize_tables;
    o.rewrite_nondeterministic = runtime_->cfg.shadow.rewrite_nondeterministic;
    o.max_unit_bytes = runtime_->cfg.shadow.max_queue_bytes;
    o.values = [this] { return nondeterministic_values(); };
    units_ = std::make_unique<shadow::unit_builder>(std::move(o));
  }
  // The backend direction runs as its own coroutine; this one relays the client's side. At a
  // transaction boundary a phase move may switch the relay (passthrough or dual-write) or the
  // primary; both directions then restart.
  for (;;) {
    const bool dual = units_ && applied_phase_ >= 1 && applied_phase_ <= 3;
    start_primary_reader(dual);
    // if/else, not ?:: GCC 12 miscompiles co_await inside a conditional expression.
    bool again = false;
    if (dual)
      again = co_await relay_client_dual();
    else
      again = co_await relay_client_to_backend();
    if (!again || state_ == session_state::closing) co_return;
    co_await stop_primary_reader();
    if (state_ == session_state::closing) co_return;
    if (!co_await adapt_to_phase()) co_return;
  }
}

awaitable<std::optional<std::span<const std::byte>>> session::read_client() {
  auto bytes = client_->read_if_expected();
  while (!bytes && bytes.error() == asio::error::would_block) {
    auto [ec] = co_await client_->wait_readable();
    if (state_ == session_state::closing) co_return std::nullopt;
    bytes = ec ? boost::system::result<std::span<const std::byte>>{ec} : client_->read_available();
  }
  if (state_ == session_state::closing) co_return std::nullopt;
  if (!bytes) {
    on_client_gone(bytes.error());
    co_return std::nullopt;
  }
  if (idle_armed_) {
    idle_armed_ = false;
    deadline_.cancel();
  }
  co_return *bytes;
}

awaitable<std::optional<boost::system::result<std::span<const std::byte>>>> session::read_primary(
    std::uint64_t generation) {
  stream& backend = *primary_->io;
  auto bytes = backend.read_if_expected();
  while (!bytes && bytes.error() == asio::error::would_block) {
    auto [ec] = co_await backend.wait_readable();
    if (state_ == session_state::closing || generation != reader_generation_) co_return std::nullopt;
    bytes = ec ? boost::system::result<std::span<const std::byte>>{ec} : backend.read_available();
  }
  if (state_ == session_state::closing || generation != reader_generation_) co_return std::nullopt;
  co_return bytes;
}

void session::start_primary_reader(bool dual) {
  const std::uint64_t generation = ++reader_generation_;
  reader_running_ = true;
  auto self = shared_from_this();
  // The handler's copy of `self` keeps the session alive while the reader runs.
  auto done = [self](std::exception_ptr e) {
    self->reader_running_ = false;
    self->reader_stopped_.cancel();
    if (e) self->close_all();
  };
  if (dual) {
    asio::co_spawn(owner_.context(), relay_primary_dual(generation), std::move(done));
  } else {
    asio::co_spawn(owner_.context(), relay_backend_to_client(generation), std::move(done));
  }
}

awaitable<void> session::stop_primary_reader() {
  ++reader_generation_;
  if (primary_ && primary_->io) primary_->io->cancel();
  while (reader_running_ && state_ != session_state::closing) {
    reader_stopped_.expires_at(asio::steady_timer::time_point::max());
    (void)co_await reader_stopped_.async_wait(use_nothrow);
  }
}

bool session::phase_changed() const noexcept {
  return units_ && owner_.shared().phase.load(std::memory_order_relaxed) != applied_phase_;
}

void session::arm_startup_timeout() {
  deadline_.expires_after(runtime_->cfg.limits.startup_timeout);
  deadline_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->state_ == session_state::relaying) return;
    spdlog::warn("{} startup timeout", self->log_prefix());
    self->send_last_words(sqlstate::protocol_violation, "startup timeout expired");
    self->close_all();
  });
}

void session::arm_idle_timeout() {
  idle_armed_ = true;
  deadline_.expires_after(runtime_->cfg.limits.idle_timeout);
  deadline_.async_wait([weak = weak_from_this(), generation = ++idle_generation_](error_code ec) {
    auto self = weak.lock();
    if (ec || !self || !self->idle_armed_ || generation != self->idle_generation_ ||
        !self->boundary_.idle())
      return;
    spdlog::info("{} idle timeout", self->log_prefix());
    self->send_last_words(sqlstate::idle_session_timeout,
                          "terminating connection due to idle-session timeout");
    self->close_all();
  });
}

void session::close_all() noexcept {
  if (state_ == session_state::closing && !client_->is_open()) return;
  state_ = session_state::closing;
  client_->close();
  if (primary_ && primary_->io) primary_->io->close();
  deadline_.cancel();
  dual_signal_.cancel();
  if (shadow_) {
    shadow_->finish(runtime_->cfg.shadow.lag_bound);
    shadow_.reset();
  }
}

void session::send_last_words(std::string_view code, std::string_view message) noexcept {
  std::vector<std::byte> out;
  protocol::write_error_response(out, "FATAL", code, message);
  client_->try_write_now(out);
}

awaitable<void> session::fail_client(std::string_view code, std::string_view message) {
  ++owner_.stats().client_errors;
  spdlog::warn("{} closing client: {} {}", log_prefix(), code, message);
  if (client_->is_tls() && !client_->writing() && client_->is_open()) {
    std::vector<std::byte> out;
    protocol::write_error_response(out, "FATAL", code, message);
    state_ = session_state::closing;
    // Bounded: a client that stops reading cannot hold the session open.
    asio::steady_timer guard{owner_.context(), std::chrono::seconds(1)};
    guard.async_wait([this](error_code ec) { if (!ec) client_->close(); });
    (void)co_await client_->write(out);
  } else {
    send_last_words(code, message);
  }
  close_all();
}

void session::begin_shutdown() {
  draining_ = true;
  if (state_ != session_state::relaying || boundary_.idle()) {
    send_last_words(sqlstate::admin_shutdown,
                    "terminating connection due to administrator command");
    close_all();
  }
}

awaitable<bool> session::relay_client_to_backend() {
  protocol::frame_decoder decoder{protocol::direction::frontend, runtime_->client_limits};
  decoder.expect_typed_messages();
  stream& backend = *primary_->io;
  for (;;) {
    std::span<const std::byte> view = client_carry_;
    if (!holds_frame_or_error(decoder, client_carry_)) {
      const auto bytes = co_await read_client();
      if (!bytes) co_return false;
      view = join_carry(client_carry_, *bytes);
    }
    // Paused by the operator: a session at a transaction boundary holds its next unit until
    // resume; transactions already open carry on (DESIGN.md, the flip's first step).
    if (owner_.shared().paused.load() && boundary_.idle()) {
      if (view.data() != client_carry_.data()) keep_tail(client_carry_, view, 0);
      co_await owner_.wait_until_resumed();
      if (state_ == session_state::closing) co_return false;
      view = client_carry_;
    }
    // A phase move reaches this session here, between transactions (DESIGN.md: the shadow
    // is attached, or the primary swapped, at the session's next boundary).
    if (boundary_.idle() && phase_changed()) {
      if (view.data() != client_carry_.data()) keep_tail(client_carry_, view, 0);
      co_return true;
    }
    std::size_t forward_end = 0;
    bool terminate = false;
    while (forward_end < view.size() && !terminate) {
      auto f = decoder.next(view.subspan(forward_end));
      if (!f) {
        const auto mapped = sqlstate::for_error(f.error());
        co_await fail_client(mapped.code, mapped.message);
        co_return false;
      }
      if (!*f) break;
      boundary_.on_client_message((*f)->type);
      // With a NEW backend configured, session state is tracked even in passthrough, so a
      // shadow opened later (phase 1) or a new primary (phase 3) can be given it.
      if (units_) units_->note_passthrough(**f, view.subspan(forward_end, (*f)->wire_size));
      forward_end += (*f)->wire_size;
      terminate = (*f)->type == protocol::frontend_type::terminate;
    }
    if (forward_end == 0) {
      // Only part of a frame so far: it must outlive the scratch buffer until the rest comes.
      if (view.data() != client_carry_.data()) keep_tail(client_carry_, view, 0);
      continue;
    }
    error_code ec;
    const outgoing out = forward_now(backend, client_carry_, view, forward_end, ec);
    if (!ec && !out.rest.empty()) ec = co_await backend.write_pending(out.rest);
    finish_forward(client_carry_, out);
    if (ec) {
      co_await on_backend_lost(ec, true);
      co_return false;
    }
    if (terminate) {
      close_all();
      co_return false;
    }
  }
}

awaitable<void> session::relay_backend_to_client(std::uint64_t generation) {
  protocol::relay_scanner& scanner = backend_scanner_;
  scanner.set_inspected(inspected_backend_types, false, false);
  for (;;) {
    const auto read = co_await read_primary(generation);
    if (!read) co_return;
    const auto& bytes = *read;
    if (!bytes) {
      const bool clean = scanner.at_message_boundary() && backend_carry_.empty();
      co_await on_backend_lost(bytes.error(), clean);
      co_return;
    }
    const std::span<const std::byte> view = join_carry(backend_carry_, *bytes);
    std::size_t forward_end = 0;
    while (forward_end < view.size()) {
      auto step = scanner.next(view.subspan(forward_end));
      if (!step) {
        spdlog::error("{} backend protocol violation: {}", log_prefix(), step.error().message());
        co_await fail_client(sqlstate::protocol_violation, "backend sent an invalid message");
        co_return;
      }
      if (step->what == protocol::scan_step::kind::need_more) break;
      if (step->what == protocol::scan_step::kind::message)
        on_backend_message(step->message.type, step->message.body);
      forward_end += step->size;
    }
    error_code ec;
    const outgoing out = forward_now(*client_, backend_carry_, view, forward_end, ec);
    if (!ec && !out.rest.empty()) ec = co_await client_->write_pending(out.rest);
    finish_forward(backend_carry_, out);
    if (ec) {
      on_client_gone(ec);
      co_return;
    }
    if (boundary_.idle()) {
      if (draining_) {
        begin_shutdown();
        co_return;
      }
      if (runtime_->cfg.limits.idle_timeout.count() > 0 && !idle_armed_) arm_idle_timeout();
    }
  }
}

session::outgoing session::forward_now(stream& to, std::vector<std::byte>& carry,
                                       std::span<const std::byte> view, std::size_t end,
                                       error_code& ec) {
  // A view into the shared scratch buffer must give up its tail before the write can
  // suspend; a view into `carry` stays intact until the write has taken its copy, and is
  // trimmed afterwards (finish_forward).
  outgoing out;
  if (!carry.empty() && view.data() == carry.data()) {
    out.trim_carry = end;
  } else {
    keep_tail(carry, view, end);
  }
  const std::size_t sent = end ? to.write_now(view.first(end), ec) : 0;
  if (!ec) out.rest = view.subspan(sent, end - sent);
  return out;
}

void session::finish_forward(std::vector<std::byte>& carry, const outgoing& out) {
  if (out.trim_carry > 0) keep_tail(carry, carry, out.trim_carry);
}

void session::on_backend_message(char type, std::span<const std::byte> body) {
  if (type == protocol::backend_type::ready_for_query) {
    boundary_.on_ready_for_query(body.empty() ? 'I' : static_cast<char>(body[0]));
    return;
  }
  if (type == protocol::backend_type::error_response) {
    const protocol::frame f{type, body, body.size() + 5};
    auto m = protocol::decode_backend(f);
    if (!m) return;
    if (auto* e = std::get_if<protocol::error_response>(&*m)) {
      const auto severity = e->fields.severity();
      if (severity == "FATAL" || severity == "PANIC") backend_sent_fatal_ = true;
    }
  }
}

void session::on_client_gone(const error_code& ec) {
  // Tell the backend politely so it does not log an unexpected EOF.
  if (primary_ && primary_->io->is_open() && boundary_.idle()) {
    send_terminate(*primary_->io);
  }
  if (is_expected_disconnect(ec)) {
    spdlog::debug("{} client disconnected", log_prefix());
  } else {
    spdlog::info("{} client connection failed: {}", log_prefix(), ec.message());
  }
  close_all();
}

awaitable<void> session::on_backend_lost(const error_code& ec, bool at_boundary) {
  if (state_ == session_state::closing) co_return;
  ++owner_.stats().backend_failures;
  spdlog::warn("{} primary backend connection lost: {}", log_prefix(), ec.message());
  if (backend_sent_fatal_ || !at_boundary) {
    // The client already has the server's FATAL, or is mid-message and cannot take ours.
    close_all();
    co_return;
  }
  co_await fail_client(sqlstate::connection_failure,
                       "server closed the connection unexpectedly");
}

}  // namespace dw::proxy
