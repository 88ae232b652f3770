// File handling for the divergence log. Plain POSIX calls rather than iostreams: one write(2)
// per record on an O_APPEND descriptor keeps each line whole even if another process appends
// to the same file, and errno tells stats() what went wrong.
#include "shadow/divergence_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <utility>
#include <sys/stat.h>

namespace dw::shadow {
namespace {

std::string numbered(const std::filesystem::path& path, unsigned n) {
  return path.string() + "." + std::to_string(n);
}

}  // namespace

divergence_log::divergence_log(divergence_log_options options) : options_{std::move(options)} {
  const std::lock_guard lock{mutex_};
  (void)open_locked();
}

divergence_log::~divergence_log() {
  if (fd_ >= 0) ::close(fd_);
}

bool divergence_log::open_locked() noexcept {
  if (fd_ >= 0) return true;
  // 0600: under redaction "none" the file holds application data.
  fd_ = ::open(options_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    count_error_locked(errno);
    return false;
  }
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
  return true;
}

void divergence_log::rotate_locked() noexcept {
  ::close(fd_);
  fd_ = -1;
  size_ = 0;
  ++stats_.rotations;
  const std::string base = options_.path.string();
  if (options_.keep_files == 0) {
    if (::unlink(base.c_str()) != 0 && errno != ENOENT) count_error_locked(errno);
    return;
  }
  // path.N-1 -> path.N, ..., path -> path.1; rename replaces the oldest, which drops it.
  try {
    for (unsigned n = options_.keep_files; n > 1; --n) {
      if (::rename(numbered(options_.path, n - 1).c_str(), numbered(options_.path, n).c_str()) != 0 &&
          errno != ENOENT)
        count_error_locked(errno);
    }
    if (::rename(base.c_str(), numbered(options_.path, 1).c_str()) != 0 && errno != ENOENT)
      count_error_locked(errno);
  } catch (...) {  // std::bad_alloc building a name: skip this rotation, keep appending
    ++stats_.io_errors;
  }
}

bool divergence_log::append_locked(std::string_view line) noexcept {
  const std::size_t whole = line.size();
  while (!line.empty()) {
    const ssize_t n = ::write(fd_, line.data(), line.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      count_error_locked(errno);
      // End a partly written line, best effort, so the next record starts a line of its own.
      if (line.size() < whole && ::write(fd_, "\n", 1) == 1) ++size_;
      return false;
    }
    const auto written = static_cast<std::size_t>(n);
    size_ += written;
    stats_.bytes_written += written;
    line.remove_prefix(written);
  }
  if (options_.fsync == fsync_policy::every_record && ::fdatasync(fd_) != 0) {
    count_error_locked(errno);
    return false;
  }
  return true;
}

void divergence_log::count_error_locked(int error) noexcept {
  ++stats_.io_errors;
  stats_.last_errno = error;
}

void divergence_log::write(const divergence_record& record) noexcept {
  std::string line;
  try {  // formatting allocates; running out of memory drops the record, not the session
    line = format_divergence_record(record, {options_.redaction, options_.max_field_bytes});
  } catch (...) {
    const std::lock_guard lock{mutex_};
    ++stats_.by_kind[static_cast<std::size_t>(record.kind)];
    ++stats_.records_dropped;
    return;
  }
  // The formatter sets "truncated":true at the end of the line; cheaper than reparsing.
  const bool truncated = line.ends_with("\"truncated\":true}\n");

  const std::lock_guard lock{mutex_};
  ++stats_.by_kind[static_cast<std::size_t>(record.kind)];
  if (truncated) ++stats_.records_truncated;
  if (fd_ >= 0 && options_.max_bytes > 0 && size_ > 0 && size_ + line.size() > options_.max_bytes)
    rotate_locked();
  if (!open_locked() || !append_locked(line)) {
    ++stats_.records_dropped;
    return;
  }
  ++stats_.records_written;
}

divergence_log_stats divergence_log::stats() const {
  const std::lock_guard lock{mutex_};
  return stats_;
}

}  // namespace dw::shadow
