// Renders the reference. Prose that is not per-option lives here; anything per-option comes
// from the table, so adding an option documents it.
#include "config/reference.hpp"

#include "config/command_line.hpp"
#include "config/options.hpp"

namespace dw::config {
namespace {

constexpr std::string_view example = R"(listen: ["127.0.0.1:6432", "unix:/run/dwproxy:6432"]
threads: 0
phase: 0
state_file: /var/lib/dwproxy/state.json
backends:
  old: { host: 10.0.0.1, port: 5432, dbname: app, user: migrator,
         password_file: /etc/dwproxy/old.pw }
  new: { host: 10.0.0.2, port: 5432, dbname: app, user: migrator,
         password_file: /etc/dwproxy/new.pw, tls: verify-full,
         tls_root_cert: /etc/dwproxy/new-ca.crt }
users:
  - name: app
    scram_verifier: "SCRAM-SHA-256$4096:ZHdwcm94eS1leGFtcGxlIQ==$nisIrCfbvGYPqwU4XhuUcyNPJfXfi0z5XzhW6NVX+rM=:8cJG6CO9vzYo/To/77GFwrvT4Yb6aAJH8PX07SFPkhQ="
  - name: reporting
    password_file: /etc/dwproxy/reporting.pw
    old: { user: reporting_ro, password_file: /etc/dwproxy/reporting-old.pw }
tls: { cert: /etc/dwproxy/server.crt, key: /etc/dwproxy/server.key, required: false }
limits:
  max_clients: 10000
  max_message_size: 67108864
  startup_timeout_ms: 10000
  idle_timeout_ms: 0
  shutdown_timeout_ms: 30000
logging: { level: info, file: "" }
control: { socket: /run/dwproxy/control.sock, http_listen: "127.0.0.1:9187" }
gates: { verify_report: /var/lib/dwproxy/verify.json, verify_max_age_minutes: 60 }
business_rules:
  - name: order totals
    sql: SELECT count(*), sum(amount) FROM orders
)";

constexpr std::string_view intro = R"(# dwproxy configuration reference

<!-- Generated from config/options.cpp by `dwproxy --print-config-reference`; do not edit. -->

dwproxy reads one YAML file (`--config FILE`), command-line flags, or both; flags override
the file. `dwproxy --check-config FILE` loads and validates exactly as a start would. Every
problem is reported at once, as `file:line:column: key: message`; unknown keys are errors,
with the closest known key suggested. Messages never contain configured values, so they are
safe to paste (passwords stay out of logs and tickets).

## Example

)";

constexpr std::string_view sections = R"(
Reload `yes`: a changed value takes effect when the proxy reloads its configuration (for new
connections where it concerns connections). `restart`: the value is bound at startup; a reload
reports it as needing a restart and keeps the running value.

## Listen addresses

| Form | Meaning |
|---|---|
| `127.0.0.1:6432`, `db.example:6432` | TCP on one address (names are resolved when binding) |
| `[::1]:6432` | TCP on an IPv6 address; the brackets are required |
| `*:6432` | TCP on every interface |
| `unix:/run/dwproxy:6432` | Unix socket `/run/dwproxy/.s.PGSQL.6432`, found by `psql -h /run/dwproxy -p 6432` |

`listen` takes one address or a list; without one, dwproxy listens on `127.0.0.1:6432`. Each
`--listen` flag adds an address, and together they replace the file's list. Socket paths
must fit in 107 bytes. `control.http_listen` takes the TCP forms only.

## Backends

`backends.old` (required) is the database being left; `backends.new` (needed from phase 1 on)
is the one being moved to. Both take the keys listed as `backends.<old|new>.*`. On the
command line, `--old URI` and `--new URI` take a libpq URI (`postgresql://user:pw@host:5432/db`)
or a key=value string, parsed by libpq; the keywords used are `host`, `port`, `dbname`,
`user`, `password`, `sslmode` (as `tls`), `sslrootcert` and `connect_timeout` (seconds, 1-3600).
Others are refused. OLD and NEW may not name the same host, port and dbname. Adding or
removing `backends.new` takes effect on reload; the phase machine decides whether the
running phase allows it.

## Users

`users` lists who may log in to the proxy. Each has a `name` and one of `password`,
`password_file` or `scram_verifier` (clients authenticate with SCRAM-SHA-256); with none, the
user logs in without a password and a warning is logged. Optional `old` and `new` mappings
(`user`, `password` or `password_file`) say which role the user becomes on that backend;
without one, the backend's own `user` and `password` are used. Without `users`, one user is
derived from `backends.old`: its `user` and password. That is how the command-line quick
start works. The whole list is reloadable.

## Verification

`business_rules` lists checks for `dwctl verify`: each has a `name` and an `sql` statement
that is run on OLD and on NEW; every row and column of the two results must match (for
example `SELECT count(*), sum(amount) FROM orders WHERE created < '2024-01-01'`). The SQL
runs as the backend's configured user, read-only by intent: write it so.
`gates.verify_report` and `gates.verify_max_age_minutes` make the phase machine refuse
2 -> 3 (and 3 -> 4) unless that file holds a passed verification at most that many minutes
old; `--force` overrides it like every gate. Both are read at startup.

## Paths and secrets

Relative paths in a file resolve against the file's folder; on the command line, against
the working directory. Wherever a `password` is accepted, `password_file` names a file
holding it instead (trailing newlines stripped), so secrets can stay out of the config file;
give one or the other. TLS files and password files must be readable at load time.

## Command line

```
)";

std::string escape_cell(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string type_name(const option& o) {
  const auto range = [&o] { return " " + std::to_string(o.min) + "-" + std::to_string(o.max); };
  switch (o.kind) {
    case option_kind::string:
      return "string";
    case option_kind::path:
      return "path";
    case option_kind::readable_file:
      return "readable file";
    case option_kind::socket_path:
      return "socket path";
    case option_kind::secret:
      return "secret";
    case option_kind::secret_file:
      return "readable file (secret)";
    case option_kind::scram_verifier:
      return "SCRAM verifier (secret)";
    case option_kind::integer:
      return "integer" + range();
    case option_kind::milliseconds:
      return "milliseconds" + range();
    case option_kind::number:
      return "number" + range();
    case option_kind::boolean:
      return "boolean";
    case option_kind::listen_list:
      return "address list";
    case option_kind::tcp_address:
      return "host:port";
    case option_kind::choice: {
      std::string out;
      for (const auto c : o.choices) out += (out.empty() ? "`" : " \\| `") + std::string{c} + "`";
      return out;
    }
  }
  return "?";
}

std::string default_cell(const option& o) {
  if (o.required) return "required";
  if (o.default_value.empty()) return "(empty)";
  return "`" + std::string{o.default_value} + "`";
}

}  // namespace

std::string_view example_yaml() noexcept { return example; }

std::string render_reference_markdown() {
  std::string out{intro};
  out += "```yaml\n" + std::string{example} + "```\n\n## Options\n\n";
  out += "| Option | Type | Default | Reload | Description |\n|---|---|---|---|---|\n";
  for (const auto& o : all_options()) {
    out += "| `" + escape_cell(display_name(o)) + "` | " + type_name(o) + " | " +
           escape_cell(default_cell(o)) + " | " + (o.reloadable ? "yes" : "restart") + " | " +
           escape_cell(o.doc) + " |\n";
  }
  out += sections;
  out += help_text();
  out += "```\n";
  return out;
}

}  // namespace dw::config
