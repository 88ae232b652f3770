#include "migrate/progress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>

namespace dw::migrate {
namespace {

constexpr auto terminal_interval = std::chrono::milliseconds{500};
constexpr auto log_interval = std::chrono::seconds{5};

}  // namespace

std::string format_bytes(std::uint64_t bytes) {
  constexpr const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  auto value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(units)) {
    value /= 1000;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

std::string format_progress(const progress_numbers& p) {
  const double seconds = std::max(static_cast<double>(p.elapsed.count()) / 1000.0, 1e-3);
  const double rate = static_cast<double>(p.rows) / seconds;
  std::string s = fmt::format("{} rows", p.rows);
  if (p.estimated_rows > 0) {
    // The estimate is the planner's; never claim 100 % before the run says so.
    const auto percent = std::min<std::uint64_t>(99, p.rows * 100 / p.estimated_rows);
    s = fmt::format("{}/~{} rows ({}%)", p.rows, p.estimated_rows, percent);
  }
  s += fmt::format(", {}, {:.0f} rows/s", format_bytes(p.bytes), rate);
  if (p.estimated_rows > p.rows && rate > 0)
    s += fmt::format(", ETA {:.0f} s", static_cast<double>(p.estimated_rows - p.rows) / rate);
  return s;
}

std::string format_done(const progress_numbers& p) {
  const double seconds = static_cast<double>(p.elapsed.count()) / 1000.0;
  return fmt::format("{} rows, {} in {:.1f} s ({:.0f} rows/s)", p.rows, format_bytes(p.bytes),
                     seconds, static_cast<double>(p.rows) / std::max(seconds, 1e-3));
}

progress_meter::progress_meter(std::ostream* out, bool terminal, std::uint64_t estimated_rows)
    : out_{out}, terminal_{terminal}, estimated_rows_{estimated_rows} {
  if (out_ != nullptr) thread_ = std::thread{[this] { run(); }};
}

progress_meter::~progress_meter() { finish(); }

void progress_meter::add(std::uint64_t rows, std::uint64_t bytes) noexcept {
  rows_ += rows;
  bytes_ += bytes;
}

void progress_meter::draw(bool final_line) {
  const progress_numbers now{
      rows_.load(), estimated_rows_, bytes_.load(),
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                            started_)};
  const auto line = final_line ? format_done(now) : format_progress(now);
  if (terminal_)
    *out_ << "\r\033[K" << line << (final_line ? "\n" : "") << std::flush;
  else
    *out_ << "backfill: " << line << '\n' << std::flush;
}

void progress_meter::note(const std::string& line) {
  if (out_ == nullptr) return;
  const std::lock_guard lock{mutex_};
  *out_ << (terminal_ ? "\r\033[K" : "") << line << '\n' << std::flush;
}

void progress_meter::run() {
  std::unique_lock lock{mutex_};
  const auto interval = terminal_ ? std::chrono::milliseconds{terminal_interval}
                                  : std::chrono::milliseconds{log_interval};
  while (!wake_.wait_for(lock, interval, [this] { return stopping_; })) draw(false);
}

void progress_meter::finish() {
  {
    const std::lock_guard lock{mutex_};
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (out_ != nullptr) draw(true);
}

}  // namespace dw::migrate
