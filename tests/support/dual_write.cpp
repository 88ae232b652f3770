#include "tests/support/dual_write.hpp"

#include <poll.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/client_tools.hpp"
#include "tests/support/libpq_session.hpp"

namespace dw::test {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr const char* pgbench_template = "dw_pgbench_template";

std::string quote_ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void ensure_pgbench_template(const pg_cluster& cluster) {
  static std::mutex m;
  static std::set<std::string> done;
  std::lock_guard lock{m};
  if (done.contains(cluster.dir().string())) return;
  recreate_database(cluster, pgbench_template);
  const auto r = run_pgbench(direct_env(cluster, pgbench_template), {"-i", "-s", "1", "-q"});
  if (!r.ok())
    throw std::runtime_error("pgbench -i on " + cluster.dir().string() +
                             " failed: " + r.describe());
  done.insert(cluster.dir().string());
}

std::uint64_t unsigned_field(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) throw std::runtime_error(std::string("answer has no '") + key + "'");
  if (const auto* i = v->if_int64(); i != nullptr && *i >= 0) return static_cast<std::uint64_t>(*i);
  if (const auto* u = v->if_uint64()) return *u;
  throw std::runtime_error(std::string("answer field '") + key + "' is not a count");
}

std::string string_field(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string())
    throw std::runtime_error(std::string("answer has no string '") + key + "'");
  return std::string{v->get_string()};
}

/// The one JSON object dwctl --json printed; throws when it is missing or says ok: false.
boost::json::object answer_object(const std::string& json, const char* command) {
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec || !v.is_object())
    throw std::runtime_error(std::string("dwctl ") + command + " printed no JSON object: " + json);
  auto& o = v.get_object();
  if (const auto* ok = o.if_contains("ok"); ok != nullptr && ok->is_bool() && !ok->get_bool())
    throw std::runtime_error(std::string("dwctl ") + command + " failed: " + json);
  return std::move(o);
}

std::string first_line(std::string text) {
  if (const auto nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

}  // namespace

std::chrono::seconds env_seconds(const char* name, std::chrono::seconds fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || n <= 0)
    throw std::invalid_argument(std::string(name) + " must be a positive number of seconds");
  return std::chrono::seconds{n};
}

env_overrides direct_env(const pg_cluster& cluster, const std::string& dbname) {
  auto env = direct_env(cluster);
  for (auto& [k, v] : env)
    if (k == "PGDATABASE") v = dbname;
  return env;
}

void recreate_database(const pg_cluster& cluster, const std::string& name,
                       const std::string& template_db) {
  auto admin = pg_connect(cluster.admin_conninfo("postgres"));
  pg_exec(admin.get(), "DROP DATABASE IF EXISTS " + quote_ident(name) + " WITH (FORCE)");
  pg_exec(admin.get(), "CREATE DATABASE " + quote_ident(name) +
                           (template_db.empty() ? "" : " TEMPLATE " + quote_ident(template_db)));
}

void create_pgbench_databases(const std::string& name) {
  for (const pg_cluster* c : {&old_cluster(), &new_cluster()}) {
    ensure_pgbench_template(*c);
    recreate_database(*c, name, pgbench_template);
  }
}

const std::vector<std::string>& pgbench_tables() {
  static const std::vector<std::string> tables{"pgbench_accounts", "pgbench_branches",
                                               "pgbench_tellers", "pgbench_history"};
  return tables;
}

void create_databases(const std::string& name, const std::string& schema_sql) {
  for (const pg_cluster* c : {&old_cluster(), &new_cluster()}) {
    recreate_database(*c, name);
    if (!schema_sql.empty()) {
      auto conn = pg_connect(c->admin_conninfo(name));
      pg_exec(conn.get(), schema_sql);
    }
  }
}

::testing::AssertionResult no_divergence(const dwctl_status& st) {
  if (st.divergences == 0 && st.diverged_sessions == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << st.divergences << " divergence(s), "
                                       << st.diverged_sessions << " diverged session(s): " << st.json;
}

dwctl_status parse_dwctl_status(const std::string& json) {
  const auto o = answer_object(json, "status");
  dwctl_status s;
  s.json = json;
  s.phase = static_cast<int>(unsigned_field(o, "phase"));
  s.sessions = unsigned_field(o, "sessions");
  s.divergences = unsigned_field(o, "divergences");
  s.diverged_sessions = unsigned_field(o, "diverged_sessions");
  return s;
}

std::vector<diff_counts> parse_dwctl_diffs(const std::string& json) {
  const auto o = answer_object(json, "diffs");
  const auto* worst = o.if_contains("worst");
  if (worst == nullptr || !worst->is_array())
    throw std::runtime_error("dwctl diffs has no 'worst' list: " + json);
  std::vector<diff_counts> out;
  for (const auto& v : worst->get_array()) {
    if (!v.is_object()) throw std::runtime_error("dwctl diffs: 'worst' holds a non-object");
    const auto& f = v.get_object();
    out.push_back({string_field(f, "fingerprint"), string_field(f, "statement"),
                   unsigned_field(f, "samples"), unsigned_field(f, "matches"),
                   unsigned_field(f, "mismatches"), unsigned_field(f, "noise"),
                   unsigned_field(f, "skipped")});
  }
  return out;
}

dual_write_proxy::dual_write_proxy(dual_write_options options)
    : options_{std::move(options)}, dir_{make_work_dir("dual-write")} {
  std::string yaml = "phase: " + std::to_string(options_.phase) + "\n" + "state_file: \"" +
                     state_file().string() + "\"\n" + "control:\n  socket: \"" +
                     control_socket().string() + "\"\n" + "divergence_log:\n  path: \"" +
                     divergence_log().string() + "\"\n" +
                     (options_.redaction.empty() ? ""
                                                 : "  redaction: " + options_.redaction + "\n") +
                     "shadow:\n  reconnect_min_ms: " + std::to_string(options_.reconnect_min_ms) +
                     "\n  reconnect_max_ms: " + std::to_string(options_.reconnect_max_ms) + "\n";
  if (options_.lag_bound_ms)
    yaml += "  lag_bound_ms: " + std::to_string(*options_.lag_bound_ms) + "\n";
  yaml += options_.extra_yaml;
  std::ofstream{dir_ / "dwproxy.yaml"} << yaml;
  start();
}

void dual_write_proxy::start() {
  std::ifstream in{dir_ / "dwproxy.yaml"};
  proxy_options o = quick_start(old_cluster(), "postgres", "postgres", options_.dbname);
  o.new_uri = new_cluster().uri("postgres", "postgres", options_.dbname);
  o.phase.reset();  // the file's `phase:` decides, whatever DW_IT_PHASE asks of quick starts
  o.threads = options_.threads;
  o.log_level = options_.log_level;
  o.config_yaml.assign(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{});
  proxy_ = std::make_unique<proxy_process>(std::move(o));
}

void dual_write_proxy::restart() {
  if (proxy_ && !proxy_->stop(std::chrono::seconds{15}))
    throw std::runtime_error("dwproxy ignored SIGTERM for 15 s:\n" + proxy_->log_tail());
  proxy_.reset();
  start();
}

command_result dual_write_proxy::dwctl(const std::vector<std::string>& args,
                                       std::chrono::seconds timeout) const {
  std::vector<std::string> all{"--socket", control_socket().string(), "--timeout",
                               std::to_string(timeout.count())};
  all.insert(all.end(), args.begin(), args.end());
  return run_command(DW_CTL_BINARY, all,
                     {.env = {}, .stdin_data = {}, .timeout = timeout + std::chrono::seconds{10}});
}

dwctl_status dual_write_proxy::status() const {
  const auto r = dwctl({"--json", "status"});
  if (!r.ok()) throw std::runtime_error("dwctl status failed: " + r.describe());
  return parse_dwctl_status(first_line(r.out));
}

std::vector<diff_counts> dual_write_proxy::diffs() const {
  const auto r = dwctl({"--json", "diffs", "--limit", "100"});
  if (!r.ok()) throw std::runtime_error("dwctl diffs failed: " + r.describe());
  return parse_dwctl_diffs(first_line(r.out));
}

void send_query(PGconn* conn, const std::string& sql) {
  if (PQsendQuery(conn, sql.c_str()) != 1)
    throw std::runtime_error("PQsendQuery [" + sql + "] failed: " + PQerrorMessage(conn));
}

timed_outcome await_query(PGconn* conn, std::chrono::milliseconds deadline) {
  const auto start = clock_type::now();
  const auto until = start + deadline;
  timed_outcome out;
  out.ok = true;
  bool have_value = false;
  for (;;) {
    while (PQisBusy(conn) != 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now());
      if (left.count() <= 0) {
        out.took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
        return out;  // finished stays false
      }
      pollfd p{PQsocket(conn), POLLIN, 0};
      if (p.fd < 0) break;  // the connection is gone; PQgetResult reports it
      ::poll(&p, 1, static_cast<int>(left.count()));
      if (PQconsumeInput(conn) == 0) break;
    }
    PGresult* r = PQgetResult(conn);
    if (r == nullptr) break;
    const auto st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK && !have_value && PQntuples(r) > 0 && PQnfields(r) > 0) {
      out.value = PQgetvalue(r, 0, 0);
      have_value = true;
    }
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && out.ok) {
      out.ok = false;
      out.sqlstate = sqlstate_of(r);
      const char* msg = PQresultErrorMessage(r);
      out.message = msg != nullptr && *msg != '\0' ? msg : PQerrorMessage(conn);
    }
    PQclear(r);
    if (PQstatus(conn) == CONNECTION_BAD && PQisBusy(conn) == 0) {
      // Drain whatever libpq still queued, without waiting on a dead socket.
      while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
      break;
    }
  }
  out.finished = true;
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
  return out;
}

timed_outcome timed_query(PGconn* conn, const std::string& sql,
                          std::chrono::milliseconds deadline) {
  send_query(conn, sql);
  return await_query(conn, deadline);
}

long wait_for_count(const std::string& conninfo, const std::string& sql, long at_least,
                    std::chrono::milliseconds deadline) {
  const auto until = clock_type::now() + deadline;
  long last = -1;
  for (;;) {
    try {
      last = std::stol(pg_value(conninfo, sql));
    } catch (const std::exception&) {
      last = -1;
    }
    if (last >= at_least || clock_type::now() >= until) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
}

restart_on_exit::~restart_on_exit() {
  if (cluster_.running()) return;
  try {
    cluster_.start();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "could not restart " << cluster_.dir() << " for later tests: " << e.what();
  }
}

}  // namespace dw::test
