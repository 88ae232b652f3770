// State file encoding, the atomic replace, and the startup decision. POSIX calls are used
// directly because the atomicity argument rests on their exact semantics: rename(2) within one
// directory is atomic, and only an fsync of the directory makes the rename itself durable.
#include "control/state_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <charconv>
#include <system_error>

#include "control/json_fields.hpp"

namespace dw::control {
namespace {

namespace json = boost::json;
using namespace std::chrono;

constexpr std::int64_t format_version = 1;
constexpr std::size_t max_state_file_size = 64 * 1024;  // ours are ~200 bytes

std::string os_error(int err) { return std::system_category().message(err); }

/// A file descriptor closed on scope exit; close() reports errors when the caller cares.
class fd_guard {
 public:
  explicit fd_guard(int fd) noexcept : fd_{fd} {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] int close() noexcept {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

outcome<std::string> read_small_file(int fd, const std::string& path) {
  std::string text;
  std::array<char, 4096> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot read state file " + path + ": " + os_error(errno));
    if (n == 0) return outcome<std::string>{boost::system::in_place_value, std::move(text)};
    text.append(buf.data(), static_cast<std::size_t>(n));
    if (text.size() > max_state_file_size)
      return fail(
          fmt::format("state file {} is larger than {} bytes; it is not one dwproxy "
                      "wrote",
                      path, max_state_file_size));
  }
}

/// Writes `text` to a fresh temp file next to `file` and fsyncs it. Returns the temp path.
outcome<std::string> write_temp(const std::filesystem::path& file, std::string_view text) {
  std::string tmp = (file.parent_path() / ("." + file.filename().string() + ".XXXXXX")).string();
  fd_guard fd{::mkstemp(tmp.data())};
  if (fd.get() < 0)
    return fail("cannot create a temp file next to " + file.string() + ": " + os_error(errno));
  std::string error;
  if (!write_all(fd.get(), text))
    error = "cannot write " + tmp + ": " + os_error(errno);
  else if (::fsync(fd.get()) != 0)
    error = "cannot fsync " + tmp + ": " + os_error(errno);
  else if (fd.close() != 0)
    error = "cannot close " + tmp + ": " + os_error(errno);
  if (!error.empty()) {
    ::unlink(tmp.c_str());
    return fail(std::move(error));
  }
  return outcome<std::string>{boost::system::in_place_value, std::move(tmp)};
}

outcome<void> fsync_directory(const std::filesystem::path& dir) {
  fd_guard fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (fd.get() < 0 || ::fsync(fd.get()) != 0)
    return fail("cannot fsync directory " + dir.string() + ": " + os_error(errno));
  return {};
}

bool is_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return !s.empty();
}

int to_int(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

std::string format_utc(system_clock::time_point t) {
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day ymd{day};
  const hh_mm_ss hms{ms - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count(),
                     hms.subseconds().count());
}

std::optional<system_clock::time_point> parse_utc(std::string_view s) {
  // Positions of "YYYY-MM-DDTHH:MM:SS.mmmZ".
  if (s.size() != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != '.' || s[23] != 'Z')
    return std::nullopt;
  const std::array<std::string_view, 7> parts = {s.substr(0, 4),  s.substr(5, 2),  s.substr(8, 2),
                                                 s.substr(11, 2), s.substr(14, 2), s.substr(17, 2),
                                                 s.substr(20, 3)};
  for (auto p : parts)
    if (!is_digits(p)) return std::nullopt;
  const year_month_day ymd{year{to_int(parts[0])}, month{static_cast<unsigned>(to_int(parts[1]))},
                           day{static_cast<unsigned>(to_int(parts[2]))}};
  const int h = to_int(parts[3]), m = to_int(parts[4]), sec = to_int(parts[5]);
  // system_clock counts nanoseconds in 64 bits, which end in 2262: later years would overflow.
  const int y = static_cast<int>(ymd.year());
  if (!ymd.ok() || y < 1970 || y > 2261 || h > 23 || m > 59 || sec > 59) return std::nullopt;
  return sys_days{ymd} + hours{h} + minutes{m} + seconds{sec} + milliseconds{to_int(parts[6])};
}

std::string encode_state(const persisted_state& s) {
  const json::object o{{"version", format_version},
                       {"phase", phase_number(s.current)},
                       {"phase_name", phase_name(s.current)},
                       {"updated_at", format_utc(s.updated_at)},
                       {"reason", s.reason},
                       {"forced", s.forced}};
  return json::serialize(o) + "\n";
}

outcome<persisted_state> decode_state(std::string_view text) {
  using json_fields::field;
  json::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec) return fail("not valid JSON (" + ec.message() + ")");
  const json::object* o = v.if_object();
  if (o == nullptr) return fail("not a JSON object");

  auto version = field<std::int64_t>(*o, "version");
  if (!version) return version.error();
  if (*version != format_version)
    return fail(fmt::format("format version {} is not {}; written by another dwproxy release?",
                            *version, format_version));
  auto number = field<std::int64_t>(*o, "phase");
  if (!number) return number.error();
  const auto p = phase_from_number(static_cast<long>(*number));
  if (!p) return fail(fmt::format("phase {} is not 0-4", *number));
  auto name = field<std::string>(*o, "phase_name");
  if (!name) return name.error();
  if (*name != phase_name(*p))
    return fail(fmt::format("phase {} is {}, but phase_name says '{}'; which one is meant?",
                            *number, phase_name(*p), *name));
  auto updated = field<std::string>(*o, "updated_at");
  if (!updated) return updated.error();
  const auto at = parse_utc(*updated);
  if (!at) return fail("field 'updated_at' is not a UTC time like 2024-05-01T12:34:56.789Z");
  auto reason = field<std::string>(*o, "reason");
  if (!reason) return reason.error();
  auto forced = field<bool>(*o, "forced");
  if (!forced) return forced.error();
  return persisted_state{*p, *at, std::move(*reason), *forced};
}

outcome<std::optional<persisted_state>> load_state(const std::filesystem::path& file) {
  const std::string path = file.string();
  fd_guard fd{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.get() < 0 && errno == ENOENT) return std::optional<persisted_state>{};
  if (fd.get() < 0) return fail("cannot open state file " + path + ": " + os_error(errno));
  auto text = read_small_file(fd.get(), path);
  if (!text) return text.error();
  auto state = decode_state(*text);
  if (!state) {
    return fail("state file " + path + " is corrupt: " + state.error().message +
                ". dwproxy will not guess its phase; fix the file, or remove it to start in the "
                "configured phase");
  }
  return std::optional<persisted_state>{std::move(*state)};
}

outcome<void> save_state(const std::filesystem::path& file, const persisted_state& s) {
  auto tmp = write_temp(file, encode_state(s));
  if (!tmp) return tmp.error();
  if (::rename(tmp->c_str(), file.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp->c_str());
    return fail("cannot rename " + *tmp + " to " + file.string() + ": " + os_error(err));
  }
  auto dir = file.parent_path();
  return fsync_directory(dir.empty() ? std::filesystem::path{"."} : dir);
}

outcome<startup_phase> load_startup_phase(const config::config& cfg) {
  const auto configured = phase_from_number(cfg.phase);
  if (!configured) return fail(fmt::format("configured phase {} is not 0-4", cfg.phase));
  startup_phase out{{*configured, system_clock::now(), "configured phase", false}, false};
  if (cfg.state_file.empty()) return out;

  const std::filesystem::path file{cfg.state_file};
  auto loaded = load_state(file);
  if (!loaded) return loaded.error();
  if (*loaded) out = {std::move(**loaded), true};

  // Catch an unwritable directory now rather than when the first flip tries to persist.
  const auto dir = file.parent_path().empty() ? std::filesystem::path{"."} : file.parent_path();
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return fail("state file directory " + dir.string() + " is not writable: " + os_error(errno));
  if (out.state.current != phase::passthrough && !cfg.new_backend) {
    return fail(
        fmt::format("state file {} says phase {}, which needs backends.new, but the "
                    "configuration has none",
                    cfg.state_file, describe(out.state.current)));
  }
  return out;
}

}  // namespace dw::control
