#include "tests/support/libpq_session.hpp"

#include <poll.h>

#include <regex>
#include <stdexcept>

namespace dw::test {

pg_conn pg_connect(const std::string& conninfo) {
  pg_conn c{PQconnectdb(conninfo.c_str())};
  if (!c) throw std::runtime_error("PQconnectdb: out of memory");
  if (PQstatus(c.get()) != CONNECTION_OK)
    throw std::runtime_error("connect to [" + conninfo + "] failed: " + PQerrorMessage(c.get()));
  // Notices ("table does not exist, skipping") are expected noise; tests assert on errors.
  PQsetNoticeProcessor(c.get(), [](void*, const char*) {}, nullptr);
  return c;
}

pg_result pg_exec(PGconn* conn, const std::string& sql) {
  pg_result r{PQexec(conn, sql.c_str())};
  const auto status = PQresultStatus(r.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    throw std::runtime_error("query [" + sql + "] failed: " + PQerrorMessage(conn));
  return r;
}

std::string pg_value(PGconn* conn, const std::string& sql) {
  const auto r = pg_exec(conn, sql);
  if (PQntuples(r.get()) < 1 || PQnfields(r.get()) < 1)
    throw std::runtime_error("query [" + sql + "] returned no value");
  return PQgetvalue(r.get(), 0, 0);
}

std::string pg_value(const std::string& conninfo, const std::string& sql) {
  const auto c = pg_connect(conninfo);
  return pg_value(c.get(), sql);
}

std::string sqlstate_of(const PGresult* r) {
  const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  return s != nullptr ? s : "";
}

std::string sqlstate_in_message(const std::string& message) {
  static const std::regex pattern{R"((FATAL|ERROR|PANIC):  ([0-9A-Z]{5}):)"};
  std::smatch m;
  return std::regex_search(message, m, pattern) ? m[2].str() : "";
}

connect_outcome pg_try_connect(const std::string& conninfo, std::chrono::milliseconds timeout) {
  pg_conn c{PQconnectStart(conninfo.c_str())};
  if (!c) throw std::runtime_error("PQconnectStart: out of memory");
  PQsetErrorVerbosity(c.get(), PQERRORS_VERBOSE);
  const auto until = std::chrono::steady_clock::now() + timeout;
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (PQstatus(c.get()) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
         st != PGRES_POLLING_FAILED) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return {false, "", "timed out after " + std::to_string(timeout.count()) + " ms"};
    pollfd p{PQsocket(c.get()), static_cast<short>(st == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
    st = PQconnectPoll(c.get());
  }
  connect_outcome out;
  out.connected = PQstatus(c.get()) == CONNECTION_OK;
  out.message = PQerrorMessage(c.get());
  out.sqlstate = sqlstate_in_message(out.message);
  return out;
}

}  // namespace dw::test
