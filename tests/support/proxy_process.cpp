#include "tests/support/proxy_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "tests/support/integration_env.hpp"
#include "tests/support/net.hpp"

namespace dw::test {
namespace {

std::mutex registry_mutex;
std::vector<proxy_process*> registry;

void copy_for_server(const std::filesystem::path& from, const std::filesystem::path& to,
                     const std::filesystem::path& data_dir) {
  // PostgreSQL reads the key only when its owner runs the server and nobody else can read it.
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  struct stat st {};
  if (::stat(data_dir.c_str(), &st) != 0 || ::chown(to.c_str(), st.st_uid, st.st_gid) != 0 ||
      ::chmod(to.c_str(), 0600) != 0)
    throw std::runtime_error("cannot hand " + to.string() + " to the server: " + std::strerror(errno));
}

}  // namespace

pg_uri parse_pg_uri(const std::string& uri) {
  static const std::regex pattern{R"(postgres(?:ql)?://([^:@/]+):([^@/]*)@([^:/]+):(\d+)/([^?]+))"};
  std::smatch m;
  if (!std::regex_match(uri, m, pattern)) throw std::invalid_argument("unsupported URI: " + uri);
  return {m[1].str(), m[2].str(), m[3].str(), m[5].str(),
          static_cast<std::uint16_t>(std::stoi(m[4].str()))};
}

proxy_process::proxy_process(proxy_options options)
    : work_dir_{make_work_dir("proxy")}, login_{parse_pg_uri(options.old_uri)} {
  if (direct_mode()) {
    host_ = login_.host;
    port_ = login_.port;
    if (!options.direct_settings.empty() || !options.tls_cert.empty()) start_stand_in(options);
    return;
  }
  spawn(options);
  wait_listening();  // throws after killing the child: the destructor will not run then
  std::lock_guard lock{registry_mutex};
  registry.push_back(this);
}

proxy_process::~proxy_process() {
  {
    std::lock_guard lock{registry_mutex};
    std::erase(registry, this);
  }
  if (pid_ > 0 && !wait_status_) stop();
}

std::vector<proxy_process*> proxy_process::live_instances() {
  std::lock_guard lock{registry_mutex};
  return registry;
}

void proxy_process::start_stand_in(const proxy_options& options) {
  std::vector<std::string> settings = options.direct_settings;
  if (!options.tls_cert.empty()) settings.emplace_back("ssl=on");
  stand_in_ = std::make_unique<pg_cluster>(work_dir_ / "stand-in", settings);
  if (keep_files()) stand_in_->keep_files();
  if (!options.tls_cert.empty()) {
    copy_for_server(options.tls_cert, stand_in_->dir() / "server.crt", stand_in_->dir());
    copy_for_server(options.tls_key, stand_in_->dir() / "server.key", stand_in_->dir());
  }
  stand_in_->start();
  port_ = stand_in_->port();
}

std::vector<std::string> proxy_process::arguments(const proxy_options& o) const {
  std::vector<std::string> a{"--listen", host_ + ":" + std::to_string(port_), "--old", o.old_uri,
                             "--threads", std::to_string(o.threads), "--log-level", o.log_level};
  if (o.new_uri) a.insert(a.end(), {"--new", *o.new_uri});
  if (o.phase) a.insert(a.end(), {"--phase", std::to_string(*o.phase)});
  if (!o.tls_cert.empty()) a.insert(a.end(), {"--tls-cert", o.tls_cert.string(), "--tls-key", o.tls_key.string()});
  if (o.max_clients) a.insert(a.end(), {"--max-clients", std::to_string(*o.max_clients)});
  if (!o.config_yaml.empty()) {
    const auto path = work_dir_ / "dwproxy.yaml";
    std::ofstream{path} << o.config_yaml;
    a.insert(a.end(), {"--config", path.string()});
  }
  a.insert(a.end(), o.extra_args.begin(), o.extra_args.end());
  return a;
}

void proxy_process::send_signal(int signo) {
  if (pid_ > 0) ::kill(pid_, signo);
}

void proxy_process::spawn(const proxy_options& options) {
  port_ = free_port();
  std::vector<std::string> items{DW_PROXY_BINARY};
  const auto args = arguments(options);
  items.insert(items.end(), args.begin(), args.end());
  std::ofstream{work_dir_ / "command"} << [&] {
    std::string line;
    for (const auto& i : items) line += i + " ";
    return line + "\n";
  }();
  std::vector<char*> argv;
  for (auto& i : items) argv.push_back(i.data());
  argv.push_back(nullptr);

  const int log_fd = ::open((work_dir_ / "proxy.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) throw std::runtime_error("cannot open proxy log or /dev/null");
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    // If the test binary dies, its proxies must not linger holding ports. PDEATHSIG fires
    // when the forking *thread* exits, so proxies are started from the test's main thread.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execv(DW_PROXY_BINARY, argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
}

void proxy_process::wait_listening() {
  const bool up = wait_until([&] { return !alive() || can_connect(host_, port_); },
                             std::chrono::seconds{15}) && alive();
  if (!up) {
    const std::string why = alive() ? "does not accept TCP on port " + std::to_string(port_) + " after 15 s"
                                    : "exited before listening (" + exit_description() + ")";
    kill();
    throw std::runtime_error("dwproxy " + why + "\n--- proxy.log ---\n" + log_tail(80));
  }
}

bool proxy_process::reap(bool block) {
  if (pid_ <= 0) return true;
  if (wait_status_) return true;
  int status = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) wait_status_ = status;
  return wait_status_.has_value();
}

bool proxy_process::alive() { return pid_ <= 0 || !reap(false); }

std::string proxy_process::exit_description() const {
  if (pid_ <= 0) return "direct mode";
  if (!wait_status_) return "running";
  const int s = *wait_status_;
  if (WIFEXITED(s)) return "exit code " + std::to_string(WEXITSTATUS(s));
  if (WIFSIGNALED(s)) return std::string("killed by signal ") + ::strsignal(WTERMSIG(s));
  return "status " + std::to_string(s);
}

bool proxy_process::stop(std::chrono::milliseconds deadline) {
  if (pid_ <= 0 || wait_status_) return true;
  ::kill(pid_, SIGTERM);
  if (wait_until([&] { return reap(false); }, deadline)) return true;
  kill();
  return false;
}

void proxy_process::kill() {
  if (pid_ <= 0 || wait_status_) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

std::string proxy_process::log_text() const {
  std::ifstream in{work_dir_ / "proxy.log"};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string proxy_process::log_tail(std::size_t lines) const {
  const std::string text = log_text();
  std::size_t start = text.size();
  for (std::size_t n = 0; n <= lines; ++n) {
    if (start == 0) return text;
    start = text.rfind('\n', start - 1);
    if (start == std::string::npos) return text;
  }
  return text.substr(start + 1);
}

std::string proxy_process::conninfo(const std::string& extra) const {
  return "host=" + host_ + " port=" + std::to_string(port_) + " user=" + login_.user +
         " password=" + login_.password + " dbname=" + login_.dbname +
         " sslmode=disable connect_timeout=10 " + extra;
}

env_overrides proxy_process::client_env() const {
  return {{"PGHOST", host_},         {"PGPORT", std::to_string(port_)},
          {"PGUSER", login_.user},   {"PGPASSWORD", login_.password},
          {"PGDATABASE", login_.dbname}, {"PGCONNECT_TIMEOUT", "10"},
          {"PGSSLMODE", "prefer"},   {"PGAPPNAME", "dw_integration"}};
}

}  // namespace dw::test
