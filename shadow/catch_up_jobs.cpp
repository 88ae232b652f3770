// What the shadow runs for statements the primary failed but that left something behind
// there: a sequence value taken (make_sequence_catch_up_job), a named prepared statement
// (make_named_statement_job), an invalid index (make_failed_index_build_job). Declared in
// unit.hpp.
#include <algorithm>
#include <optional>
#include <variant>
#include <vector>

#include "protocol/frontend_messages.hpp"
#include "shadow/job_building.hpp"
#include "shadow/unit.hpp"

namespace dw::shadow {
namespace msg = dw::protocol;

namespace {

// Not a COPY: its data is not kept for a second run (and COPY takes values as given).
bool takes_sequence_values(const unit_message& m) {
  return m.statement.plan && !m.statement.plan->serialize_keys.empty() &&
         !m.statement.plan->copy_in;
}

// A frame the unit kept for the shadow, decoded as T (its views point into u.shadow_bytes).
template <typename T>
std::optional<T> decoded_as(const unit& u, const unit_message& m) {
  if (!m.to_shadow) return std::nullopt;
  const auto frame = kept_frame(u, m);
  if (frame.size() < 5) return std::nullopt;
  auto decoded = msg::decode_frontend(msg::frame{m.type, frame.subspan(5), frame.size()});
  if (!decoded) return std::nullopt;
  if (const auto* v = std::get_if<T>(&*decoded)) return *v;
  return std::nullopt;
}

// The messages that run the Execute at `e` again on its own: the Bind of its portal, and the
// Parse of the unnamed statement when the Bind uses that one (a named statement exists on the
// shadow already: the shadow job carries every named Parse). Empty when the unit lacks them.
std::vector<std::size_t> rerun_of_execute(const unit& u, std::size_t e) {
  const auto execute = decoded_as<msg::execute>(u, u.messages[e]);
  if (!execute) return {};
  for (std::size_t b = e; b-- > 0;) {
    if (u.messages[b].type != 'B') continue;
    const auto bind = decoded_as<msg::bind>(u, u.messages[b]);
    if (!bind) return {};
    if (bind->portal != execute->portal) continue;
    if (!bind->statement.empty()) return {b, e};
    for (std::size_t p = b; p-- > 0;) {
      if (u.messages[p].type != 'P') continue;
      const auto parse = decoded_as<msg::parse>(u, u.messages[p]);
      if (parse && parse->statement.empty()) return {p, b, e};
    }
    return {};
  }
  return {};
}

// Runs `body` where it cannot stay: inside a savepoint (the shadow's transaction is still
// healthy) or a transaction of its own, either rolled back.
template <typename Body>
void append_rolled_back(shadow_job& job, bool in_transaction, Body&& body) {
  if (in_transaction) {
    append_query(job, "SAVEPOINT dwproxy_sequence_catch_up");
    body();
    append_query(job, "ROLLBACK TO SAVEPOINT dwproxy_sequence_catch_up");
    append_query(job, "RELEASE SAVEPOINT dwproxy_sequence_catch_up");
  } else {
    append_query(job, "BEGIN");
    body();
    append_query(job, "ROLLBACK");
  }
}

// Work the shadow runs for what the primary failed: no client unit of its own, and answers
// that say nothing about divergence.
shadow_job not_compared(shadow_job job, statement_ref statement, bool ends_at_boundary) {
  job.statement = std::move(statement);
  job.units = 0;
  job.ends_at_boundary = ends_at_boundary;
  job.compare_answers = false;
  return job;
}

// Through the extended protocol: the failing Execute, and when the failure rolled back the
// implicit transaction of the batch (up to its Sync), every Execute before it as well, since
// the shadow job then carries none of them. Each runs alone, so that one failing on the
// shadow cannot skip the next.
std::optional<shadow_job> extended_catch_up(const unit& u, std::size_t failed,
                                            bool in_transaction) {
  std::vector<std::size_t> executes;
  if (!in_transaction)
    for (std::size_t i = 0; i < failed; ++i)
      if (u.messages[i].type == 'E' && takes_sequence_values(u.messages[i])) executes.push_back(i);
  if (takes_sequence_values(u.messages[failed])) executes.push_back(failed);
  shadow_job job;
  for (std::size_t e : executes) {
    const auto messages = rerun_of_execute(u, e);
    if (messages.empty()) continue;
    append_rolled_back(job, in_transaction, [&] {
      for (std::size_t i : messages)
        append_frame(job, u.messages[i].type, kept_frame(u, u.messages[i]));
      append_sync(job);
    });
  }
  if (job.bytes.empty()) return std::nullopt;
  return not_compared(std::move(job), u.messages[failed].statement, !in_transaction);
}

}  // namespace

std::optional<shadow_job> make_sequence_catch_up_job(const unit& u, bool in_transaction) {
  const auto& err = u.primary.error();
  if (!err || u.overflow || err->message >= u.messages.size()) return std::nullopt;
  const unit_message& m = u.messages[err->message];
  if (m.type == 'E') return extended_catch_up(u, err->message, in_transaction);
  if (m.type != 'Q' || !takes_sequence_values(m)) return std::nullopt;
  // The failing statement alone: the results before it tell which one it was.
  std::size_t done = 0;
  for (const auto& r : u.primary.results())
    if (r.message == err->message) ++done;
  const auto starts = statement_starts(m.statement);
  if (done >= starts.size()) return std::nullopt;
  const std::string_view sql = *m.statement.sql;
  const std::size_t end = done + 1 < starts.size() ? starts[done + 1] : sql.size();
  const std::string_view failing = sql.substr(starts[done], end - starts[done]);
  shadow_job job;
  append_rolled_back(job, in_transaction, [&] { append_query(job, failing); });
  return not_compared(std::move(job), m.statement, !in_transaction);
}

std::optional<shadow_job> make_named_statement_job(const unit& u) {
  const auto& err = u.primary.error();
  if (!err || u.overflow) return std::nullopt;
  shadow_job job;
  // Those before the failure ran; the server skipped the rest up to the Sync.
  for (std::size_t i = 0; i < std::min(err->message, u.messages.size()); ++i) {
    const unit_message& m = u.messages[i];
    if ((m.type == 'P' || m.type == 'C') && m.named_parse && m.to_shadow)
      append_frame(job, m.type, kept_frame(u, m));
  }
  if (job.bytes.empty()) return std::nullopt;
  append_sync(job);
  return not_compared(std::move(job), u.first, true);
}

std::optional<shadow_job> make_failed_index_build_job(const unit& u) {
  const auto& err = u.primary.error();
  if (!err || u.overflow || err->message >= u.messages.size() || u.primary.status() != 'I')
    return std::nullopt;
  const unit_message& m = u.messages[err->message];
  if (m.type != 'Q' || !m.statement.plan || !m.statement.plan->concurrent_index_build ||
      m.statement.plan->parts.size() != 1)
    return std::nullopt;
  const std::string_view sqlstate = err->sqlstate;
  if (!sqlstate.starts_with("22") && !sqlstate.starts_with("23")) return std::nullopt;
  shadow_job job;
  append_query(job, *m.statement.sql);
  return not_compared(std::move(job), m.statement, true);
}

}  // namespace dw::shadow
