// dwctl: argument handling in-process, then the real binary as a subprocess against a control
// server with the fake proxy: exit codes, human output, and --json output that parses.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <sstream>

#include "tests/control/server_harness.hpp"

extern char** environ;

namespace dw::control {
namespace {

using namespace std::chrono_literals;
using testing::server_test;

struct run_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

run_result run_in_process(std::vector<std::string_view> args, const char* env_socket = nullptr) {
  std::ostringstream out, err;
  const int rc = run_dwctl(args, env_socket, out, err);
  return {rc, out.str(), err.str()};
}

/// $DW_CTL_BINARY, else the DW_CTL_BINARY compile definition if tests/CMakeLists.txt gives
/// one, else next to this binary's build tree (build/<dir>/tests/control_tests ->
/// build/<dir>/control/dwctl).
std::filesystem::path dwctl_binary() {
  if (const char* env = std::getenv("DW_CTL_BINARY")) return env;
#ifdef DW_CTL_BINARY
  return DW_CTL_BINARY;
#else
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "control" /
         "dwctl";
#endif
}

run_result run_binary(const std::vector<std::string>& args,
                      const std::vector<std::string>& extra_env = {}) {
  testing::temp_dir out_dir;
  const auto out_file = out_dir.file("out").string(), err_file = out_dir.file("err").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT, 0600);
  const std::string binary = dwctl_binary().string();
  std::vector<char*> argv{const_cast<char*>(binary.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string_view(*e).substr(0, 13) != "DWCTL_SOCKET=") envp.push_back(*e);
  for (const auto& e : extra_env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  run_result r;
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0) << "cannot run " << binary << " (build the dwctl target)";
  if (rc != 0) return r;
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = testing::read_file(out_file);
  r.err = testing::read_file(err_file);
  return r;
}

// --- in process ----------------------------------------------------------------------------

TEST(dwctl_args, usage_errors_exit_2_with_the_usage_text) {
  for (auto args : std::vector<std::vector<std::string_view>>{{},
                                                              {"frobnicate"},
                                                              {"phase"},
                                                              {"phase", "7"},
                                                              {"phase", "1", "2"},
                                                              {"status", "--force"},
                                                              {"status", "extra"},
                                                              {"--timeout", "soon", "status"},
                                                              {"--socket"},
                                                              {"--verbose", "status"}}) {
    auto r = run_in_process(args);
    EXPECT_EQ(r.exit_code, exit_usage) << r.err;
    EXPECT_NE(r.err.find("usage: dwctl"), std::string::npos);
  }
}

TEST(dwctl_args, help_prints_usage_and_exits_0) {
  for (auto args : std::vector<std::vector<std::string_view>>{{"help"}, {"--help"}, {"-h"}}) {
    auto r = run_in_process(args);
    EXPECT_EQ(r.exit_code, exit_ok);
    EXPECT_TRUE(r.out.starts_with("usage: dwctl [--socket PATH] [--json]"));
  }
}

TEST(dwctl_args, socket_comes_from_option_then_environment_then_default) {
  EXPECT_EQ(parse_cli(std::vector<std::string_view>{"status"}, nullptr)->socket_path,
            "/run/dwproxy/control.sock");
  EXPECT_EQ(parse_cli(std::vector<std::string_view>{"status"}, "/env.sock")->socket_path,
            "/env.sock");
  EXPECT_EQ(parse_cli(std::vector<std::string_view>{"--socket", "/opt.sock", "status"}, "/env")
                ->socket_path,
            "/opt.sock");
  auto phase_args = parse_cli(
      std::vector<std::string_view>{"phase", "cutover", "--force", "--json", "--timeout", "5"},
      nullptr);
  ASSERT_TRUE(phase_args);
  EXPECT_EQ(phase_args->req, (request{command::phase, phase::cutover, true}));
  EXPECT_TRUE(phase_args->json);
  EXPECT_EQ(phase_args->timeout, 5s);
  EXPECT_EQ(parse_cli(std::vector<std::string_view>{"ack"}, nullptr)->req.cmd,
            command::ack_divergence);
}

TEST(dwctl_args, no_server_exits_3) {
  testing::temp_dir dir;
  const auto sock = dir.file("none.sock").string();
  auto r = run_in_process({"--socket", sock, "status"});
  EXPECT_EQ(r.exit_code, exit_no_connection);
  EXPECT_NE(r.err.find("cannot connect to " + sock), std::string::npos);
}

TEST_F(server_test, dwctl_in_process_renders_a_status_table) {
  proxy.update([](status_snapshot& s) {
    s.sessions = 4;
    s.backends = {{"old", "primary", true, 0.25}, {"new", "shadow", false, std::nullopt}};
    s.gates.shadow_lag = 12ms;
  });
  start(phase::dual_write);
  auto r = run_in_process({"status"}, socket_opts.socket_path.c_str());
  ASSERT_EQ(r.exit_code, exit_ok) << r.err;
  EXPECT_NE(r.out.find("phase        1 (dual-write)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shadow lag   12 ms\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("next         2 (shadow-read): gates pass\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("old      primary  yes        0.25 ms\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("new      shadow   NO         -\n"), std::string::npos) << r.out;
}

TEST_F(server_test, dwctl_client_timeout_exits_1_and_says_the_move_may_continue) {
  proxy.set_hold_moves(true);
  start(phase::passthrough);
  auto r = run_in_process({"--timeout", "1", "phase", "1"}, socket_opts.socket_path.c_str());
  EXPECT_EQ(r.exit_code, exit_failed);
  EXPECT_NE(r.err.find("no answer within 1 s"), std::string::npos) << r.err;
  proxy.release_move(move_report{});
}

// --- the binary ----------------------------------------------------------------------------

TEST_F(server_test, dwctl_binary_exit_codes_and_output) {
  proxy.update([](status_snapshot& s) { s.gates.diverged_sessions = 1; });
  start(phase::dual_write);
  const std::string sock = socket_opts.socket_path.string();

  auto status = run_binary({"--socket", sock, "status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("phase        1 (dual-write)"), std::string::npos) << status.out;

  auto refused = run_binary({"--socket", sock, "phase", "2"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("1 session(s) have a diverged shadow"), std::string::npos)
      << refused.err;
  EXPECT_TRUE(refused.out.empty());

  auto forced = run_binary({"phase", "2", "--force"}, {"DWCTL_SOCKET=" + sock});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.out.find("phase 1 (dual-write) -> 2 (shadow-read): done in 42 ms"),
            std::string::npos)
      << forced.out;
  EXPECT_NE(forced.out.find("forced past: 1 session(s)"), std::string::npos) << forced.out;

  auto again = run_binary({"--socket", sock, "phase", "shadow-read"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.out, "already in phase 2 (shadow-read); nothing to do\n");

  EXPECT_EQ(run_binary({"--socket", sock, "bogus"}).exit_code, 2);
  EXPECT_EQ(run_binary({"--socket", dir.file("other.sock").string(), "status"}).exit_code, 3);
}

TEST_F(server_test, dwctl_binary_json_output_parses) {
  start(phase::shadow_read);
  const std::string sock = socket_opts.socket_path.string();
  auto status = run_binary({"--socket", sock, "--json", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  ASSERT_EQ(status.out.back(), '\n');
  const auto v = boost::json::parse(status.out).as_object();
  EXPECT_EQ(v.at("ok"), true);
  EXPECT_EQ(v.at("phase"), 2);
  EXPECT_EQ(v.at("phase_name"), "shadow-read");

  auto skip = run_binary({"--socket", sock, "--json", "phase", "4"});
  EXPECT_EQ(skip.exit_code, 1);
  const auto refused = boost::json::parse(skip.out).as_object();
  EXPECT_EQ(refused.at("ok"), false);
  EXPECT_NE(std::string_view(refused.at("error").as_string()).find("one phase at a time"),
            std::string::npos);
  EXPECT_EQ(refused.at("changed"), false);
}

}  // namespace
}  // namespace dw::control
