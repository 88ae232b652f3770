// Thin RAII and error-reporting helpers over libpq for the tests' own queries. Failures
// throw std::runtime_error carrying libpq's message, which gtest reports with the test.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <string>

namespace dw::test {

struct pg_conn_deleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct pg_result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using pg_conn = std::unique_ptr<PGconn, pg_conn_deleter>;
using pg_result = std::unique_ptr<PGresult, pg_result_deleter>;

/// Connects or throws with libpq's error message.
[[nodiscard]] pg_conn pg_connect(const std::string& conninfo);

/// Runs `sql` (simple protocol); throws unless it ends with tuples or command-ok.
pg_result pg_exec(PGconn* conn, const std::string& sql);

/// First column of the first row ("" for NULL); throws when there is no row.
[[nodiscard]] std::string pg_value(PGconn* conn, const std::string& sql);
/// Same on a fresh connection that is closed afterwards.
[[nodiscard]] std::string pg_value(const std::string& conninfo, const std::string& sql);

/// SQLSTATE of a result ("" when none).
[[nodiscard]] std::string sqlstate_of(const PGresult* r);

/// The outcome of a connection attempt that is expected to fail.
struct connect_outcome {
  bool connected = false;
  std::string sqlstate;  ///< from the server's ErrorResponse ("" when none arrived)
  std::string message;   ///< libpq's full error message
};

/// Connects with verbose error reporting switched on before the handshake, so libpq's
/// message carries the server's SQLSTATE ("FATAL:  28P01: ..."), which it otherwise hides.
[[nodiscard]] connect_outcome pg_try_connect(const std::string& conninfo,
                                             std::chrono::milliseconds timeout);

/// Extracts the first "<SEVERITY>:  XXXXX:" SQLSTATE from a verbose libpq error message.
[[nodiscard]] std::string sqlstate_in_message(const std::string& message);

}  // namespace dw::test
