// The control protocol codec: every request form and its errors (over-long lines included),
// and a round trip through JSON for every response shape, plus the exact JSON field names
// that dwctl --json users and the HTTP API rely on.
#include "control/control_protocol.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace dw::control {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

request req(command c, phase target = phase::passthrough, bool force = false) {
  return request{c, target, force};
}

TEST(control_request, parses_every_command) {
  EXPECT_EQ(parse_request("status").value(), req(command::status));
  EXPECT_EQ(parse_request("pause").value(), req(command::pause));
  EXPECT_EQ(parse_request("resume").value(), req(command::resume));
  EXPECT_EQ(parse_request("ack-divergence").value(), req(command::ack_divergence));
  EXPECT_EQ(parse_request("help").value(), req(command::help));
  EXPECT_EQ(parse_request("phase 3").value(), req(command::phase, phase::cutover));
  EXPECT_EQ(parse_request("phase 3 --force").value(), req(command::phase, phase::cutover, true));
  EXPECT_EQ(parse_request("phase --force 4").value(), req(command::phase, phase::cleanup, true));
  EXPECT_EQ(parse_request("phase shadow-read").value(), req(command::phase, phase::shadow_read));
  EXPECT_EQ(parse_request("  phase\t1  \r").value(), req(command::phase, phase::dual_write));
}

TEST(control_request, write_request_round_trips) {
  for (const auto& r :
       {req(command::status), req(command::pause), req(command::resume),
        req(command::ack_divergence), req(command::help), req(command::phase, phase::cutover),
        req(command::phase, phase::cleanup, true)}) {
    const auto line = write_request(r);
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(parse_request(std::string_view(line).substr(0, line.size() - 1)).value(), r) << line;
  }
  EXPECT_EQ(write_request(req(command::phase, phase::cutover, true)), "phase 3 --force\n");
}

TEST(control_request, errors_say_what_is_wrong) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "empty request"},
      {"   ", "empty request"},
      {"statu", "unknown command 'statu'"},
      {"status now", "'status' takes no arguments, got 'now'"},
      {"phase", "'phase' needs a phase"},
      {"phase 5", "'phase' needs 0-4 or a phase name"},
      {"phase 2 3", "'phase' takes one phase, got '3' as well"},
      {"phase 2 --force --force", "--force twice"},
      {"phase --force", "'phase' needs a phase"},
      {std::string("status\0", 7), "control characters"},
      {"status\x1b[2J", "control characters"},
      {"x" + std::string(100, 'y'),
       "unknown command 'xyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy...'"},
  };
  for (const auto& [line, message] : cases) {
    auto r = parse_request(line);
    ASSERT_FALSE(r) << line;
    EXPECT_NE(r.error().message.find(message), std::string::npos) << r.error().message;
  }
}

TEST(control_request, line_length_limit_is_exact) {
  std::string at_limit = "status" + std::string(max_line_length - 6, ' ');
  ASSERT_EQ(at_limit.size(), max_line_length);
  EXPECT_TRUE(parse_request(at_limit));
  EXPECT_TRUE(parse_request(at_limit + "\r"));  // the CR is not part of the line
  auto over = parse_request(at_limit + " ");
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().message, "request longer than 4096 bytes");
}

// --- responses -----------------------------------------------------------------------------

status_data full_status() {
  status_data s;
  s.proxy.current = phase::shadow_read;
  s.proxy.paused = true;
  s.proxy.sessions = 12;
  s.proxy.in_transaction = 3;
  s.proxy.backends = {{"old", "primary", true, 0.42}, {"new", "shadow", false, std::nullopt}};
  s.proxy.gates.diverged_sessions = 2;
  s.proxy.gates.shadow_lag = 15ms;
  s.proxy.gates.read_diffs = gate_inputs::diffs{600, 3};
  s.proxy.gates.last_verification = gate_inputs::verification{120s, true};
  s.proxy.divergences = 9;
  s.last_move = {phase::shadow_read, std::chrono::sys_days{} + 1500ms, "1 -> 2", true};
  s.next = phase::cutover;
  s.next_blocked_by = {{gate::diverged_sessions, 2, 0, "2 session(s) ..."}};
  s.queued_commands = 1;
  return s;
}

move_data sample_move() {
  move_data m;
  m.current = phase::cutover;
  m.from = phase::shadow_read;
  m.target = phase::cutover;
  m.changed = true;
  m.flip = true;
  m.forced = true;
  m.overridden = {{gate::shadow_lag, 2500, 1000, "lag"}};
  m.report = move_report{85ms, 40ms};
  return m;
}

void expect_round_trip(command sent, const response& r) {
  const auto line = write_response(r);
  ASSERT_EQ(line.back(), '\n');
  ASSERT_EQ(line.find('\n'), line.size() - 1) << "one line only";
  auto back = parse_response(sent, line);
  ASSERT_TRUE(back) << back.error().message << "\n" << line;
  EXPECT_TRUE(*back == r) << line;
}

TEST(control_response, every_shape_round_trips) {
  expect_round_trip(command::status, {true, {}, full_status()});
  status_data minimal;
  minimal.last_move.updated_at = std::chrono::sys_days{} + 1ms;
  expect_round_trip(command::status, {true, {}, minimal});
  expect_round_trip(command::phase, {true, {}, sample_move()});
  move_data refused;
  refused.current = refused.from = phase::dual_write;
  refused.target = phase::shadow_read;
  refused.refused_by = {{gate::diverged_sessions, 1, 0, "1 session(s)"}};
  expect_round_trip(command::phase, {false, "cannot move", refused});
  expect_round_trip(command::pause, {true, {}, pause_data{true, true, 4}});
  expect_round_trip(command::resume, {true, {}, pause_data{false, false, std::nullopt}});
  expect_round_trip(command::ack_divergence, {true, {}, ack_data{5}});
  expect_round_trip(command::help, {true, {}, help_data{{"status", "phase N"}}});
  for (auto c : {command::status, command::phase, command::pause, command::resume,
                 command::ack_divergence, command::help})
    expect_round_trip(c, error_response("timed out"));
}

TEST(control_response, json_field_names_are_the_contract) {
  const auto v = json::parse(write_response({true, {}, full_status()}));
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("ok"), true);
  EXPECT_FALSE(o.contains("error"));
  EXPECT_EQ(o.at("phase"), 2);
  EXPECT_EQ(o.at("phase_name"), "shadow-read");
  EXPECT_EQ(o.at("sessions"), 12);
  EXPECT_EQ(o.at("shadow_lag_ms"), 15);
  EXPECT_EQ(o.at("diverged_sessions"), 2);
  EXPECT_EQ(o.at("divergences"), 9);
  EXPECT_EQ(o.at("backends").as_array()[0].as_object().at("latency_ms"), 0.42);
  EXPECT_TRUE(o.at("backends").as_array()[1].as_object().at("latency_ms").is_null());
  EXPECT_EQ(o.at("next").as_object().at("blocked_by").as_array()[0].as_object().at("gate"),
            "diverged_sessions");
  EXPECT_EQ(o.at("last_move").as_object().at("at"), "1970-01-01T00:00:01.500Z");

  const auto e = json::parse(write_response(error_response("no \"such\" thing")));
  EXPECT_EQ(json::serialize(e), R"({"ok":false,"error":"no \"such\" thing"})");
  const auto m = json::parse(write_response({true, {}, sample_move()})).as_object();
  EXPECT_EQ(m.at("took_ms"), 85);
  EXPECT_EQ(m.at("paused_for_ms"), 40);
  EXPECT_EQ(m.at("flip"), true);
}

TEST(control_response, malformed_answers_are_errors) {
  EXPECT_FALSE(parse_response(command::status, "not json"));
  EXPECT_FALSE(parse_response(command::status, "[]"));
  EXPECT_FALSE(parse_response(command::status, R"({"error":"x"})"));
  EXPECT_FALSE(parse_response(command::status, R"({"ok":false})"));
  auto bad = parse_response(command::status, R"({"ok":true,"sessions":"many"})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("malformed 'status' response"), std::string::npos);
  EXPECT_FALSE(parse_response(command::phase, R"({"ok":true,"target":9})"));
}

TEST(control_response, help_lists_every_command) {
  ASSERT_EQ(command_help().size(), 7u);
  EXPECT_TRUE(command_help()[1].starts_with("phase N [--force]"));
  EXPECT_TRUE(is_mutating(command::phase));
  EXPECT_FALSE(is_mutating(command::status));
  EXPECT_FALSE(is_mutating(command::help));
}

}  // namespace
}  // namespace dw::control
