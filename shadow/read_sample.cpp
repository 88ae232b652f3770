#include "shadow/read_sample.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "config/list_value.hpp"
#include "protocol/backend_messages.hpp"
#include "protocol/error_fields.hpp"
#include "protocol/frontend_messages.hpp"
#include "shadow/job_building.hpp"
#include "shadow/reply_tracker.hpp"

namespace dw::shadow {
namespace {

using compare::result_side;

std::optional<std::string> parse_fingerprints(std::string_view option, std::string_view text,
                                              std::unordered_set<std::uint64_t>& out) {
  for (const auto& item : config::split_list(text)) {
    const auto v = compare::parse_fingerprint_hex(item);
    if (!v)
      return fmt::format("{}: '{}' is not a query fingerprint (up to 16 hex digits, as "
                         "`dwctl diffs` shows them)",
                         option, item);
    out.insert(*v);
  }
  return std::nullopt;
}

// "SELECT 3", or "ERROR 42P01: relation ... does not exist" (before redaction).
std::string describe_error(std::span<const std::byte> body) {
  auto fields = protocol::parse_error_fields(body);
  if (!fields) return "ERROR";
  return fmt::format("ERROR {}", fields->sqlstate());
}

}  // namespace

bool read_sampling::wants(std::uint64_t fingerprint, double draw) const {
  if (never.contains(fingerprint)) return false;
  if (always.contains(fingerprint)) return true;
  return draw < rate;
}

std::optional<std::string> parse_read_sampling(const config::shadow_read_settings& s,
                                               read_sampling& out) {
  out = read_sampling{};
  out.rate = s.sample_rate;
  out.in_cutover = s.in_cutover;
  if (auto bad = parse_fingerprints("shadow_reads.always", s.always, out.always)) return bad;
  if (auto bad = parse_fingerprints("shadow_reads.never", s.never, out.never)) return bad;
  for (const auto& item : config::split_list(s.ignore_columns)) {
    const auto dot = item.rfind('.');
    read_sampling::ignore_rule rule;
    if (dot == std::string::npos) {
      rule.column = item;
    } else {
      rule.table = item.substr(0, dot);
      rule.column = item.substr(dot + 1);
    }
    if (rule.column.empty() || (dot != std::string::npos && rule.table.empty()))
      return fmt::format("shadow_reads.ignore_columns: '{}' is neither column nor table.column",
                         item);
    out.ignore.push_back(std::move(rule));
  }
  out.float_abs_tolerance = s.float_abs_tolerance;
  out.float_rel_tolerance = s.float_rel_tolerance;
  out.timestamp_tolerance_us =
      std::chrono::duration_cast<std::chrono::microseconds>(s.timestamp_tolerance).count();
  out.max_pending = s.max_pending;
  out.sample_rows = s.sample_rows;
  out.noise_check = s.noise_check;
  return std::nullopt;
}

std::optional<statement_ref> sampleable_read(const unit& u) {
  if (u.to_shadow || u.has_flush || u.overflow) return std::nullopt;
  std::optional<statement_ref> found;
  bool bound = false;
  for (const auto& m : u.messages) {
    if (m.type == 'B') bound = true;
    // An Execute of a portal bound in an earlier unit (a cursor fetched in pieces, as JDBC's
    // setFetchSize does) has only part of the result here, and the shadow has no such portal.
    if (m.type == 'E' && !bound) return std::nullopt;
    if (m.type != 'Q' && m.type != 'E') continue;
    if (found || !m.statement.plan || !m.statement.sql) return std::nullopt;
    const statement_plan& plan = *m.statement.plan;
    if (plan.to_shadow || plan.parts.size() != 1 || plan.tx_control) return std::nullopt;
    found = m.statement;
  }
  return found;
}

compare::result_diff_options diff_options_for(const read_sampling& rules,
                                              const compare::read_shape& shape) {
  compare::result_diff_options o;
  o.ordered = shape.ordered;
  o.order_keys = shape.order_keys;
  o.float_abs_tolerance = rules.float_abs_tolerance;
  o.float_rel_tolerance = rules.float_rel_tolerance;
  o.timestamp_tolerance_us = rules.timestamp_tolerance_us;
  o.sample_rows = rules.sample_rows;
  for (const auto& rule : rules.ignore) {
    const bool applies =
        rule.table.empty() ||
        std::find(shape.tables.begin(), shape.tables.end(), rule.table) != shape.tables.end();
    if (applies) o.ignored_columns.push_back(rule.column);
  }
  return o;
}

void read_sample::on_message(result_side side, char type, std::span<const std::byte> body,
                             bool whole) {
  if (!whole) {
    unusable = true;
    return;
  }
  std::string& answer = side == result_side::primary ? primary_answer : shadow_answer;
  switch (type) {
    case 'T': {
      bool& seen = described_[side == result_side::primary ? 0 : 1];
      if (seen) return;  // Describe of the statement and of the portal: the same columns
      seen = true;
      auto m = protocol::decode_backend(protocol::frame{'T', body, body.size() + 5});
      if (!m) {
        unusable = true;
        return;
      }
      if (const auto* rd = std::get_if<protocol::row_description>(&*m))
        diff.on_row_description(side, *rd);
      return;
    }
    case 'D':
      diff.on_data_row(side, body);
      return;
    case 'C': {
      const std::string tag = command_tag(body);
      diff.on_command_complete(side, tag);
      answer = tag;
      return;
    }
    case 'I':
      diff.on_command_complete(side, "");
      answer = "(empty query)";
      return;
    case 's':  // a portal run with a row limit: only part of the result is here
    case 'H':  // COPY TO STDOUT: its data is not compared
      unusable = true;
      return;
    case 'E': {
      auto fields = protocol::parse_error_fields(body);
      diff.on_error(side, fields ? fields->sqlstate() : std::string_view{"XX000"});
      if (answer.empty()) answer = describe_error(body);
      return;
    }
    default:
      return;
  }
}

void capture_parameters(read_sample& sample) {
  protocol::frame_decoder frames{protocol::direction::frontend};
  frames.expect_typed_messages();
  std::span<const std::byte> rest{sample.frames};
  while (auto f = frames.next(rest)) {
    if (!*f) break;
    if ((*f)->type == 'B') {
      auto m = protocol::decode_frontend(**f);
      if (const auto* b = m ? std::get_if<protocol::bind>(&*m) : nullptr) {
        for (const auto& p : b->params) {
          if (p) sample.parameters.emplace_back(bytes(p->begin(), p->end()));
          else sample.parameters.emplace_back(std::nullopt);
        }
        sample.parameter_formats = b->param_formats;
      }
      return;
    }
    rest = rest.subspan((*f)->wire_size);
  }
}

std::vector<shadow_job> make_sample_jobs(std::shared_ptr<read_sample> sample) {
  shadow_job job;
  job.units = 0;
  job.compare_answers = false;
  job.ends_at_boundary = !sample->in_transaction;
  job.statement.sql = sample->sql;
  job.parameters = sample->parameters;
  job.parameter_formats = sample->parameter_formats;
  const bool in_transaction = sample->in_transaction;
  if (in_transaction) {
    append_query(job, "SAVEPOINT dwproxy_sample");
    job.sample_ready_skip = 1;
  }
  job.bytes.insert(job.bytes.end(), sample->frames.begin(), sample->frames.end());
  for (char t : frontend_frame_types(sample->frames)) job.types.push_back(t);
  job.sample = std::move(sample);
  std::vector<shadow_job> jobs;
  jobs.push_back(std::move(job));
  if (in_transaction) {
    // A job of its own, written only once the read has answered: a cancel sent to make the
    // read give way then cannot land on it. Works whether the read failed or not.
    shadow_job restore;
    restore.units = 0;
    restore.compare_answers = false;
    restore.ends_sample_savepoint = true;
    append_query(restore, "ROLLBACK TO SAVEPOINT dwproxy_sample; RELEASE SAVEPOINT dwproxy_sample");
    jobs.push_back(std::move(restore));
  }
  return jobs;
}

std::vector<std::string> mismatching_columns(const read_sample& sample,
                                             const compare::result_diff_summary& summary) {
  using compare::diff_reason;
  for (auto r : {diff_reason::columns_differ, diff_reason::error_vs_success,
                 diff_reason::both_errors_differ, diff_reason::malformed_row,
                 diff_reason::row_count})
    if (summary.has(r)) return {};
  return compare::differing_columns(sample.diff.column_digests(result_side::primary),
                                    sample.diff.column_digests(result_side::shadow));
}

noise_verdict judge_noise(const read_sample& sample, const compare::result_diff_summary& summary,
                          const compare::result_diff& recheck, bool shadow_rerun) {
  noise_verdict v;
  if (shadow_rerun && recheck.finish().verdict == compare::result_verdict::match) {
    v.outcome = compare::sample_outcome::noise;
    v.transient = true;
    return v;
  }
  const auto differing = mismatching_columns(sample, summary);
  if (differing.empty()) {
    v.detail = "; not noise: the difference is not confined to column values";
    return v;
  }
  auto moved = compare::differing_columns(sample.diff.column_digests(result_side::primary),
                                          recheck.column_digests(result_side::primary));
  const bool confined = std::all_of(differing.begin(), differing.end(), [&](const auto& c) {
    return std::find(moved.begin(), moved.end(), c) != moved.end();
  });
  if (!confined) {
    v.detail = fmt::format("; not noise: columns {} differ, a re-run on the primary changed {}",
                           fmt::join(differing, ","),
                           moved.empty() ? std::string{"none"} : fmt::format("{}", fmt::join(moved, ",")));
    return v;
  }
  v.outcome = compare::sample_outcome::noise;
  v.noisy_columns = std::move(moved);
  return v;
}

compare::sample_example make_example(const read_sample& sample,
                                     const compare::result_diff_summary& summary,
                                     redaction_mode mode) {
  compare::sample_example e;
  e.at = std::chrono::system_clock::now();
  if (sample.sql) e.statement = redact_statement(*sample.sql, mode);
  if (!sample.parameters.empty()) {
    std::string shown;
    for (const auto& p : redact_parameters(sample.parameters, sample.parameter_formats, mode, 256)) {
      if (!shown.empty()) shown += ", ";
      shown += p.kind == redacted_parameter::encoding::null ? std::string{"NULL"} : p.value;
    }
    e.parameters = std::move(shown);
  }
  e.detail = summary.detail;
  e.primary = sample.primary_answer;
  e.shadow = sample.shadow_answer;
  // Rows are data, and data may be secret: shown only when the operator turned literal
  // redaction off.
  if (mode != redaction_mode::values_and_literals) {
    e.primary_rows = summary.primary_only_rows;
    e.shadow_rows = summary.shadow_only_rows;
  } else if (!summary.primary_only_rows.empty() || !summary.shadow_only_rows.empty()) {
    e.primary_rows = {fmt::format("<{} rows redacted>", summary.primary_only_rows.size())};
    e.shadow_rows = {fmt::format("<{} rows redacted>", summary.shadow_only_rows.size())};
  }
  return e;
}

}  // namespace dw::shadow
