// Helpers for control_tests: a throwaway directory, and a scripted proxy_control fake that
// records the order in which the control server called it (the serialization tests read that
// log) and can hold a move open until the test releases it.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "control/proxy_control.hpp"
#include "tests/common/temp_dir.hpp"

namespace dw::control::testing {

/// The shared temp dir; control tests name files by filesystem path.
class temp_dir : public dw::test::temp_dir {
 public:
  temp_dir() : dw::test::temp_dir{"dwcontrol"} {}
  [[nodiscard]] std::filesystem::path file(const std::string& name) const { return file_path(name); }
};

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream{p, std::ios::binary} << text;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A proxy that answers from a settable snapshot. Thread-safe: the server calls it on its
/// io thread while the test thread inspects it or releases a held move.
class fake_proxy final : public proxy_control {
 public:
  status_snapshot snapshot;             ///< guarded by mutex_ once the server runs
  bool hold_moves = false;              ///< keep moves open until release_move()
  std::optional<failure> move_failure;  ///< fail the next moves with this
  move_report report{std::chrono::milliseconds{42}, std::chrono::milliseconds{7}};
  diffs_report diffs;                   ///< what read_diffs answers; guarded like snapshot

  void status(std::function<void(status_snapshot)> done) override {
    status_snapshot s;
    {
      std::lock_guard lock{mutex_};
      s = snapshot;
    }
    done(std::move(s));
  }

  void move_phase(const move_plan& plan, std::chrono::steady_clock::time_point /*deadline*/,
                  std::function<void(outcome<move_report>)> done) override {
    std::unique_lock lock{mutex_};
    const std::string name = "move " + std::to_string(phase_number(plan.from)) + "->" +
                             std::to_string(phase_number(plan.to));
    log_locked(name);
    plans_.push_back(plan);
    if (hold_moves) {
      held_ = [this, name, to = plan.to, done](outcome<move_report> r) {
        {
          std::lock_guard l{mutex_};
          if (r) snapshot.current = to;
          log_locked(name + " done");
        }
        done(std::move(r));
      };
      return;
    }
    if (move_failure) {
      log_locked(name + " failed");
      auto f = *move_failure;
      lock.unlock();
      done(f);
      return;
    }
    snapshot.current = plan.to;
    log_locked(name + " done");
    auto r = report;
    lock.unlock();
    done(r);
  }

  void pause(std::function<void(outcome<pause_report>)> done) override {
    bool changed = false;
    {
      std::lock_guard lock{mutex_};
      log_locked("pause");
      changed = !snapshot.paused;
      snapshot.paused = true;
    }
    done(pause_report{changed, 3});
  }

  void resume(std::function<void(outcome<bool>)> done) override {
    bool changed = false;
    {
      std::lock_guard lock{mutex_};
      log_locked("resume");
      changed = snapshot.paused;
      snapshot.paused = false;
    }
    done(changed);
  }

  void acknowledge_divergences(std::function<void(outcome<std::uint64_t>)> done) override {
    std::uint64_t n = 0;
    {
      std::lock_guard lock{mutex_};
      log_locked("ack");
      n = snapshot.gates.diverged_sessions;
      snapshot.gates.diverged_sessions = 0;
    }
    done(n);
  }

  void read_diffs(std::size_t limit, std::function<void(outcome<diffs_report>)> done) override {
    diffs_report r;
    {
      std::lock_guard lock{mutex_};
      log_locked("diffs " + std::to_string(limit));
      r = diffs;
    }
    if (r.worst.size() > limit) r.worst.resize(limit);
    done(std::move(r));
  }

  void reset_read_diffs(std::function<void(outcome<void>)> done) override {
    {
      std::lock_guard lock{mutex_};
      log_locked("reset diffs");
      diffs = {};
    }
    done(outcome<void>{});
  }

  /// Completes the held move from the test thread (the "any thread" side of the contract).
  void release_move(outcome<move_report> r) {
    std::function<void(outcome<move_report>)> h;
    {
      std::lock_guard lock{mutex_};
      h = std::move(held_);
      held_ = nullptr;
    }
    ASSERT_TRUE(h) << "no move is being held";
    h(std::move(r));
  }

  /// Waits until the call log holds `event`; false after `timeout`.
  bool wait_for_event(const std::string& event,
                      std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, timeout, [&] {
      return std::find(events_.begin(), events_.end(), event) != events_.end();
    });
  }

  [[nodiscard]] std::vector<std::string> events() const {
    std::lock_guard lock{mutex_};
    return events_;
  }
  [[nodiscard]] std::vector<move_plan> plans() const {
    std::lock_guard lock{mutex_};
    return plans_;
  }
  template <class F>
  void update(F f) {
    std::lock_guard lock{mutex_};
    f(snapshot);
  }
  void set_hold_moves(bool hold) {
    std::lock_guard lock{mutex_};
    hold_moves = hold;
  }
  void set_move_failure(std::optional<failure> f) {
    std::lock_guard lock{mutex_};
    move_failure = std::move(f);
  }

 private:
  void log_locked(std::string e) {
    events_.push_back(std::move(e));
    changed_.notify_all();
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
  std::vector<move_plan> plans_;
  std::function<void(outcome<move_report>)> held_;
};

}  // namespace dw::control::testing
