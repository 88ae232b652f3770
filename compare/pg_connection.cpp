// libpq underneath pg_connection. Parameters always go as text with server-inferred types
// (paramTypes NULL), so callers never spell type names and no value is ever pasted into SQL.
#include "compare/pg_connection.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace dw::compare {
namespace {

// Values print identically on OLD and NEW whatever their defaults: checksums hash this text,
// and backfill's text-format COPY reads it back on the other side.
constexpr std::string_view pinned_settings =
    "SET DateStyle = 'ISO, MDY'; SET TimeZone = 'UTC'; SET extra_float_digits = 3; "
    "SET bytea_output = 'hex'; SET IntervalStyle = 'postgres'; "
    // NOTICEs (DROP ... IF EXISTS) would go to stderr through libpq's default processor.
    "SET client_min_messages = warning";

std::string trimmed(const char* message) {
  std::string s = message == nullptr ? "" : message;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct param_arrays {
  std::vector<const char*> values;
  explicit param_arrays(pg_params params) {
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  }
  [[nodiscard]] int count() const { return static_cast<int>(values.size()); }
};

}  // namespace

// --- pg_rows --------------------------------------------------------------------------------

void pg_rows::clear::operator()(pg_result* r) const noexcept { PQclear(r); }

pg_rows::pg_rows(pg_result* r) noexcept : result_{r} {}

std::size_t pg_rows::size() const noexcept {
  return result_ ? static_cast<std::size_t>(PQntuples(result_.get())) : 0;
}

std::size_t pg_rows::columns() const noexcept {
  return result_ ? static_cast<std::size_t>(PQnfields(result_.get())) : 0;
}

bool pg_rows::is_null(std::size_t row, std::size_t column) const noexcept {
  return PQgetisnull(result_.get(), static_cast<int>(row), static_cast<int>(column)) != 0;
}

std::string_view pg_rows::value(std::size_t row, std::size_t column) const noexcept {
  const int r = static_cast<int>(row), c = static_cast<int>(column);
  return {PQgetvalue(result_.get(), r, c),
          static_cast<std::size_t>(PQgetlength(result_.get(), r, c))};
}

std::optional<std::string> pg_rows::optional(std::size_t row, std::size_t column) const {
  if (is_null(row, column)) return std::nullopt;
  return std::string{value(row, column)};
}

std::int64_t pg_rows::integer(std::size_t row, std::size_t column) const {
  const auto v = value(row, column);
  std::int64_t out = 0;
  if (auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      ec != std::errc{} || p != v.data() + v.size())
    throw pg_error{"expected an integer from the server, got '" + std::string{v} + "'", ""};
  return out;
}

bool pg_rows::boolean(std::size_t row, std::size_t column) const noexcept {
  return value(row, column) == "t";
}

std::uint64_t pg_rows::affected() const noexcept {
  const char* n = result_ ? PQcmdTuples(result_.get()) : nullptr;
  if (n == nullptr || *n == '\0') return 0;
  std::uint64_t out = 0;
  std::from_chars(n, n + std::strlen(n), out);
  return out;
}

// --- pg_connection --------------------------------------------------------------------------

pg_connection::pg_connection(const pg_endpoint& where) : label_{where.label} {
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : where.params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keys.data(), values.data(), 0);
  if (conn_ == nullptr) throw pg_error{label_ + ": out of memory", "", true};
  if (PQstatus(conn_) != CONNECTION_OK) {
    // libpq's login errors name the host and user, never the password.
    std::string message = label_ + " (" + where.description +
                          "): cannot connect: " + trimmed(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    throw pg_error{std::move(message), "", true};
  }
  run(pinned_settings);
}

pg_connection::~pg_connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

void pg_connection::fail(std::string_view what, pg_result* r) const {
  std::string sqlstate;
  std::string message;
  if (r != nullptr) {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    sqlstate = state == nullptr ? "" : state;
    message = trimmed(PQresultErrorMessage(r));
    PQclear(r);
  }
  if (message.empty()) message = trimmed(PQerrorMessage(conn_));
  throw pg_error{label_ + ": " + std::string{what} + ": " + message, std::move(sqlstate),
                 PQstatus(conn_) == CONNECTION_BAD};
}

pg_rows pg_connection::take_result(std::string_view sql) {
  pg_result* last = nullptr;
  // Drain every result so the connection is idle again, keeping the first failure.
  pg_result* failed = nullptr;
  while (pg_result* r = PQgetResult(conn_)) {
    const auto status = PQresultStatus(r);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      if (failed == nullptr)
        failed = r;
      else
        PQclear(r);
      continue;
    }
    if (last != nullptr) PQclear(last);
    last = r;
  }
  if (failed != nullptr) {
    if (last != nullptr) PQclear(last);
    const auto first_line = sql.substr(0, std::min<std::size_t>(sql.find('\n'), 120));
    fail("statement failed (" + std::string{first_line} + ")", failed);
  }
  if (last == nullptr) fail("no result");
  return pg_rows{last};
}

pg_rows pg_connection::exec(std::string_view sql, pg_params params) {
  send(sql, params);
  return collect();
}

void pg_connection::run(std::string_view sql) {
  if (PQsendQuery(conn_, std::string{sql}.c_str()) == 0) fail("cannot send");
  take_result(sql);
}

void pg_connection::send(std::string_view sql, pg_params params) {
  const param_arrays p{params};
  if (PQsendQueryParams(conn_, std::string{sql}.c_str(), p.count(), nullptr, p.values.data(),
                        nullptr, nullptr, 0) == 0)
    fail("cannot send");
}

pg_rows pg_connection::collect() { return take_result("collect"); }

void pg_connection::begin_copy_out(std::string_view sql) {
  pg_result* r = PQexec(conn_, std::string{sql}.c_str());
  if (PQresultStatus(r) != PGRES_COPY_OUT) fail("COPY TO failed", r);
  PQclear(r);
}

bool pg_connection::read_copy(std::string& chunk) {
  char* buffer = nullptr;
  const int n = PQgetCopyData(conn_, &buffer, 0);
  if (n > 0) {
    chunk.assign(buffer, static_cast<std::size_t>(n));
    PQfreemem(buffer);
    return true;
  }
  if (n == -2) fail("COPY TO failed");
  take_result("COPY TO");
  return false;
}

void pg_connection::begin_copy_in(std::string_view sql) {
  pg_result* r = PQexec(conn_, std::string{sql}.c_str());
  if (PQresultStatus(r) != PGRES_COPY_IN) fail("COPY FROM failed", r);
  PQclear(r);
}

void pg_connection::put_copy(std::string_view bytes) {
  if (PQputCopyData(conn_, bytes.data(), static_cast<int>(bytes.size())) != 1)
    fail("COPY FROM failed");
}

std::uint64_t pg_connection::end_copy() {
  if (PQputCopyEnd(conn_, nullptr) != 1) fail("COPY FROM failed");
  return take_result("COPY FROM").affected();
}

void pg_connection::abort_copy() noexcept {
  if (PQputCopyEnd(conn_, "abandoned by dwctl") == 1)
    while (pg_result* r = PQgetResult(conn_)) PQclear(r);
}

std::string pg_connection::literal(std::string_view value) const {
  char* quoted = PQescapeLiteral(conn_, value.data(), value.size());
  if (quoted == nullptr) fail("cannot quote a value");
  std::string out{quoted};
  PQfreemem(quoted);
  return out;
}

int pg_connection::server_version() const noexcept { return PQserverVersion(conn_); }

bool is_retryable(const pg_error& e) noexcept {
  const auto& s = e.sqlstate();
  return s == "40001" || s == "40P01" || s == "55P03";
}

}  // namespace dw::compare
