// A blocking libpq connection for the data tools (verify, backfill, repair): connect with
// keyword/value parameters, run statements with text parameters and text results, send a
// statement and collect it later (so OLD and NEW work at the same time), and COPY in both
// directions. Failures throw pg_error: these tools run at the CLI edge (STYLE.md 16), where a
// thrown error becomes a message and an exit status.
//
// Every connection pins the settings that decide how values print as text (DateStyle,
// TimeZone, extra_float_digits, bytea_output, IntervalStyle), so that OLD and NEW render the
// same value the same way whatever their server defaults are: checksums hash that text.
// Security: connection parameters (passwords) are never part of any message; an endpoint is
// described by `description` alone.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pg_conn;    // libpq's PGconn
struct pg_result;  // libpq's PGresult

namespace dw::compare {

/// Where to connect: libpq keywords and values, plus what messages may say about it.
struct pg_endpoint {
  std::string label;        ///< "OLD" or "NEW"
  std::string description;  ///< "10.0.0.1:5432/app as migrator"; never a password
  std::vector<std::pair<std::string, std::string>> params;  ///< libpq keyword -> value
};

/// A statement or connection failed. what() starts with the endpoint's label.
class pg_error : public std::runtime_error {
 public:
  pg_error(std::string message, std::string sqlstate, bool connection_failed = false)
      : std::runtime_error{std::move(message)},
        sqlstate_{std::move(sqlstate)},
        connection_failed_{connection_failed} {}
  [[nodiscard]] const std::string& sqlstate() const noexcept { return sqlstate_; }
  /// The server could not be reached or refused the login.
  [[nodiscard]] bool connection_failed() const noexcept { return connection_failed_; }

 private:
  std::string sqlstate_;
  bool connection_failed_;
};

/// The rows of one statement, as text. Values are views into the result it owns.
class pg_rows {
 public:
  pg_rows() = default;
  explicit pg_rows(pg_result* r) noexcept;

  [[nodiscard]] std::size_t size() const noexcept;
  [[nodiscard]] std::size_t columns() const noexcept;
  [[nodiscard]] bool is_null(std::size_t row, std::size_t column) const noexcept;
  /// The value's text ("" for NULL).
  [[nodiscard]] std::string_view value(std::size_t row, std::size_t column) const noexcept;
  [[nodiscard]] std::optional<std::string> optional(std::size_t row, std::size_t column) const;
  [[nodiscard]] std::int64_t integer(std::size_t row, std::size_t column) const;
  [[nodiscard]] bool boolean(std::size_t row, std::size_t column) const noexcept;
  /// Rows affected, from the command tag ("UPDATE 3" -> 3); 0 when the tag has no count.
  [[nodiscard]] std::uint64_t affected() const noexcept;

 private:
  struct clear {
    void operator()(pg_result* r) const noexcept;
  };
  std::unique_ptr<pg_result, clear> result_;
};

using pg_params = std::span<const std::optional<std::string>>;

class pg_connection {
 public:
  /// Connects and pins the text-output settings. Throws pg_error (connection_failed()).
  explicit pg_connection(const pg_endpoint& where);
  ~pg_connection();
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  [[nodiscard]] const std::string& label() const noexcept { return label_; }

  /// Runs one statement; `params` are $1, $2, ... as text (std::nullopt: NULL), their types
  /// inferred by the server. Throws pg_error unless it ends with rows or command-ok.
  pg_rows exec(std::string_view sql, pg_params params = {});
  /// Runs one or more statements without parameters (simple protocol), results discarded.
  void run(std::string_view sql);

  /// Sends a statement without waiting; collect() returns its rows (or throws). One at a time.
  void send(std::string_view sql, pg_params params = {});
  pg_rows collect();

  /// COPY ... TO STDOUT: starts it; then read_copy() yields each CopyData payload until it
  /// returns false (end of data, the COPY's result checked).
  void begin_copy_out(std::string_view sql);
  bool read_copy(std::string& chunk);
  /// COPY ... FROM STDIN: starts it; put_copy() sends payload bytes; end_copy() finishes
  /// and returns the rows copied (or throws the server's error, e.g. a duplicate key).
  void begin_copy_in(std::string_view sql);
  void put_copy(std::string_view bytes);
  std::uint64_t end_copy();
  /// Abandons a COPY FROM STDIN (the server rolls the statement back); never throws.
  void abort_copy() noexcept;

  /// `value` as a quoted SQL literal (PQescapeLiteral), for the one place that takes no
  /// parameters: the query inside COPY (...) TO STDOUT.
  [[nodiscard]] std::string literal(std::string_view value) const;

  /// The server's version number (150004 for 15.4).
  [[nodiscard]] int server_version() const noexcept;

 private:
  [[noreturn]] void fail(std::string_view what, pg_result* r = nullptr) const;
  pg_rows take_result(std::string_view sql);

  pg_conn* conn_ = nullptr;
  std::string label_;
};

/// Serialization failure (40001), deadlock (40P01) or lock timeout (55P03): the work that
/// failed can simply run again, after a short wait.
[[nodiscard]] bool is_retryable(const pg_error& e) noexcept;

}  // namespace dw::compare
