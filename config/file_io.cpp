// POSIX open/read rather than iostreams: errno is reliably set, so messages say why a file
// could not be read (permissions are the usual reason when running under a service account).
#include "config/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace dw::config {
namespace {

std::string cannot_read(const std::string& path, std::string_view reason) {
  return "cannot read " + path + ": " + std::string{reason};
}

std::string os_reason() { return std::system_category().message(errno); }

class file_handle {
 public:
  explicit file_handle(const std::string& path) : fd_{::open(path.c_str(), O_RDONLY | O_CLOEXEC)} {}
  file_handle(const file_handle&) = delete;
  file_handle& operator=(const file_handle&) = delete;
  ~file_handle() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  int fd_;
};

std::string open_regular(const std::string& path, const file_handle& f) {
  if (f.fd() < 0) return cannot_read(path, os_reason());
  struct stat st {};
  if (::fstat(f.fd(), &st) != 0) return cannot_read(path, os_reason());
  if (!S_ISREG(st.st_mode)) return cannot_read(path, "not a regular file");
  return {};
}

}  // namespace

std::string read_text_file(const std::string& path, std::string& content) {
  const file_handle f{path};
  if (auto err = open_regular(path, f); !err.empty()) return err;
  content.clear();
  char buf[8192];
  for (;;) {
    const auto n = ::read(f.fd(), buf, sizeof buf);
    if (n == 0) return {};
    if (n < 0) {
      if (errno == EINTR) continue;
      return cannot_read(path, os_reason());
    }
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > max_text_file_bytes) {
      content.clear();
      return cannot_read(path, "larger than " + std::to_string(max_text_file_bytes >> 20) + " MiB");
    }
  }
}

std::string check_readable(const std::string& path) {
  const file_handle f{path};
  return open_regular(path, f);
}

}  // namespace dw::config
