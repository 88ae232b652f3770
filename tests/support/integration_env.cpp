#include "tests/support/integration_env.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>

#include <gtest/gtest.h>

#include "tests/support/run_command.hpp"

namespace dw::test {
namespace {

struct shared_state {
  std::filesystem::path root;
  std::unique_ptr<pg_cluster> old_backend;
  std::unique_ptr<pg_cluster> new_backend;
  std::unique_ptr<proxy_process> proxy;
  std::string proxy_error;  ///< why the default proxy failed to start, so later tests fail fast
  std::atomic<int> next_dir{0};
};

shared_state& state() {
  static shared_state s;
  return s;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::string_view{v} != "" && std::string_view{v} != "0";
}

// A child that outlives a crash of this process: it blocks on a pipe whose write end only we
// hold, and when the pipe reports EOF (we exited, however) it destroys every cluster under
// the root. Normal teardown has already done that, so then it finds nothing to do.
void start_watchdog(const std::filesystem::path& root) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 for watchdog failed");
  const std::string script =
      "while read -r _; do :; done; "
      "for d in \"$1\"/*/ \"$1\"/*/*/; do [ -f \"$d/PG_VERSION\" ] && "
      "if [ -n \"$3\" ]; then \"$2\" stop \"$d\" immediate; else \"$2\" destroy \"$d\"; fi; done; "
      "[ -n \"$3\" ] || rm -rf \"$1\"";
  const std::string sh = "/bin/sh", root_s = root.string(), tool = pgcluster_script(),
                    keep = keep_files() ? "keep" : "";
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork for watchdog failed");
  if (pid == 0) {
    ::setsid();  // a Ctrl-C or ctest kill aimed at our process group must not take it along
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(fds[0], 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    ::execl(sh.c_str(), "sh", "-c", script.c_str(), "dw-it-watchdog", root_s.c_str(), tool.c_str(),
            keep.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[0]);  // fds[1] stays open (close-on-exec) until this process ends
}

class integration_environment : public ::testing::Environment {
 public:
  void SetUp() override {
    ignore_sigpipe();
    auto& s = state();
    char tmpl[] = "/tmp/dw-it-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) GTEST_FAIL() << "mkdtemp failed";
    s.root = tmpl;
    std::cout << "[ dw-it    ] temp root " << s.root << (direct_mode() ? " (DW_IT_DIRECT: no proxy)" : "")
              << std::endl;
    try {
      start_watchdog(s.root);
      s.old_backend = std::make_unique<pg_cluster>(s.root / "old");
      s.new_backend = std::make_unique<pg_cluster>(s.root / "new");
      s.old_backend->start();
      s.new_backend->start();
    } catch (const std::exception& e) {
      GTEST_FAIL() << "integration environment: " << e.what();
    }
  }

  void TearDown() override {
    auto& s = state();
    if (s.proxy && !s.proxy->stop()) ADD_FAILURE() << "default proxy ignored SIGTERM for 10 s";
    s.proxy.reset();
    for (auto* c : {s.old_backend.get(), s.new_backend.get()})
      if (c != nullptr && keep_files()) c->keep_files();
    s.old_backend.reset();
    s.new_backend.reset();
    if (keep_files()) {
      std::cout << "[ dw-it    ] DW_IT_KEEP: kept " << s.root << std::endl;
    } else if (!s.root.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(s.root, ec);
    }
  }
};

// Prints the tail of every running proxy's log when a test fails: the proxy's side of the
// story is usually what explains a black-box failure.
class proxy_log_reporter : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (info.result() == nullptr || !info.result()->Failed()) return;
    for (auto* p : proxy_process::live_instances())
      std::cout << "--- tail of " << (p->work_dir() / "proxy.log").string() << " ---\n"
                << p->log_tail(40) << std::endl;
  }
};

const bool registered = [] {
  ::testing::AddGlobalTestEnvironment(new integration_environment);
  ::testing::UnitTest::GetInstance()->listeners().Append(new proxy_log_reporter);
  return true;
}();

pg_cluster& require(const std::unique_ptr<pg_cluster>& c, const char* name) {
  if (!c) throw std::runtime_error(std::string(name) + " cluster is not available (environment setup failed)");
  return *c;
}

}  // namespace

bool direct_mode() { return env_flag("DW_IT_DIRECT"); }
bool keep_files() { return env_flag("DW_IT_KEEP"); }

std::filesystem::path make_work_dir(std::string_view prefix) {
  (void)registered;
  auto& s = state();
  const auto dir = s.root / (std::string(prefix) + "-" + std::to_string(++s.next_dir));
  std::filesystem::create_directories(dir);
  return dir;
}

pg_cluster& old_cluster() { return require(state().old_backend, "OLD"); }
pg_cluster& new_cluster() { return require(state().new_backend, "NEW"); }

proxy_process& default_proxy() {
  auto& s = state();
  if (!s.proxy_error.empty()) throw std::runtime_error("default proxy failed to start earlier: " + s.proxy_error);
  if (!s.proxy) {
    try {
      s.proxy = std::make_unique<proxy_process>(quick_start(old_cluster()));
    } catch (const std::exception& e) {
      s.proxy_error = e.what();
      throw;
    }
  }
  return *s.proxy;
}

proxy_options quick_start(const pg_cluster& backend, std::string_view user, std::string_view password,
                          std::string_view dbname) {
  proxy_options o;
  o.old_uri = backend.uri(user, password, dbname);
  // DW_IT_PHASE=1 (or 2, 3) reruns every quick-start test through the dual-write relay, with
  // the NEW cluster as shadow (or, in 3, as primary): the same answers are expected.
  if (const char* phase = std::getenv("DW_IT_PHASE"); phase && *phase && std::string_view{phase} != "0") {
    o.new_uri = new_cluster().uri(user, password, dbname);
    o.phase = std::stoi(phase);
    // Phases 2 and 3 compare every read too: sampling must be as invisible as the shadow.
    if (o.phase >= 2) o.config_yaml = "shadow_reads:\n  sample_rate: 1\n  max_pending: 1000\n";
  }
  return o;
}

}  // namespace dw::test
