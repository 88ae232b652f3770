// Helpers shared by the shadow tests that drive reply_tracker and unit_builder with real wire
// frames: encode client and server messages with the protocol/ writers, split a byte stream
// back into messages, feed a tracker.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/backend_messages.hpp"
#include "protocol/frame_decoder.hpp"
#include "protocol/frontend_messages.hpp"
#include "shadow/reply_tracker.hpp"

namespace dw::shadow::testing {

using wire = std::vector<std::byte>;
namespace msg = dw::protocol;

inline wire concat(std::initializer_list<wire> parts) {
  wire out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline std::span<const std::byte> span_of(std::string_view s) {
  return std::as_bytes(std::span{s.data(), s.size()});
}

inline std::string text_of(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// One typed message of a byte stream.
struct message {
  char type;
  wire body;
};

/// Splits a stream of typed messages (type byte, big-endian length, body).
inline std::vector<message> split(std::span<const std::byte> stream) {
  std::vector<message> out;
  while (!stream.empty()) {
    EXPECT_GE(stream.size(), 5u);
    if (stream.size() < 5) break;
    const std::size_t length = msg::load_be32(stream.data() + 1);
    EXPECT_GE(stream.size(), length + 1);
    if (stream.size() < length + 1 || length < 4) break;
    const auto body_end = stream.begin() + static_cast<std::ptrdiff_t>(length + 1);
    out.push_back({static_cast<char>(stream[0]), wire(stream.begin() + 5, body_end)});
    stream = stream.subspan(length + 1);
  }
  return out;
}

/// The frame view unit_builder::add() takes, over one encoded message.
inline msg::frame frame_of(const wire& w) {
  return msg::frame{static_cast<char>(w.at(0)), std::span<const std::byte>{w}.subspan(5), w.size()};
}

/// The SQL of one encoded Query message.
inline std::string query_text(std::span<const std::byte> w) {
  auto parts = split(w);
  EXPECT_EQ(parts.size(), 1u);
  if (parts.size() != 1 || parts[0].type != 'Q' || parts[0].body.empty()) return {};
  return text_of(std::span<const std::byte>{parts[0].body}.first(parts[0].body.size() - 1));
}

// Client messages.
inline wire query(std::string_view sql) {
  wire out;
  msg::write_query(out, sql);
  return out;
}
inline wire parse(std::string_view name, std::string_view sql) {
  wire out;
  msg::write_parse(out, msg::parse{name, sql, {}});
  return out;
}
inline wire bind(std::string_view portal, std::string_view statement,
                 std::vector<std::string_view> params = {}) {
  msg::bind b{portal, statement, {}, {}, {}};
  for (auto p : params) b.params.emplace_back(span_of(p));
  wire out;
  msg::write_bind(out, b);
  return out;
}
inline wire describe_portal(std::string_view portal = "") {
  wire out;
  msg::write_describe(out, msg::describe{'P', portal});
  return out;
}
inline wire execute(std::string_view portal = "", std::int32_t max_rows = 0) {
  wire out;
  msg::write_execute(out, msg::execute{portal, max_rows});
  return out;
}
inline wire close_statement(std::string_view name) {
  wire out;
  msg::write_close(out, msg::close{'S', name});
  return out;
}
inline wire sync() {
  wire out;
  msg::write_sync(out);
  return out;
}
inline wire flush() {
  wire out;
  msg::write_flush(out);
  return out;
}
inline wire copy_data(std::string_view data) {
  wire out;
  msg::write_copy_data(out, msg::copy_data{span_of(data)});
  return out;
}
inline wire copy_done() {
  wire out;
  msg::write_copy_done(out);
  return out;
}
inline wire copy_fail(std::string_view why) {
  wire out;
  msg::write_copy_fail(out, msg::copy_fail{why});
  return out;
}
inline wire function_call(std::uint32_t oid, std::vector<std::string_view> args = {}) {
  msg::function_call f{oid, {}, {}, 0};
  for (auto a : args) f.args.emplace_back(span_of(a));
  wire out;
  msg::write_function_call(out, f);
  return out;
}

// Server messages.
inline wire parse_complete() {
  wire out;
  msg::write_parse_complete(out);
  return out;
}
inline wire bind_complete() {
  wire out;
  msg::write_bind_complete(out);
  return out;
}
inline wire close_complete() {
  wire out;
  msg::write_close_complete(out);
  return out;
}
inline wire no_data() {
  wire out;
  msg::write_no_data(out);
  return out;
}
inline wire row_description(std::initializer_list<std::string_view> names) {
  msg::row_description d;
  for (auto n : names) d.fields.push_back({n, 0, 0, 25, -1, -1, 0});
  wire out;
  msg::write_row_description(out, d);
  return out;
}
inline wire data_row(std::initializer_list<std::optional<std::string_view>> columns) {
  msg::data_row r;
  for (const auto& c : columns) {
    if (c) r.columns.emplace_back(span_of(*c));
    else r.columns.emplace_back(std::nullopt);
  }
  wire out;
  msg::write_data_row(out, r);
  return out;
}
inline wire command_complete(std::string_view tag) {
  wire out;
  msg::write_command_complete(out, msg::command_complete{tag});
  return out;
}
inline wire empty_query() {
  wire out;
  msg::write_empty_query_response(out);
  return out;
}
inline wire portal_suspended() {
  wire out;
  msg::write_portal_suspended(out);
  return out;
}
inline wire ready(char status) {
  wire out;
  msg::write_ready_for_query(out, status);
  return out;
}
inline wire error(std::string_view sqlstate, std::string_view text) {
  wire out;
  msg::write_error_response(out, "ERROR", sqlstate, text);
  return out;
}
inline wire notice(std::string_view text) {
  msg::error_fields f;
  f.entries = {{'S', "WARNING"}, {'C', "25P01"}, {'M', text}};
  wire out;
  msg::write_notice_response(out, msg::notice_response{f});
  return out;
}
inline wire parameter_status(std::string_view name, std::string_view value) {
  wire out;
  msg::write_parameter_status(out, name, value);
  return out;
}
inline wire copy_in_response(std::size_t columns) {
  wire out;
  msg::write_copy_in_response(out, msg::copy_in_response{0, std::vector<std::int16_t>(columns, 0)});
  return out;
}
inline wire function_result(std::string_view value) {
  wire out;
  msg::write_function_call_response(out, msg::function_call_response{span_of(value)});
  return out;
}

/// Registers the client messages of `stream` with the tracker, in order.
inline void expect_all(reply_tracker& t, std::span<const std::byte> stream) {
  for (const auto& m : split(stream)) t.expect(m.type);
}

/// Feeds every server message of `stream`; true when the last one ended the unit. A message
/// before the last one must not end it.
inline bool feed(reply_tracker& t, std::span<const std::byte> stream) {
  const auto messages = split(stream);
  bool ended = false;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    ended = t.on_message(messages[i].type, messages[i].body);
    if (i + 1 < messages.size()) {
      EXPECT_FALSE(ended) << "unit ended early, at message " << i;
    }
  }
  return ended;
}

}  // namespace dw::shadow::testing
