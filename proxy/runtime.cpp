#include "proxy/runtime.hpp"

#include "config/list_value.hpp"

#include <stdexcept>

namespace dw::proxy {
namespace {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_client_tls(const config::client_tls& tls) {
  if (tls.cert_file.empty()) return nullptr;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(tls.cert_file, ec);
  if (ec) throw std::runtime_error("tls.cert '" + tls.cert_file + "': " + ec.message());
  ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("tls.key '" + tls.key_file + "': " + ec.message());
  return ctx;
}

std::shared_ptr<ssl::context> make_backend_tls(const config::backend& b) {
  using config::tls_mode;
  if (b.tls == tls_mode::disable) return nullptr;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                   ssl::context::no_tlsv1_1);
  if (b.tls == tls_mode::verify_ca || b.tls == tls_mode::verify_full) {
    boost::system::error_code ec;
    if (b.tls_root_cert.empty()) {
      ctx->set_default_verify_paths(ec);
    } else {
      ctx->load_verify_file(b.tls_root_cert, ec);
    }
    if (ec)
      throw std::runtime_error("backends." + b.name + ".tls_root_cert '" + b.tls_root_cert +
                               "': " + ec.message());
    ctx->set_verify_mode(ssl::verify_peer);
  } else {
    ctx->set_verify_mode(ssl::verify_none);  // prefer/require encrypt but do not authenticate
  }
  return ctx;
}

}  // namespace

std::shared_ptr<const runtime> runtime::build(config::config cfg) {
  auto rt = std::make_shared<runtime>();
  rt->auth = auth_table::build(cfg);
  rt->client_tls = make_client_tls(cfg.tls);
  rt->old_tls = make_backend_tls(cfg.old_backend);
  if (cfg.new_backend) rt->new_tls = make_backend_tls(*cfg.new_backend);
  rt->client_limits.max_message = cfg.limits.max_message_size;
  rt->serialize_tables = config::split_list(cfg.shadow.serialize_tables);
  if (auto bad = shadow::parse_read_sampling(cfg.shadow_reads, rt->read_sampling))
    throw std::runtime_error(*bad);
  rt->redaction = shadow::parse_redaction_mode(cfg.divergence_log.redaction)
                      .value_or(shadow::redaction_mode::values_and_literals);
  rt->cfg = std::move(cfg);
  return rt;
}

}  // namespace dw::proxy
