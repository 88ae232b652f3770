// Shadow reads' pure half (shadow/read_sample.hpp): the sampling decision and its options,
// which units may be sampled, what the shadow runs for a sample, how both answers reach the
// differ, and the noise verdict after a re-run on the primary.
#include "shadow/read_sample.hpp"

#include <gtest/gtest.h>

#include "tests/shadow/wire_test_support.hpp"

namespace dw::shadow {
namespace {

using namespace testing;
using compare::result_side;
using compare::sample_outcome;

unit_builder::options builder_options() {
  unit_builder::options o;
  o.values = [] {
    compare::nondeterministic_values v;
    v.transaction_timestamp = "2026-11-21 10:00:00+00";
    v.statement_timestamp = "2026-11-21 10:00:00+00";
    v.random = [] { return 0.5; };
    v.uuid = [] { return std::string{"00000000-0000-4000-8000-000000000001"}; };
    return v;
  };
  return o;
}

/// The unit the frames make, before the primary answered.
unit build(std::initializer_list<wire> frames) {
  unit_builder b{builder_options()};
  wire out;
  for (const auto& f : frames) (void)b.add(frame_of(f), f, out);
  return std::move(b.current());
}

void feed_answer(read_sample& s, result_side side, std::initializer_list<wire> messages) {
  for (const auto& m : messages)
    for (const auto& part : split(m)) s.on_message(side, part.type, part.body);
}

TEST(read_sampling, parses_fingerprints_and_column_rules_and_names_bad_items) {
  config::shadow_read_settings s;
  s.sample_rate = 0.25;
  s.always = "00000000000000ff, abc";
  s.never = "1";
  s.ignore_columns = "updated_at, orders.note";
  read_sampling r;
  ASSERT_EQ(parse_read_sampling(s, r), std::nullopt);
  EXPECT_TRUE(r.always.contains(0xff));
  EXPECT_TRUE(r.always.contains(0xabc));
  EXPECT_TRUE(r.never.contains(1));
  ASSERT_EQ(r.ignore.size(), 2u);
  EXPECT_EQ(r.ignore[0].table, "");
  EXPECT_EQ(r.ignore[0].column, "updated_at");
  EXPECT_EQ(r.ignore[1].table, "orders");
  EXPECT_EQ(r.ignore[1].column, "note");

  s.always = "not-hex";
  auto bad = parse_read_sampling(s, r);
  ASSERT_TRUE(bad);
  EXPECT_NE(bad->find("shadow_reads.always"), std::string::npos) << *bad;
  EXPECT_NE(bad->find("not-hex"), std::string::npos) << *bad;

  s.always = "";
  s.ignore_columns = "orders.";
  bad = parse_read_sampling(s, r);
  ASSERT_TRUE(bad);
  EXPECT_NE(bad->find("shadow_reads.ignore_columns"), std::string::npos) << *bad;
}

TEST(read_sampling, overrides_win_over_the_rate_and_phases_decide_activity) {
  read_sampling r;
  r.rate = 0.5;
  r.always = {7};
  r.never = {9};
  EXPECT_TRUE(r.wants(1, 0.49));
  EXPECT_FALSE(r.wants(1, 0.5));
  EXPECT_TRUE(r.wants(7, 0.99));
  EXPECT_FALSE(r.wants(9, 0.0));
  EXPECT_FALSE(r.active_in(1));
  EXPECT_TRUE(r.active_in(2));
  EXPECT_TRUE(r.active_in(3));
  r.in_cutover = false;
  EXPECT_FALSE(r.active_in(3));
  r.rate = 0;
  r.always.clear();
  EXPECT_FALSE(r.active_in(2));
}

TEST(read_sampling, fingerprints_show_as_sixteen_hex_digits_and_read_back) {
  EXPECT_EQ(compare::fingerprint_hex(0xabc), "0000000000000abc");
  EXPECT_EQ(compare::parse_fingerprint_hex("0000000000000abc"), 0xabcu);
  EXPECT_EQ(compare::parse_fingerprint_hex("ABC"), 0xabcu);
  EXPECT_EQ(compare::parse_fingerprint_hex("ffffffffffffffff"), ~std::uint64_t{0});
  for (const char* bad : {"", "00000000000000abc", "xyz", "12 ", "-1", "+1", "0x1"})
    EXPECT_EQ(compare::parse_fingerprint_hex(bad), std::nullopt) << bad;
}

TEST(sampleable_read, takes_one_plain_read_and_nothing_that_changes_state) {
  EXPECT_TRUE(sampleable_read(build({query("SELECT * FROM t WHERE id = 1")})));
  EXPECT_TRUE(sampleable_read(build({parse("", "SELECT $1::int"), bind("", "", {"1"}),
                                     describe_portal(), execute(), sync()})));
  EXPECT_FALSE(sampleable_read(build({query("UPDATE t SET x = 1")})));
  EXPECT_FALSE(sampleable_read(build({query("SELECT 1; SELECT 2")})));
  EXPECT_FALSE(sampleable_read(build({query("SELECT * FROM t FOR UPDATE")})));
  EXPECT_FALSE(sampleable_read(build({query("BEGIN")})));
  // Two Executes in one batch: two results, one differ.
  EXPECT_FALSE(sampleable_read(build({parse("", "SELECT 1"), bind("", ""), execute(), bind("", ""),
                                      execute(), sync()})));
}

TEST(sampleable_read, not_a_portal_fetched_in_pieces) {
  // JDBC's setFetchSize: Bind and a limited Execute, then further Executes of that portal in
  // later units. Those have part of the result only, and the shadow has no such portal.
  unit_builder b{builder_options()};
  wire out;
  for (const auto& f : {parse("", "SELECT id FROM t ORDER BY id"), bind("C_1", ""),
                        execute("C_1", 5), sync()})
    (void)b.add(frame_of(f), f, out);
  const unit first = b.take();
  EXPECT_TRUE(sampleable_read(first)) << "bound here: sampled (a suspended portal then spoils it)";
  for (const auto& f : {execute("C_1", 5), sync()}) (void)b.add(frame_of(f), f, out);
  EXPECT_FALSE(sampleable_read(b.current()));
}

TEST(read_sample_job, runs_the_read_as_is_outside_a_transaction) {
  auto s = std::make_shared<read_sample>(compare::result_diff_options{});
  s->frames = query("SELECT 1");
  const auto jobs = make_sample_jobs(s);
  ASSERT_EQ(jobs.size(), 1u);
  const shadow_job& job = jobs.front();
  EXPECT_EQ(job.bytes, s->frames);
  EXPECT_EQ(job.types, std::vector<char>{'Q'});
  EXPECT_EQ(job.sample_ready_skip, 0u);
  EXPECT_FALSE(job.compare_answers);
  EXPECT_EQ(job.units, 0u);
  EXPECT_TRUE(job.ends_at_boundary);
  EXPECT_EQ(job.sample, s);
}

TEST(read_sample_job, wraps_the_read_in_a_savepoint_released_by_a_job_of_its_own_in_a_transaction) {
  auto s = std::make_shared<read_sample>(compare::result_diff_options{});
  s->frames = concat({parse("", "SELECT 1"), bind("", ""), execute(), sync()});
  s->in_transaction = true;
  const auto jobs = make_sample_jobs(s);
  ASSERT_EQ(jobs.size(), 2u);
  const shadow_job& read = jobs[0];
  const wire savepoint = query("SAVEPOINT dwproxy_sample");
  ASSERT_EQ(split(read.bytes).size(), 5u);
  EXPECT_EQ(wire(read.bytes.begin(), read.bytes.begin() + static_cast<std::ptrdiff_t>(savepoint.size())),
            savepoint);
  EXPECT_EQ(wire(read.bytes.begin() + static_cast<std::ptrdiff_t>(savepoint.size()), read.bytes.end()),
            s->frames);
  EXPECT_EQ(read.types, (std::vector<char>{'Q', 'P', 'B', 'E', 'S'}));
  EXPECT_EQ(read.sample_ready_skip, 1u);
  EXPECT_FALSE(read.ends_at_boundary);
  EXPECT_FALSE(read.ends_sample_savepoint);
  EXPECT_EQ(read.sample, s);

  // Written only after the read answered, so a cancel meant for the read cannot end it.
  const shadow_job& restore = jobs[1];
  EXPECT_EQ(restore.bytes,
            query("ROLLBACK TO SAVEPOINT dwproxy_sample; RELEASE SAVEPOINT dwproxy_sample"));
  EXPECT_EQ(restore.types, std::vector<char>{'Q'});
  EXPECT_TRUE(restore.ends_sample_savepoint);
  EXPECT_EQ(restore.sample, nullptr);
  EXPECT_FALSE(restore.compare_answers);
  EXPECT_EQ(restore.units, 0u);
  EXPECT_FALSE(restore.ends_at_boundary);
}

TEST(read_sample, captures_bind_parameters_for_the_example) {
  read_sample s{compare::result_diff_options{}};
  s.frames = concat({parse("", "SELECT $1::int, $2::text"), bind("", "", {"42", "x"}), execute(), sync()});
  capture_parameters(s);
  ASSERT_EQ(s.parameters.size(), 2u);
  ASSERT_TRUE(s.parameters[0]);
  EXPECT_EQ(text_of(*s.parameters[0]), "42");
}

TEST(read_sample, equal_answers_match_and_a_changed_value_mismatches_on_its_column) {
  read_sample s{compare::result_diff_options{}};
  feed_answer(s, result_side::primary,
              {row_description({"id", "qty"}), data_row({"1", "5"}), data_row({"2", "6"}),
               command_complete("SELECT 2"), ready('I')});
  feed_answer(s, result_side::shadow,
              {row_description({"id", "qty"}), data_row({"2", "6"}), data_row({"1", "7"}),
               command_complete("SELECT 2"), ready('I')});
  const auto summary = s.diff.finish();
  ASSERT_EQ(summary.verdict, compare::result_verdict::mismatch);
  EXPECT_EQ(mismatching_columns(s, summary), std::vector<std::string>{"qty"});
  EXPECT_EQ(s.primary_answer, "SELECT 2");
  EXPECT_FALSE(s.unusable);
}

TEST(read_sample, a_partial_portal_or_a_streamed_row_makes_the_sample_unusable) {
  read_sample s{compare::result_diff_options{}};
  feed_answer(s, result_side::primary, {portal_suspended()});
  EXPECT_TRUE(s.unusable);
  read_sample t{compare::result_diff_options{}};
  t.on_message(result_side::shadow, 'D', {}, false);
  EXPECT_TRUE(t.unusable);
}

TEST(noise, columns_that_move_between_primary_runs_are_noise) {
  read_sample s{compare::result_diff_options{}};
  feed_answer(s, result_side::primary,
              {row_description({"t", "one"}), data_row({"10:00:00.1", "1"}),
               command_complete("SELECT 1")});
  feed_answer(s, result_side::shadow,
              {row_description({"t", "one"}), data_row({"10:00:00.2", "1"}),
               command_complete("SELECT 1")});
  const auto summary = s.diff.finish();
  read_sample rerun{compare::result_diff_options{}};
  feed_answer(rerun, result_side::primary,
              {row_description({"t", "one"}), data_row({"10:00:00.3", "1"}),
               command_complete("SELECT 1")});
  const auto v = judge_noise(s, summary, rerun.diff, false);
  EXPECT_EQ(v.outcome, sample_outcome::noise);
  EXPECT_EQ(v.noisy_columns, std::vector<std::string>{"t"});
}

TEST(noise, a_column_stable_on_the_primary_is_a_real_mismatch) {
  read_sample s{compare::result_diff_options{}};
  feed_answer(s, result_side::primary,
              {row_description({"t", "qty"}), data_row({"a", "1"}), command_complete("SELECT 1")});
  feed_answer(s, result_side::shadow,
              {row_description({"t", "qty"}), data_row({"b", "2"}), command_complete("SELECT 1")});
  const auto summary = s.diff.finish();
  read_sample rerun{compare::result_diff_options{}};
  // t moves between primary runs, qty does not: qty's difference is real.
  feed_answer(rerun, result_side::primary,
              {row_description({"t", "qty"}), data_row({"c", "1"}), command_complete("SELECT 1")});
  const auto v = judge_noise(s, summary, rerun.diff, false);
  EXPECT_EQ(v.outcome, sample_outcome::mismatch);
}

TEST(noise, reruns_that_agree_mean_the_first_answers_raced_a_write) {
  read_sample s{compare::result_diff_options{}};
  feed_answer(s, result_side::primary,
              {row_description({"id", "qty"}), data_row({"1", "5"}), command_complete("SELECT 1")});
  feed_answer(s, result_side::shadow,
              {row_description({"id", "qty"}), data_row({"1", "4"}), command_complete("SELECT 1")});
  const auto summary = s.diff.finish();
  read_sample recheck{compare::result_diff_options{}};
  for (auto side : {result_side::primary, result_side::shadow})
    feed_answer(recheck, side,
                {row_description({"id", "qty"}), data_row({"1", "5"}), command_complete("SELECT 1")});
  auto v = judge_noise(s, summary, recheck.diff, true);
  EXPECT_EQ(v.outcome, sample_outcome::noise);
  EXPECT_TRUE(v.transient);
  EXPECT_TRUE(v.noisy_columns.empty());
  // Without the shadow's re-run the same answers prove nothing: qty was stable on the primary.
  v = judge_noise(s, summary, recheck.diff, false);
  EXPECT_EQ(v.outcome, sample_outcome::mismatch);
}

TEST(noise, errors_and_type_changes_are_never_noise) {
  read_sample s{compare::result_diff_options{}};
  feed_answer(s, result_side::primary, {row_description({"a"}), data_row({"1"}), command_complete("SELECT 1")});
  feed_answer(s, result_side::shadow, {error("42P01", "relation does not exist")});
  const auto summary = s.diff.finish();
  EXPECT_TRUE(mismatching_columns(s, summary).empty());
  read_sample rerun{compare::result_diff_options{}};
  feed_answer(rerun, result_side::primary,
              {row_description({"a"}), data_row({"2"}), command_complete("SELECT 1")});
  EXPECT_EQ(judge_noise(s, summary, rerun.diff, false).outcome, sample_outcome::mismatch);
  EXPECT_EQ(s.shadow_answer, "ERROR 42P01");
}

TEST(read_sample_example, redacts_literals_and_rows_unless_redaction_is_relaxed) {
  read_sample s{compare::result_diff_options{}};
  s.sql = std::make_shared<const std::string>("SELECT * FROM users WHERE password = 'hunter2'");
  feed_answer(s, result_side::primary, {row_description({"a"}), data_row({"secret1"}), command_complete("SELECT 1")});
  feed_answer(s, result_side::shadow, {row_description({"a"}), data_row({"secret2"}), command_complete("SELECT 1")});
  const auto summary = s.diff.finish();
  const auto hidden = make_example(s, summary, redaction_mode::values_and_literals);
  EXPECT_EQ(hidden.statement.find("hunter2"), std::string::npos) << hidden.statement;
  for (const auto& r : hidden.primary_rows) EXPECT_EQ(r.find("secret1"), std::string::npos) << r;
  const auto shown = make_example(s, summary, redaction_mode::none);
  EXPECT_NE(shown.statement.find("hunter2"), std::string::npos);
  ASSERT_FALSE(shown.primary_rows.empty());
  EXPECT_NE(shown.primary_rows[0].find("secret1"), std::string::npos);
}

}  // namespace
}  // namespace dw::shadow
