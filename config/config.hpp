// The frozen, validated configuration of one dwproxy process. Produced by config_loader
// (YAML file, command-line quick start, or both) and never mutated afterwards: a reload
// builds a new value and the proxy swaps snapshots (STYLE.md 26, 33).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/problem.hpp"
#include "config/secret.hpp"

namespace dw::config {

enum class tls_mode { disable, prefer, require, verify_ca, verify_full };

/// A listener address: TCP host:port, or a Unix socket directory as PostgreSQL lays them out
/// (the socket file is <dir>/.s.PGSQL.<port>, so `psql -h <dir> -p <port>` finds it).
struct listen_address {
  enum class kind { tcp, unix_socket } type = kind::tcp;
  std::string host;              ///< TCP: address to bind ("127.0.0.1", "::", "*")
  std::string unix_dir;          ///< Unix: directory holding the socket file
  std::uint16_t port = 6432;

  friend bool operator==(const listen_address&, const listen_address&) = default;
};

/// Credentials the proxy uses to log in to one backend.
struct backend_credentials {
  std::string user;
  secret password;               ///< may be empty (trust / peer setups)

  friend bool operator==(const backend_credentials&, const backend_credentials&) = default;
};

struct backend {
  std::string name;              ///< "old" or "new"
  std::string host = "127.0.0.1"; ///< hostname, IP, or a directory for a Unix socket
  std::uint16_t port = 5432;
  std::string dbname;            ///< empty: use the database the client asked for
  tls_mode tls = tls_mode::prefer;
  std::string tls_root_cert;     ///< CA file for verify-ca / verify-full
  backend_credentials credentials; ///< default login when a user has no mapping
  std::chrono::milliseconds connect_timeout{5000};

  friend bool operator==(const backend&, const backend&) = default;
};

/// A client-facing user: how it authenticates to the proxy and who it becomes on each backend.
/// Clients authenticate with SCRAM-SHA-256. With neither a password nor a verifier configured the
/// user is trusted (no password asked); the proxy warns about that at startup.
struct user {
  std::string name;
  secret password;        ///< plain password; the proxy derives a SCRAM verifier from it
  secret scram_verifier;  ///< "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>" (pg_authid form)
  std::optional<backend_credentials> old_login; ///< unset: the OLD backend's own credentials
  std::optional<backend_credentials> new_login; ///< unset: the NEW backend's own credentials

  friend bool operator==(const user&, const user&) = default;
};

struct client_tls {
  std::string cert_file;         ///< empty: TLS off, SSLRequest answered 'N'
  std::string key_file;
  bool required = false;         ///< refuse non-TLS clients with 28000
};

struct limits {
  std::size_t max_clients = 10'000;
  std::size_t max_message_size = 64u << 20;
  std::chrono::milliseconds startup_timeout{10'000};
  std::chrono::milliseconds idle_timeout{0};      ///< 0: never close idle clients
  std::chrono::milliseconds shutdown_timeout{30'000};
};

/// The shadow side of every session in phases 1-3 (docs/dual-write.md).
struct shadow_settings {
  std::string mode = "ordered";  ///< "ordered" (conflicting writes keep the primary's order) or "async"
  std::chrono::milliseconds lag_bound{2000};  ///< longest a client ever waits for its shadow
  /// The waits' bound for lag_bound after any shadow ran past lag_bound (a stalled shadow).
  std::chrono::milliseconds stalled_bound{200};
  std::size_t max_queue_bytes = 16u << 20;    ///< per session; a full queue pushes back, then diverges
  std::size_t max_connections = 1000;         ///< shadow connections open at once, all sessions
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{10'000};
  bool rewrite_nondeterministic = true;  ///< now(), random(), ... become literals on both sides
  bool serialize_sequences = true;       ///< per-table lock for inserts that may take sequence values
  std::string serialize_tables;          ///< comma-separated: every write to these runs one at a time
};

/// Phases 2 and 3: plain reads sampled, also run on the shadow and compared
/// (docs/shadow-reads.md).
struct shadow_read_settings {
  double sample_rate = 0.1;        ///< fraction of plain reads compared
  bool in_cutover = true;          ///< also sample in phase 3 (reads then also run on OLD)
  std::string always;              ///< comma-separated fingerprints (hex) always sampled
  std::string never;               ///< comma-separated fingerprints never sampled
  std::size_t max_pending = 8;     ///< a session's shadow queue past this: the sample is skipped
  /// A sample something waits behind on the shadow this long is cancelled there (skipped).
  std::chrono::milliseconds yield_after{50};
  std::string ignore_columns;      ///< comma-separated "column" or "table.column"
  double float_abs_tolerance = 0;
  double float_rel_tolerance = 0;
  std::chrono::milliseconds timestamp_tolerance{0};
  bool noise_check = true;          ///< re-run a mismatching read on the primary
  std::size_t max_noise_checks = 4; ///< re-runs at once, process-wide
  std::size_t max_fingerprints = 1000;
  std::size_t sample_rows = 3;      ///< differing rows kept per side for `dwctl diffs`
};

struct divergence_log_settings {
  std::string path = "dwproxy-divergences.jsonl";
  std::size_t max_bytes = 64u << 20;
  unsigned keep_files = 5;
  bool fsync = false;
  std::string redaction = "values_and_literals";  ///< none, values, values_and_literals
  std::size_t max_field_bytes = 64u << 10;
};

struct flip_settings {
  std::chrono::milliseconds drain_timeout{5000};  ///< in-flight transactions get this long to end
};

/// Gates the control plane adds to the built-in ones (control/phase_machine.hpp).
struct gate_settings {
  std::size_t min_read_samples = 100;     ///< sampled reads 2 -> 3 needs; 0: read-diff gate off
  double max_mismatch_rate = 0.001;      ///< read mismatches / samples 2 -> 3 tolerates
  unsigned read_window_s = 600;          ///< the reads the gate judges: this many last seconds
  std::string verify_report;                ///< report file `dwctl verify` writes; empty: gate off
  unsigned verify_max_age_minutes = 0;      ///< a passed report at most this old; 0: gate off
};

/// Phase 3's automatic rollback to phase 2 (docs/shadow-reads.md).
struct rollback_settings {
  bool automatic = false;
  double max_mismatch_rate = 0.01;  ///< sampled-read mismatch rate over the window that fires
  double latency_ratio = 2.0;       ///< NEW p99 over OLD p99 that fires; 0: latency trigger off
  unsigned window_s = 60;
  std::size_t min_samples = 50;      ///< fewer sampled reads in the window: no verdict
  std::chrono::milliseconds check_interval{1000};
};

/// An operator's check for `dwctl verify`: SQL whose result must be the same on OLD and NEW.
struct business_rule {
  std::string name;
  std::string sql;

  friend bool operator==(const business_rule&, const business_rule&) = default;
};

struct logging {
  std::string level = "info";    ///< trace, debug, info, warn, error, off
  std::string file;              ///< empty: stderr
};

struct config {
  std::string source;            ///< file path, or "command line"
  std::vector<listen_address> listen;
  backend old_backend;
  std::optional<backend> new_backend;
  std::vector<user> users;
  client_tls tls;
  dw::config::limits limits;  // qualified: the member name shadows the type
  logging log;
  shadow_settings shadow;
  shadow_read_settings shadow_reads;
  divergence_log_settings divergence_log;
  flip_settings flip;
  gate_settings gates;
  rollback_settings rollback;
  std::vector<business_rule> business_rules;
  int phase = 0;                 ///< initial phase when no state file says otherwise
  std::string state_file;        ///< where the phase is persisted; empty: not persisted
  std::string control_socket;    ///< Unix control socket path; empty: none
  std::string http_listen;       ///< "127.0.0.1:9187"; empty: no HTTP API
  secret http_token;             ///< bearer token for the HTTP API; empty: none (loopback only)
  unsigned threads = 0;          ///< 0: one per core
  /// Non-fatal findings for the proxy to log at startup (trusted users, unused mappings, ...).
  std::vector<problem> warnings;

  [[nodiscard]] const user* find_user(std::string_view name) const noexcept {
    for (const auto& u : users)
      if (u.name == name) return &u;
    return nullptr;
  }
};

}  // namespace dw::config
