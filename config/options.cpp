// The option table itself, and lookups over it. Defaults here are applied to every loaded
// config; config.hpp's member initializers must agree (tests/config/options_test.cpp checks).
#include "config/options.hpp"

#include <array>
#include <stdexcept>

namespace dw::config {
namespace {

using std::chrono::milliseconds;

constexpr std::array<std::string_view, 6> log_levels{"trace", "debug", "info",
                                                     "warn",  "error", "off"};
// libpq's sslmode names, in tls_mode order ("allow" has no tls_mode and is refused).
constexpr std::array<std::string_view, 5> tls_modes{"disable", "prefer", "require", "verify-ca",
                                                    "verify-full"};

constexpr std::array<std::string_view, 2> shadow_modes{"ordered", "async"};
constexpr std::array<std::string_view, 3> redaction_modes{"none", "values", "values_and_literals"};

constexpr std::int64_t one_hour_ms = 3'600'000;
constexpr std::int64_t int32_max = 2'147'483'647;

// Written as one aggregate per option so a reviewer sees a whole option on a few lines.
// clang-format off
constexpr option table[] = {
  {"listen", option_kind::listen_list, "127.0.0.1:6432", false, false,
   "Addresses clients connect to: a list, see \"Listen addresses\"",
   [](config& c) -> field_ref { return &c.listen; }},
  {"threads", option_kind::integer, "0", false, false,
   "I/O threads, each with its own sessions; 0 = one per CPU core",
   [](config& c) -> field_ref { return &c.threads; }, 0, 1024},
  {"phase", option_kind::integer, "0", false, false,
   "Phase to start in when the state file holds none: 0 passthrough, 1 dual-write, "
   "2 shadow-read, 3 cutover, 4 cleanup",
   [](config& c) -> field_ref { return &c.phase; }, 0, 4},
  {"state_file", option_kind::path, "", false, false,
   "Where the current phase is persisted across restarts; empty = not persisted",
   [](config& c) -> field_ref { return &c.state_file; }},

  {"tls.cert", option_kind::readable_file, "", true, false,
   "PEM certificate chain offered to clients; empty = no client TLS (SSLRequest answered 'N')",
   [](config& c) -> field_ref { return &c.tls.cert_file; }},
  {"tls.key", option_kind::readable_file, "", true, false,
   "PEM private key of tls.cert",
   [](config& c) -> field_ref { return &c.tls.key_file; }},
  {"tls.required", option_kind::boolean, "false", true, false,
   "Refuse clients that do not switch to TLS (SQLSTATE 28000); needs tls.cert",
   [](config& c) -> field_ref { return &c.tls.required; }},

  {"limits.max_clients", option_kind::integer, "10000", true, false,
   "Client connections accepted at once; further ones are refused",
   [](config& c) -> field_ref { return &c.limits.max_clients; }, 1, 1'000'000},
  {"limits.max_message_size", option_kind::integer, "67108864", true, false,
   "Largest protocol message accepted from a client or backend, in bytes",
   [](config& c) -> field_ref { return &c.limits.max_message_size; }, 8192, 1'073'741'824},
  {"limits.startup_timeout_ms", option_kind::milliseconds, "10000", true, false,
   "Time a client has to finish TLS and authentication",
   [](config& c) -> field_ref { return &c.limits.startup_timeout; }, 1, one_hour_ms},
  {"limits.idle_timeout_ms", option_kind::milliseconds, "0", true, false,
   "Close clients idle outside a transaction this long; 0 = never",
   [](config& c) -> field_ref { return &c.limits.idle_timeout; }, 0, int32_max},
  {"limits.shutdown_timeout_ms", option_kind::milliseconds, "30000", true, false,
   "On shutdown, how long in-flight transactions may run before connections are closed",
   [](config& c) -> field_ref { return &c.limits.shutdown_timeout; }, 0, one_hour_ms},

  {"logging.level", option_kind::choice, "info", true, false,
   "Least severe level written",
   [](config& c) -> field_ref { return &c.log.level; }, 0, 0, log_levels},
  {"logging.file", option_kind::path, "", true, false,
   "Log file, reopened on reload; empty = stderr",
   [](config& c) -> field_ref { return &c.log.file; }},

  {"shadow.mode", option_kind::choice, "ordered", false, false,
   "ordered: a COMMIT or autocommit write is released on the primary only once the shadow holds "
   "the same row locks, so conflicting writes land on NEW in OLD's order; async: no waiting, "
   "conflicting writes from different sessions may land in another order (verify finds it)",
   [](config& c) -> field_ref { return &c.shadow.mode; }, 0, 0, shadow_modes},
  {"shadow.lag_bound_ms", option_kind::milliseconds, "2000", true, false,
   "Longest a client waits for its shadow; past it the session's shadow is marked diverged",
   [](config& c) -> field_ref { return &c.shadow.lag_bound; }, 1, one_hour_ms},
  {"shadow.stalled_bound_ms", option_kind::milliseconds, "200", true, false,
   "Once a session's shadow has run past lag_bound_ms, every session's wait for its shadow "
   "is cut to this for the next lag_bound_ms: clients queued behind one another's row locks "
   "on the primary then wait this long each for a stalled shadow, not a whole lag bound each",
   [](config& c) -> field_ref { return &c.shadow.stalled_bound; }, 0, one_hour_ms},
  {"shadow.max_queue_bytes", option_kind::integer, "16777216", true, false,
   "Statements a session may have queued for its shadow, in bytes; a full queue makes the "
   "client wait (up to lag_bound_ms), then the shadow is marked diverged",
   [](config& c) -> field_ref { return &c.shadow.max_queue_bytes; }, 65536, 1'073'741'824},
  {"shadow.max_connections", option_kind::integer, "1000", true, false,
   "Shadow connections open at once over all sessions; a session that finds none free runs "
   "without a shadow (marked diverged) and retries at its next transaction boundary",
   [](config& c) -> field_ref { return &c.shadow.max_connections; }, 1, 1'000'000},
  {"shadow.reconnect_min_ms", option_kind::milliseconds, "100", true, false,
   "First wait before a lost shadow is reconnected; doubles per failure",
   [](config& c) -> field_ref { return &c.shadow.reconnect_min; }, 1, one_hour_ms},
  {"shadow.reconnect_max_ms", option_kind::milliseconds, "10000", true, false,
   "Longest wait between shadow reconnect attempts",
   [](config& c) -> field_ref { return &c.shadow.reconnect_max; }, 1, one_hour_ms},
  {"shadow.rewrite_nondeterministic", option_kind::boolean, "true", true, false,
   "Rewrite now(), CURRENT_TIMESTAMP, random(), gen_random_uuid(), ... in writes to literals "
   "chosen once, so both sides store the same value",
   [](config& c) -> field_ref { return &c.shadow.rewrite_nondeterministic; }},
  {"shadow.serialize_sequences", option_kind::boolean, "true", true, false,
   "Inserts into one table run one at a time (primary and shadow) so serial and identity "
   "values are taken in the same order on both sides",
   [](config& c) -> field_ref { return &c.shadow.serialize_sequences; }},
  {"shadow.serialize_tables", option_kind::string, "", true, false,
   "Comma-separated tables whose writes run one at a time across sessions, for writes that "
   "read other rows without locking them (INSERT ... SELECT, UPDATE ... FROM)",
   [](config& c) -> field_ref { return &c.shadow.serialize_tables; }},

  {"shadow_reads.sample_rate", option_kind::number, "0.1", true, false,
   "Fraction of plain reads that phase 2 also runs on the shadow and compares with the "
   "primary's answer, off the client's path",
   [](config& c) -> field_ref { return &c.shadow_reads.sample_rate; }, 0, 1},
  {"shadow_reads.in_cutover", option_kind::boolean, "true", true, false,
   "Sample reads in phase 3 too (they then also run on OLD); needed by the latency trigger of "
   "rollback.automatic",
   [](config& c) -> field_ref { return &c.shadow_reads.in_cutover; }},
  {"shadow_reads.always", option_kind::string, "", true, false,
   "Comma-separated query fingerprints (16 hex digits, as `dwctl diffs` shows them) compared "
   "every time, whatever sample_rate says",
   [](config& c) -> field_ref { return &c.shadow_reads.always; }},
  {"shadow_reads.never", option_kind::string, "", true, false,
   "Comma-separated query fingerprints never compared",
   [](config& c) -> field_ref { return &c.shadow_reads.never; }},
  {"shadow_reads.max_pending", option_kind::integer, "8", true, false,
   "Jobs waiting on a session's shadow past which a chosen read is skipped (and counted) "
   "rather than queued: the client is never delayed for a sample",
   [](config& c) -> field_ref { return &c.shadow_reads.max_pending; }, 1, 100000},
  {"shadow_reads.yield_after_ms", option_kind::milliseconds, "50", true, false,
   "A sampled read that keeps a write, a commit or a phase move waiting behind it on the "
   "session's shadow for this long is cancelled there and counted as skipped (inside a "
   "transaction under a savepoint, so the transaction goes on): a heavy read on NEW never "
   "holds the client up longer, nor diverges the session",
   [](config& c) -> field_ref { return &c.shadow_reads.yield_after; }, 0, one_hour_ms},
  {"shadow_reads.ignore_columns", option_kind::string, "", true, false,
   "Comma-separated result columns left out of the comparison: `column` anywhere, or "
   "`table.column` in statements that read that table",
   [](config& c) -> field_ref { return &c.shadow_reads.ignore_columns; }},
  {"shadow_reads.float_abs_tolerance", option_kind::number, "0", true, false,
   "float4/float8/numeric values closer than this compare equal (bucketed, see "
   "docs/shadow-reads.md); 0 = exact",
   [](config& c) -> field_ref { return &c.shadow_reads.float_abs_tolerance; }, 0, 1'000'000'000},
  {"shadow_reads.float_rel_tolerance", option_kind::number, "0", true, false,
   "Relative tolerance for float4/float8/numeric values; 0 = exact",
   [](config& c) -> field_ref { return &c.shadow_reads.float_rel_tolerance; }, 0, 1},
  {"shadow_reads.timestamp_tolerance_ms", option_kind::milliseconds, "0", true, false,
   "timestamp/timestamptz values within this compare equal (bucketed); 0 = exact",
   [](config& c) -> field_ref { return &c.shadow_reads.timestamp_tolerance; }, 0, one_hour_ms},
  {"shadow_reads.noise_check", option_kind::boolean, "true", true, false,
   "Re-run a mismatching read (taken outside a transaction) on the primary: columns that "
   "differ between two primary runs are noise, reported apart from mismatches",
   [](config& c) -> field_ref { return &c.shadow_reads.noise_check; }},
  {"shadow_reads.max_noise_checks", option_kind::integer, "4", true, false,
   "Noise re-runs at once, process-wide (each opens a short connection to the primary); "
   "past it the mismatch is reported as such",
   [](config& c) -> field_ref { return &c.shadow_reads.max_noise_checks; }, 0, 1000},
  {"shadow_reads.max_fingerprints", option_kind::integer, "1000", false, false,
   "Query shapes with statistics of their own; later ones are counted together",
   [](config& c) -> field_ref { return &c.shadow_reads.max_fingerprints; }, 1, 1'000'000},
  {"shadow_reads.sample_rows", option_kind::integer, "3", true, false,
   "Differing rows kept per side as an example (shown only when divergence_log.redaction "
   "is not values_and_literals)",
   [](config& c) -> field_ref { return &c.shadow_reads.sample_rows; }, 0, 100},

  {"divergence_log.path", option_kind::path, "dwproxy-divergences.jsonl", false, false,
   "Append-only JSON-lines file of divergences (one record per event)",
   [](config& c) -> field_ref { return &c.divergence_log.path; }},
  {"divergence_log.max_bytes", option_kind::integer, "67108864", false, false,
   "Rotate the file before it passes this size; 0 = never",
   [](config& c) -> field_ref { return &c.divergence_log.max_bytes; }, 0, 1LL << 40},
  {"divergence_log.keep_files", option_kind::integer, "5", false, false,
   "Rotated files kept (path.1 ... path.N)",
   [](config& c) -> field_ref { return &c.divergence_log.keep_files; }, 0, 1000},
  {"divergence_log.fsync", option_kind::boolean, "false", false, false,
   "fdatasync after every record",
   [](config& c) -> field_ref { return &c.divergence_log.fsync; }},
  {"divergence_log.redaction", option_kind::choice, "values_and_literals", false, false,
   "What of a statement's data is kept: none, values (Bind parameters hidden), "
   "values_and_literals (literals in the SQL text hidden too)",
   [](config& c) -> field_ref { return &c.divergence_log.redaction; }, 0, 0, redaction_modes},
  {"divergence_log.max_field_bytes", option_kind::integer, "65536", false, false,
   "Cap on the statement, the parameters and each message of one record",
   [](config& c) -> field_ref { return &c.divergence_log.max_field_bytes; }, 256, 16'777'216},

  {"flip.drain_timeout_ms", option_kind::milliseconds, "5000", true, false,
   "During a flip, how long in-flight transactions and shadow queues get to finish; past it "
   "the flip is abandoned and traffic resumes on the old primary",
   [](config& c) -> field_ref { return &c.flip.drain_timeout; }, 1, one_hour_ms},

  {"gates.min_read_samples", option_kind::integer, "100", false, false,
   "Sampled reads (shadow_reads.*) compared over gates.read_window_s that moving 2 -> 3 "
   "needs; 0 = no read-diff gate",
   [](config& c) -> field_ref { return &c.gates.min_read_samples; }, 0, 1'000'000'000},
  {"gates.max_mismatch_rate", option_kind::number, "0.001", false, false,
   "Highest sampled-read mismatch rate (mismatches / samples, noise not counted) over "
   "gates.read_window_s that moving 2 -> 3 accepts",
   [](config& c) -> field_ref { return &c.gates.max_mismatch_rate; }, 0, 1},
  {"gates.read_window_s", option_kind::integer, "600", false, false,
   "The read-diff gate judges the sampled reads of this many last seconds",
   [](config& c) -> field_ref { return &c.gates.read_window_s; }, 10, 86'400},

  {"rollback.automatic", option_kind::boolean, "false", false, false,
   "In phase 3, move back to phase 2 on its own when a trigger below fires (logged at warn, "
   "listed in `dwctl status`)",
   [](config& c) -> field_ref { return &c.rollback.automatic; }},
  {"rollback.max_mismatch_rate", option_kind::number, "0.01", false, false,
   "Trigger: sampled-read mismatch rate over rollback.window_s above this",
   [](config& c) -> field_ref { return &c.rollback.max_mismatch_rate; }, 0, 1},
  {"rollback.latency_ratio", option_kind::number, "2.0", false, false,
   "Trigger: NEW's p99 read latency above this many times OLD's over rollback.window_s, both "
   "measured on the same sampled reads; 0 = latency trigger off",
   [](config& c) -> field_ref { return &c.rollback.latency_ratio; }, 0, 1000},
  {"rollback.window_s", option_kind::integer, "60", false, false,
   "The triggers judge the sampled reads of this many last seconds",
   [](config& c) -> field_ref { return &c.rollback.window_s; }, 5, 86'400},
  {"rollback.min_samples", option_kind::integer, "50", false, false,
   "Fewer sampled reads in the window than this: no verdict (a handful of slow reads must "
   "not flip the migration back)",
   [](config& c) -> field_ref { return &c.rollback.min_samples; }, 1, 1'000'000'000},
  {"rollback.check_interval_ms", option_kind::milliseconds, "1000", false, false,
   "How often phase 3 checks the triggers",
   [](config& c) -> field_ref { return &c.rollback.check_interval; }, 100, one_hour_ms},
  {"gates.verify_report", option_kind::path, "", false, false,
   "Report file `dwctl verify --report` writes; with gates.verify_max_age_minutes, moving "
   "2 -> 3 (and 3 -> 4) needs it to say passed and to be that recent",
   [](config& c) -> field_ref { return &c.gates.verify_report; }},
  {"gates.verify_max_age_minutes", option_kind::integer, "0", false, false,
   "How old a passed verification may be for 2 -> 3 and 3 -> 4; 0 = no verification gate",
   [](config& c) -> field_ref { return &c.gates.verify_max_age_minutes; }, 0, 525'600},

  {"control.socket", option_kind::socket_path, "", false, false,
   "Unix socket for dwctl; empty = no control socket",
   [](config& c) -> field_ref { return &c.control_socket; }},
  {"control.http_listen", option_kind::tcp_address, "", false, false,
   "host:port of the HTTP API (status JSON, Prometheus metrics); empty = off",
   [](config& c) -> field_ref { return &c.http_listen; }},
  {"control.http_token_file", option_kind::secret_file, "", false, false,
   "File holding the HTTP API's bearer token (trailing newline stripped); required to listen "
   "beyond loopback",
   [](config& c) -> field_ref { return &c.http_token; }},

  {"host", option_kind::string, "127.0.0.1", false, false,
   "Host name, IP address, or Unix socket directory (starting with /)",
   [](backend& b) -> field_ref { return &b.host; }},
  {"port", option_kind::integer, "5432", false, false,
   "TCP port, or the Unix socket's port number",
   [](backend& b) -> field_ref { return &b.port; }, 1, 65535},
  {"dbname", option_kind::string, "", false, false,
   "Database; empty = the database the client asked for",
   [](backend& b) -> field_ref { return &b.dbname; }},
  {"user", option_kind::string, "", true, true,
   "Role the proxy logs in as, for users without their own mapping",
   [](backend& b) -> field_ref { return &b.credentials.user; }},
  {"password", option_kind::secret, "", true, false,
   "Password of `user`; empty = none (trust or peer setups)",
   [](backend& b) -> field_ref { return &b.credentials.password; }},
  {"password_file", option_kind::secret_file, "", true, false,
   "File holding the password instead (trailing newline stripped)",
   [](backend& b) -> field_ref { return &b.credentials.password; }},
  {"tls", option_kind::choice, "prefer", true, false,
   "TLS to the backend, as libpq's sslmode",
   [](backend& b) -> field_ref { return &b.tls; }, 0, 0, tls_modes},
  {"tls_root_cert", option_kind::readable_file, "", true, false,
   "CA certificates to check the backend against; required by verify-ca and verify-full",
   [](backend& b) -> field_ref { return &b.tls_root_cert; }},
  {"connect_timeout_ms", option_kind::milliseconds, "5000", true, false,
   "Time allowed to connect and log in to the backend",
   [](backend& b) -> field_ref { return &b.connect_timeout; }, 1, one_hour_ms},

  {"name", option_kind::string, "", true, true,
   "User name clients log in with",
   [](user& u) -> field_ref { return &u.name; }},
  {"password", option_kind::secret, "", true, false,
   "Password clients must give (SCRAM-SHA-256)",
   [](user& u) -> field_ref { return &u.password; }},
  {"password_file", option_kind::secret_file, "", true, false,
   "File holding the password instead (trailing newline stripped)",
   [](user& u) -> field_ref { return &u.password; }},
  {"scram_verifier", option_kind::scram_verifier, "", true, false,
   "Stored SCRAM verifier instead of a password, as in pg_authid.rolpassword",
   [](user& u) -> field_ref { return &u.scram_verifier; }},

  {"user", option_kind::string, "", true, false,
   "Role this user becomes on that backend; empty = the user's own name",
   [](backend_credentials& c) -> field_ref { return &c.user; }},
  {"password", option_kind::secret, "", true, false,
   "Password of that role",
   [](backend_credentials& c) -> field_ref { return &c.password; }},
  {"password_file", option_kind::secret_file, "", true, false,
   "File holding the password instead (trailing newline stripped)",
   [](backend_credentials& c) -> field_ref { return &c.password; }},

  {"name", option_kind::string, "", true, true,
   "Name of a business rule, shown by `dwctl verify`",
   [](business_rule& r) -> field_ref { return &r.name; }},
  {"sql", option_kind::string, "", true, true,
   "SQL run on OLD and on NEW by `dwctl verify`; every row and column must match",
   [](business_rule& r) -> field_ref { return &r.sql; }},
};
// clang-format on

template <class Target>
field_ref bind_as(const option& o, Target& t) {
  auto* get = std::get_if<field_ref (*)(Target&)>(&o.field);
  if (get == nullptr) throw std::logic_error{"option bound to the wrong scope"};
  return (*get)(t);
}

template <class Target>
void apply_scope_defaults(Target& t, option_scope where) {
  for (const auto& o : table) {
    if (o.scope() != where) continue;
    // Defaults are constants in this file; a failure is a bug in the table, not user error.
    if (auto msg = assign(o, bind_as(o, t), o.default_value, {}); !msg.empty())
      throw std::logic_error{"bad default for " + std::string{o.name} + ": " + msg};
  }
}

}  // namespace

std::string_view option::leaf() const noexcept {
  const auto dot = name.rfind('.');
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

std::span<const option> all_options() noexcept { return table; }

const option* find_option(option_scope where, std::string_view name) noexcept {
  for (const auto& o : table)
    if (o.scope() == where && o.name == name) return &o;
  return nullptr;
}

std::string display_name(const option& o) {
  switch (o.scope()) {
    case option_scope::root:
      return std::string{o.name};
    case option_scope::backend:
      return "backends.<old|new>." + std::string{o.name};
    case option_scope::user:
      return "users[]." + std::string{o.name};
    case option_scope::login:
      return "users[].<old|new>." + std::string{o.name};
    case option_scope::rule:
      return "business_rules[]." + std::string{o.name};
  }
  return std::string{o.name};
}

field_ref bind(const option& o, config& c) { return bind_as(o, c); }
field_ref bind(const option& o, backend& b) { return bind_as(o, b); }
field_ref bind(const option& o, user& u) { return bind_as(o, u); }
field_ref bind(const option& o, backend_credentials& c) { return bind_as(o, c); }
field_ref bind(const option& o, business_rule& r) { return bind_as(o, r); }

bool same_value(field_ref a, field_ref b) {
  return std::visit(
      [&b](auto* lhs) {
        using ptr = decltype(lhs);
        auto* const* rhs = std::get_if<ptr>(&b);
        return rhs != nullptr && *lhs == **rhs;
      },
      a);
}

void apply_defaults(config& c) { apply_scope_defaults(c, option_scope::root); }
void apply_defaults(backend& b) { apply_scope_defaults(b, option_scope::backend); }
void apply_defaults(user& u) { apply_scope_defaults(u, option_scope::user); }
void apply_defaults(backend_credentials& c) { apply_scope_defaults(c, option_scope::login); }
void apply_defaults(business_rule& r) { apply_scope_defaults(r, option_scope::rule); }

}  // namespace dw::config
