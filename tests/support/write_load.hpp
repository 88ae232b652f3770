// Client sessions that keep writing until told to stop, for tests that run a tool (backfill,
// repair) under live traffic: each session has its own libpq connection and its own random
// sequence, and every statement's outcome is counted, so a test can require that the clients
// saw no error and that enough writes overlapped the tool.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace dw::test {

/// The next statements of session `session`, sent one Query each: a single autocommit
/// statement, or BEGIN, statements, COMMIT. (A whole transaction in one Query string commits
/// on the primary before dwproxy's shadow sees any of it, which ordered mode cannot order.)
using statement_maker = std::function<std::vector<std::string>(std::mt19937& rng, int session)>;

class write_load {
 public:
  /// Starts `sessions` threads writing to `conninfo` (through a proxy, typically).
  write_load(const std::string& conninfo, int sessions, statement_maker next);
  ~write_load();
  write_load(const write_load&) = delete;
  write_load& operator=(const write_load&) = delete;

  /// Stops every session after its current statement and waits for them.
  void stop();

  [[nodiscard]] long statements() const noexcept { return statements_.load(); }
  [[nodiscard]] long errors() const noexcept { return errors_.load(); }
  /// The first failed statement and its error message ("" when none failed).
  [[nodiscard]] std::string first_error() const;

 private:
  void run(const std::string& conninfo, int session);

  statement_maker next_;
  std::atomic<bool> stop_{false};
  std::atomic<long> statements_{0};
  std::atomic<long> errors_{0};
  mutable std::mutex mutex_;
  std::string first_error_;
  std::vector<std::thread> threads_;
};

}  // namespace dw::test
