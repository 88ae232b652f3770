// The client side of session startup: SSLRequest/GSSENCRequest, CancelRequest, the
// StartupMessage, SCRAM-SHA-256 against the proxy's user table, then the primary backend's
// login and the ParameterStatus/BackendKeyData/ReadyForQuery the client expects.
// See "Message Flow: Start-up" in the PostgreSQL protocol docs.
#include <spdlog/spdlog.h>

#include "protocol/backend_messages.hpp"
#include "protocol/frontend_messages.hpp"
#include "protocol/scram.hpp"
#include "proxy/framed_reader.hpp"
#include "proxy/session.hpp"
#include "proxy/sqlstate.hpp"
#include "proxy/worker.hpp"

namespace dw::proxy {
namespace {

namespace msg = protocol;

std::string_view as_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Startup parameters the backend must not get from the client: the proxy chooses user and
// database per backend, `_pq_.` options are protocol extensions it did not negotiate.
bool forwarded_parameter(std::string_view name) {
  return name != "user" && name != "database" && !name.starts_with("_pq_.");
}

}  // namespace

awaitable<bool> session::handshake() {
  const runtime& rt = *runtime_;
  framed_reader reader{*client_, msg::frame_decoder{msg::direction::frontend, rt.client_limits}};
  for (;;) {
    auto f = co_await reader.next();
    if (!f) {
      if (f.error().category() == msg::protocol_category()) {
        const auto mapped = sqlstate::for_error(f.error());
        co_await fail_client(mapped.code, mapped.message);
      } else {
        spdlog::debug("{} disconnected during startup: {}", log_prefix(), f.error().message());
      }
      co_return false;
    }
    auto m = msg::decode_frontend(*f);
    if (!m) {
      const auto mapped = sqlstate::for_error(m.error());
      co_await fail_client(mapped.code, mapped.message);
      co_return false;
    }
    if (std::holds_alternative<msg::ssl_request>(*m) ||
        std::holds_alternative<msg::gssenc_request>(*m)) {
      reader.consume(*f);
      const bool ssl = std::holds_alternative<msg::ssl_request>(*m);
      const bool accept = ssl && rt.client_tls && !client_->is_tls();
      // Bytes pipelined behind the request would be unencrypted data smuggled in ahead of
      // the TLS handshake (CVE-2021-23214).
      if (accept && !reader.take_leftover().empty()) {
        co_await fail_client(sqlstate::protocol_violation,
                             "received unencrypted data after SSL request");
        co_return false;
      }
      const std::array<std::byte, 1> answer{std::byte{accept ? std::uint8_t{'S'} : std::uint8_t{'N'}}};
      if (co_await client_->write(answer)) co_return false;
      if (accept) {
        if (auto ec = co_await client_->start_tls(*rt.client_tls, asio::ssl::stream_base::server)) {
          spdlog::info("{} TLS handshake failed: {}", log_prefix(), ec.message());
          co_return false;
        }
      }
      reader.decoder().expect_startup_packet();
      continue;
    }
    if (auto* c = std::get_if<msg::cancel_request>(&*m)) {
      ++owner_.stats().cancel_requests;
      if (auto target = owner_.shared().cancels->find({c->process_id, c->secret_key})) {
        spdlog::debug("{} forwarding cancel request", log_prefix());
        co_await send_cancel(*target);
      }
      co_return false;  // the protocol sends no answer to a cancel request
    }
    auto* startup = std::get_if<msg::startup_message>(&*m);
    if (!startup) {
      co_await fail_client(sqlstate::protocol_violation, "expected a startup message");
      co_return false;
    }
    reader.decoder().expect_typed_messages();
    const std::string user{startup->get("user")};
    std::string database{startup->get("database")};
    if (database.empty()) database = user;
    parameter_list forwarded;
    std::vector<std::string_view> unknown_options;
    for (const auto& [k, v] : startup->parameters) {
      if (k.starts_with("_pq_.")) unknown_options.push_back(k);
      if (k == "replication" && v != "false" && v != "0" && v != "off" && v != "no") {
        co_await fail_client(sqlstate::feature_not_supported,
                             "replication connections are not supported through dwproxy");
        co_return false;
      }
      if (forwarded_parameter(k)) forwarded.emplace_back(std::string{k}, std::string{v});
    }
    if (user.empty()) {
      co_await fail_client(sqlstate::invalid_authorization_specification,
                           "no PostgreSQL user name specified in startup packet");
      co_return false;
    }
    if (rt.cfg.tls.required && !client_->is_tls()) {
      co_await fail_client(sqlstate::invalid_authorization_specification,
                           "dwproxy requires TLS (connect with sslmode=require)");
      co_return false;
    }
    // A newer minor version or protocol options: answer as PostgreSQL 15 does and go on
    // with 3.0 (protocol docs, NegotiateProtocolVersion). The first field is the full
    // version code the server speaks (PG_PROTOCOL_LATEST), not just the minor number.
    if ((startup->protocol_version & 0xffff) != 0 || !unknown_options.empty()) {
      std::vector<std::byte> out;
      msg::write_negotiate_protocol_version(out, {msg::startup_code::protocol_3_0, unknown_options});
      if (co_await client_->write(out)) co_return false;
    }
    prefix_ = fmt::format("[s{} {} {}@{}]", id_, client_->peer(), user, database);
    reader.consume(*f);  // `startup` views die here; what it held was copied above
    std::vector<std::byte> leftover = reader.take_leftover();
    state_ = session_state::authenticating;
    const user_entry* entry = rt.auth.find(user);
    if (!co_await authenticate_client(entry, user)) co_return false;
    // A configured dbname is the one database served: clients name it as they always have,
    // and each backend gets its own configured name (NEW's may differ from OLD's).
    if (const auto& served = rt.cfg.old_backend.dbname; !served.empty() && database != served) {
      co_await fail_client(sqlstate::invalid_catalog_name,
                           "database \"" + database + "\" does not exist");
      co_return false;
    }
    state_ = session_state::connecting;
    if (!co_await open_primary(*entry, database, std::move(forwarded))) co_return false;
    client_carry_ = std::move(leftover);
    co_return true;
  }
}

awaitable<bool> session::authenticate_client(const user_entry* user, const std::string& name) {
  if (user && !user->verifier) co_return true;  // trusted user (warned about at startup)
  const std::string failed = "password authentication failed for user \"" + name + "\"";
  // Unknown users run the same exchange against a mock verifier, so a probe cannot tell
  // them from known users with a wrong password.
  msg::scram::server_exchange scram{user ? *user->verifier : msg::scram::mock_verifier(name)};
  std::vector<std::byte> out;
  const std::array<std::string_view, 1> mechanisms{"SCRAM-SHA-256"};
  msg::write_authentication_sasl(out, mechanisms);
  if (co_await client_->write(out)) co_return false;

  framed_reader reader{*client_, [&] {
    msg::frame_decoder d{msg::direction::frontend, runtime_->client_limits};
    d.expect_typed_messages();
    return d;
  }()};
  auto next_password_message = [&]() -> awaitable<boost::system::result<std::string>> {
    auto f = co_await reader.next();
    if (!f) co_return f.error();
    if (f->type != msg::frontend_type::password_message) co_return msg::errc::auth_protocol;
    std::string body{as_text(f->body)};
    reader.consume(*f);
    co_return body;
  };

  auto initial = co_await next_password_message();
  if (!initial) {
    if (initial.error().category() == msg::protocol_category())
      co_await fail_client(sqlstate::protocol_violation, "expected SASL response");
    co_return false;
  }
  auto sasl = msg::parse_sasl_initial_response(std::as_bytes(std::span{*initial}));
  if (!sasl || sasl->mechanism != "SCRAM-SHA-256" || !sasl->data) {
    co_await fail_client(sqlstate::protocol_violation,
                         "client selected an invalid SASL authentication mechanism");
    co_return false;
  }
  auto server_first = scram.on_client_first(as_text(*sasl->data));
  if (!server_first) {
    co_await fail_client(sqlstate::protocol_violation, "malformed SCRAM message");
    co_return false;
  }
  out.clear();
  msg::write_authentication_sasl_continue(out, *server_first);
  if (co_await client_->write(out)) co_return false;

  auto client_final = co_await next_password_message();
  if (!client_final) {
    if (client_final.error().category() == msg::protocol_category())
      co_await fail_client(sqlstate::protocol_violation, "expected SASL response");
    co_return false;
  }
  auto server_final = scram.on_client_final(*client_final);
  if (!server_final || !user) {
    ++owner_.stats().auth_failures;
    co_await fail_client(server_final || server_final.error() == msg::errc::auth_failed
                             ? sqlstate::invalid_password
                             : sqlstate::protocol_violation,
                         failed);
    co_return false;
  }
  out.clear();
  msg::write_authentication_sasl_final(out, *server_final);
  if (co_await client_->write(out)) co_return false;
  co_return true;
}

awaitable<bool> session::open_primary(const user_entry& user, const std::string& database,
                                      parameter_list client_parameters) {
  const runtime& rt = *runtime_;
  // Phases 3 and 4 answer from NEW (DESIGN.md, "The phases").
  applied_phase_ = owner_.shared().phase.load();
  const bool new_is_primary = applied_phase_ >= 3 && rt.cfg.new_backend;
  const config::backend& target = new_is_primary ? *rt.cfg.new_backend : rt.cfg.old_backend;
  backend_login login;
  login.target = &target;
  login.credentials = new_is_primary ? user.new_login : user.old_login;
  login.database = target.dbname.empty() ? database : target.dbname;
  login.client_parameters = std::move(client_parameters);
  login.tls = new_is_primary ? rt.new_tls.get() : rt.old_tls.get();
  // Kept for the shadow and for a new primary after a flip: same user, database and
  // parameters (TimeZone, DateStyle, ...), so both sides interpret statements alike.
  old_login_ = user.old_login;
  new_login_ = user.new_login;
  database_ = database;
  user_name_ = user.name;
  client_parameters_ = login.client_parameters;
  primary_is_new_ = new_is_primary;
  const auto started = std::chrono::steady_clock::now();
  backend_outcome outcome = co_await connect_backend(login);
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started).count();
  owner_.shared().last_login_us[new_is_primary ? 1 : 0].store(outcome.connection ? took : -took - 1);
  if (!outcome.connection) {
    ++owner_.stats().backend_failures;
    if (!outcome.failure.error_response.empty()) {
      // The server's own words (unknown database, bad role...) with its SQLSTATE.
      spdlog::info("{} backend {} refused login: {} {}", log_prefix(), target.name,
                   outcome.failure.sqlstate, outcome.failure.message);
      ++owner_.stats().client_errors;
      (void)co_await client_->write(outcome.failure.error_response);
      co_return false;
    }
    co_await fail_client(outcome.failure.sqlstate, outcome.failure.message);
    co_return false;
  }
  primary_ = std::move(outcome.connection);
  cancel_key_ = owner_.shared().cancels->add(primary_->cancel);

  std::vector<std::byte> out;
  msg::write_authentication_ok(out);
  for (const auto& [name, value] : primary_->parameters) msg::write_parameter_status(out, name, value);
  parameter_list{}.swap(primary_->parameters);  // sent; an idle session should hold no copies
  msg::write_backend_key_data(out, cancel_key_->process_id, cancel_key_->secret_key);
  msg::write_ready_for_query(out, 'I');
  if (co_await client_->write(out)) co_return false;
  backend_carry_ = std::move(primary_->leftover);
  spdlog::info("{} connected to {} backend {}", log_prefix(), new_is_primary ? "NEW" : "OLD",
               target.name);
  co_return true;
}

}  // namespace dw::proxy
