#include "tests/support/write_load.hpp"

#include <libpq-fe.h>

#include "tests/support/libpq_session.hpp"

namespace dw::test {

write_load::write_load(const std::string& conninfo, int sessions, statement_maker next)
    : next_{std::move(next)} {
  for (int i = 0; i < sessions; ++i) threads_.emplace_back([this, conninfo, i] { run(conninfo, i); });
}

write_load::~write_load() { stop(); }

void write_load::stop() {
  stop_.store(true);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

std::string write_load::first_error() const {
  const std::lock_guard lock{mutex_};
  return first_error_;
}

void write_load::run(const std::string& conninfo, int session) {
  pg_conn conn;
  try {
    conn = pg_connect(conninfo);
  } catch (const std::exception& e) {
    errors_.fetch_add(1);
    const std::lock_guard lock{mutex_};
    if (first_error_.empty()) first_error_ = e.what();
    return;
  }
  std::mt19937 rng(static_cast<unsigned>(session + 1) * 7919u);
  while (!stop_.load()) {
    for (const auto& sql : next_(rng, session)) {
      if (PQsendQuery(conn.get(), sql.c_str()) != 1) {
        errors_.fetch_add(1);
        return;
      }
      while (PGresult* r = PQgetResult(conn.get())) {
        const auto st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
          errors_.fetch_add(1);
          const std::lock_guard lock{mutex_};
          if (first_error_.empty()) first_error_ = sql + ": " + PQresultErrorMessage(r);
        }
        PQclear(r);
      }
      statements_.fetch_add(1);
    }
  }
}

}  // namespace dw::test
