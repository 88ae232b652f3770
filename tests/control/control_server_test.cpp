// The control server end to end over a real Unix socket with a fake proxy: status, moves and
// their persistence, refusals, idempotence, serialization of concurrent commands, deadlines,
// bad and over-long requests, and the socket file's life cycle and permissions.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <future>

#include "tests/control/server_harness.hpp"

namespace dw::control {
namespace {

using namespace std::chrono_literals;
using testing::raw_client;
using testing::server_test;

request phase_req(phase p, bool force = false) { return {command::phase, p, force}; }

std::optional<persisted_state> saved_state(const std::filesystem::path& file) {
  auto r = load_state(file);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : std::nullopt;
}

TEST_F(server_test, status_reports_the_snapshot_and_what_blocks_the_next_move) {
  proxy.update([](status_snapshot& s) {
    s.sessions = 5;
    s.backends = {{"old", "primary", true, 0.5}, {"new", "shadow", true, 0.7}};
    s.gates.diverged_sessions = 1;
    s.gates.shadow_lag = 20ms;
  });
  start(phase::dual_write);
  auto r = send({command::status});
  ASSERT_TRUE(r.ok) << r.error;
  const auto& s = std::get<status_data>(r.data);
  EXPECT_EQ(s.proxy.current, phase::dual_write);
  EXPECT_EQ(s.proxy.sessions, 5u);
  EXPECT_EQ(s.proxy.backends.size(), 2u);
  EXPECT_EQ(s.last_move.reason, "test");
  EXPECT_EQ(s.next, phase::shadow_read);
  ASSERT_EQ(s.next_blocked_by.size(), 1u);
  EXPECT_EQ(s.next_blocked_by[0].which, gate::diverged_sessions);
  EXPECT_EQ(s.queued_commands, 0u);
}

TEST_F(server_test, a_move_is_carried_out_persisted_and_reported) {
  start(phase::passthrough);
  auto r = send(phase_req(phase::dual_write));
  ASSERT_TRUE(r.ok) << r.error;
  const auto& m = std::get<move_data>(r.data);
  EXPECT_TRUE(m.changed);
  EXPECT_EQ(m.current, phase::dual_write);
  EXPECT_TRUE(m.attach_shadows);
  EXPECT_EQ(m.report, proxy.report);
  ASSERT_EQ(proxy.plans().size(), 1u);
  EXPECT_TRUE(proxy.plans()[0].attach_shadows);

  auto saved = saved_state(service_opts.state_file);
  ASSERT_TRUE(saved);
  EXPECT_EQ(saved->current, phase::dual_write);
  EXPECT_EQ(saved->reason, "0 (passthrough) -> 1 (dual-write), attach shadows");
  EXPECT_FALSE(saved->forced);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"control.sock", "state.json"}));

  auto status = send({command::status});
  EXPECT_EQ(std::get<status_data>(status.data).proxy.current, phase::dual_write);
}

TEST_F(server_test, moving_to_the_current_phase_is_a_no_op) {
  start(phase::cutover);
  auto r = send(phase_req(phase::cutover, true));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(std::get<move_data>(r.data).changed);
  EXPECT_TRUE(proxy.plans().empty());
  EXPECT_FALSE(std::filesystem::exists(service_opts.state_file));
}

TEST_F(server_test, failing_gates_refuse_and_force_overrides) {
  proxy.update([](status_snapshot& s) { s.gates.diverged_sessions = 2; });
  start(phase::dual_write);
  auto refused = send(phase_req(phase::shadow_read));
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("2 session(s) have a diverged shadow"), std::string::npos);
  const auto& m = std::get<move_data>(refused.data);
  EXPECT_FALSE(m.changed);
  ASSERT_EQ(m.refused_by.size(), 1u);
  EXPECT_EQ(m.refused_by[0].value, 2);
  EXPECT_TRUE(proxy.plans().empty());

  auto forced = send(phase_req(phase::shadow_read, true));
  ASSERT_TRUE(forced.ok) << forced.error;
  EXPECT_TRUE(std::get<move_data>(forced.data).forced);
  auto saved = saved_state(service_opts.state_file);
  ASSERT_TRUE(saved);
  EXPECT_TRUE(saved->forced);
  EXPECT_NE(saved->reason.find("forced past: 2 session(s)"), std::string::npos);
}

TEST_F(server_test, a_failed_move_leaves_the_phase_alone) {
  proxy.set_move_failure(failure{"drain timed out with 2 transactions in flight; resumed"});
  start(phase::shadow_read);
  auto r = send(phase_req(phase::cutover));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error,
            "move to 3 (cutover) failed: drain timed out with 2 transactions in "
            "flight; resumed; still in phase 2 (shadow-read)");
  EXPECT_EQ(std::get<move_data>(r.data).current, phase::shadow_read);
  EXPECT_FALSE(std::filesystem::exists(service_opts.state_file));
  EXPECT_EQ(std::get<status_data>(send({command::status}).data).proxy.current, phase::shadow_read);
}

TEST_F(server_test, concurrent_commands_run_one_at_a_time_in_arrival_order) {
  proxy.set_hold_moves(true);
  start(phase::passthrough);
  auto first = std::async(std::launch::async, [&] { return send(phase_req(phase::dual_write)); });
  ASSERT_TRUE(proxy.wait_for_event("move 0->1"));
  auto second = std::async(std::launch::async, [&] { return send({command::pause}); });
  // status bypasses the queue, so it can watch the pause wait behind the running move.
  for (int i = 0; i < 200; ++i) {
    if (std::get<status_data>(send({command::status}).data).queued_commands == 2) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(std::get<status_data>(send({command::status}).data).queued_commands, 2u);
  EXPECT_FALSE(proxy.wait_for_event("pause", 100ms)) << "pause ran during the move";

  proxy.release_move(move_report{5ms, 1ms});
  EXPECT_TRUE(first.get().ok);
  EXPECT_TRUE(second.get().ok);
  EXPECT_EQ(proxy.events(), (std::vector<std::string>{"move 0->1", "move 0->1 done", "pause"}));
}

TEST_F(server_test, past_its_deadline_a_client_is_told_and_queued_commands_never_run) {
  service_opts.command_deadline = 200ms;
  proxy.set_hold_moves(true);
  start(phase::passthrough);
  auto first = std::async(std::launch::async, [&] { return send(phase_req(phase::dual_write)); });
  ASSERT_TRUE(proxy.wait_for_event("move 0->1"));
  auto second = std::async(std::launch::async, [&] { return send({command::pause}); });

  const auto r1 = first.get();
  EXPECT_FALSE(r1.ok);
  EXPECT_NE(r1.error.find("'phase 1' did not finish in time; it is still running"),
            std::string::npos)
      << r1.error;
  const auto r2 = second.get();
  EXPECT_FALSE(r2.ok);
  EXPECT_NE(r2.error.find("timed out waiting behind 'phase 1'"), std::string::npos) << r2.error;

  // The late answer still counts: the proxy is in phase 1, so the state file must say so.
  proxy.release_move(move_report{});
  EXPECT_TRUE(send({command::resume}).ok);
  EXPECT_EQ(proxy.events(), (std::vector<std::string>{"move 0->1", "move 0->1 done", "resume"}));
  auto saved = saved_state(service_opts.state_file);
  ASSERT_TRUE(saved);
  EXPECT_EQ(saved->current, phase::dual_write);
}

TEST_F(server_test, pause_resume_and_ack_are_idempotent) {
  proxy.update([](status_snapshot& s) { s.gates.diverged_sessions = 2; });
  start(phase::dual_write);
  auto pause_answer = [&](command c) { return std::get<pause_data>(send({c}).data); };
  EXPECT_EQ(pause_answer(command::pause), (pause_data{true, true, 3}));
  EXPECT_EQ(pause_answer(command::pause), (pause_data{true, false, 3}));
  EXPECT_EQ(pause_answer(command::resume), (pause_data{false, true, std::nullopt}));
  EXPECT_EQ(pause_answer(command::resume), (pause_data{false, false, std::nullopt}));
  EXPECT_EQ(std::get<ack_data>(send({command::ack_divergence}).data).acknowledged, 2u);
  EXPECT_EQ(std::get<ack_data>(send({command::ack_divergence}).data).acknowledged, 0u);
  EXPECT_TRUE(send(phase_req(phase::shadow_read)).ok) << "acknowledged: the gate opens";
}

TEST_F(server_test, help_lists_the_commands) {
  start();
  auto r = send({command::help});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(std::get<help_data>(r.data).commands.size(), command_help().size());
}

TEST_F(server_test, bad_requests_are_answered_and_the_connection_stays_usable) {
  start();
  raw_client c{socket_opts.socket_path};
  ASSERT_TRUE(c.connected());
  c.send("bogus\r\nstatus\nphase 9\n");
  auto bad = parse_response(command::status, c.read_line().value());
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->error, "unknown command 'bogus'; send 'help' for the commands");
  auto good = parse_response(command::status, c.read_line().value());
  ASSERT_TRUE(good);
  EXPECT_TRUE(good->ok);
  auto bad_phase = parse_response(command::phase, c.read_line().value());
  ASSERT_TRUE(bad_phase);
  EXPECT_FALSE(bad_phase->ok);
}

TEST_F(server_test, an_over_long_line_gets_an_error_and_a_close) {
  start();
  raw_client c{socket_opts.socket_path};
  ASSERT_TRUE(c.connected());
  c.send(std::string(max_line_length + 100, 'x'));
  auto r = parse_response(command::status, c.read_line().value());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, "request longer than 4096 bytes");
  EXPECT_EQ(c.read_line(), std::nullopt);
}

TEST_F(server_test, socket_is_private_and_removed_on_stop) {
  start();
  struct stat st {};
  ASSERT_EQ(::lstat(socket_opts.socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  server->stop();
  io.join();
  EXPECT_FALSE(std::filesystem::exists(socket_opts.socket_path));
}

TEST_F(server_test, after_the_service_stops_nothing_runs) {
  start(phase::passthrough);
  service->stop();
  auto r = send(phase_req(phase::dual_write));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "control is shutting down; nothing was done");
  EXPECT_TRUE(proxy.plans().empty());
}

// --- socket path checks at start() ---------------------------------------------------------

class socket_path_test : public server_test {
 protected:
  outcome<void> try_start() {
    service = std::make_unique<command_service>(ctx, proxy, service_opts, persisted_state{});
    server = std::make_unique<control_server>(ctx, *service, socket_opts);
    return server->start();
  }
};

TEST_F(socket_path_test, a_stale_socket_file_is_replaced) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socket_opts.socket_path.string().copy(addr.sun_path, sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);  // bound, never listened: what a crashed proxy leaves behind
  auto r = try_start();
  EXPECT_TRUE(r) << r.error().message;
}

TEST_F(socket_path_test, a_live_server_is_not_displaced) {
  start();
  {
    boost::asio::io_context other_ctx;
    control_server other{other_ctx, *service, socket_opts};
    auto r = other.start();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("another process is serving"), std::string::npos);
  }  // the failed server's destructor must not remove the live server's socket
  EXPECT_TRUE(send({command::status}).ok);
}

TEST_F(socket_path_test, a_regular_file_is_left_alone) {
  testing::write_file(socket_opts.socket_path, "precious");
  auto r = try_start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("exists and is not a socket"), std::string::npos);
  EXPECT_EQ(testing::read_file(socket_opts.socket_path), "precious");
}

TEST_F(socket_path_test, a_missing_directory_is_not_created) {
  socket_opts.socket_path = dir.file("run") / "control.sock";
  auto r = try_start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not exist"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.file("run")));
}

TEST_F(socket_path_test, an_over_long_path_is_refused) {
  socket_opts.socket_path = dir.file(std::string(120, 's'));
  auto r = try_start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("is longer than 107 bytes"), std::string::npos);
}

}  // namespace
}  // namespace dw::control
