// unit_builder and make_shadow_job (docs/dual-write.md "A unit of work"): what the shadow gets
// of a unit once the primary has answered it, what it must answer, the session state kept for
// replay on a fresh connection, the nondeterminism rewrite, the size bound.
#include "shadow/unit.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/shadow/wire_test_support.hpp"

namespace dw::shadow {
namespace {

using namespace testing;

constexpr std::string_view fixed_now = "2026-11-21 10:00:00.123456+00";

compare::nondeterministic_values fixed_values() {
  compare::nondeterministic_values v;
  v.transaction_timestamp = fixed_now;
  v.statement_timestamp = "2026-11-21 10:00:01.5+00";
  v.random = [] { return 0.25; };
  v.uuid = [] { return std::string{"00000000-0000-4000-8000-000000000001"}; };
  return v;
}

unit_builder::options builder_options() {
  unit_builder::options o;
  o.values = fixed_values;
  return o;
}

/// Adds the client frames to the open unit as the session does; the last one must end it.
/// Returns every byte the primary was sent.
wire add(unit_builder& b, std::initializer_list<wire> frames) {
  wire forwarded, out;
  std::size_t n = 0;
  for (const auto& f : frames) {
    const auto step = b.add(frame_of(f), f, out);
    EXPECT_EQ(step == unit_builder::step::unit_end, ++n == frames.size())
        << "frame " << n << " ('" << static_cast<char>(f.at(0)) << "')";
    forwarded.insert(forwarded.end(), out.begin(), out.end());
  }
  return forwarded;
}

/// Feeds the primary's answers, takes the unit and cuts its shadow job.
shadow_job answer(unit_builder& b, const wire& answers) {
  EXPECT_TRUE(feed(b.current().primary, answers));
  const unit u = b.take();
  return make_shadow_job(u);
}

std::vector<std::string> tags(const shadow_job& job) {
  std::vector<std::string> out;
  for (const auto& e : job.expected) out.push_back(e.tag);
  return out;
}

std::string types(const shadow_job& job) { return {job.types.begin(), job.types.end()}; }

TEST(unit, read_only_query_yields_an_empty_job) {
  unit_builder b{builder_options()};
  const wire q = query("SELECT a FROM t WHERE id = 1");
  EXPECT_EQ(add(b, {q}), q);
  EXPECT_FALSE(b.current().to_shadow);
  EXPECT_TRUE(b.current().shadow_bytes.empty());
  const auto job = answer(b, concat({row_description({"a"}), data_row({"1"}),
                                     command_complete("SELECT 1"), ready('I')}));
  EXPECT_TRUE(job.bytes.empty());
  EXPECT_TRUE(job.types.empty());
  EXPECT_TRUE(job.expected.empty());
  EXPECT_FALSE(job.overflow);
  EXPECT_TRUE(b.empty());
}

TEST(unit, update_yields_its_frame_and_tag) {
  unit_builder b{builder_options()};
  const wire q = query("UPDATE t SET a = 1 WHERE id = 2");
  EXPECT_EQ(add(b, {q}), q);
  const unit& u = b.current();
  EXPECT_TRUE(u.to_shadow);
  EXPECT_TRUE(u.needs_order);
  EXPECT_FALSE(u.commits);
  EXPECT_FALSE(u.tx_control);
  const auto job = answer(b, concat({command_complete("UPDATE 1"), ready('I')}));
  EXPECT_EQ(job.bytes, q);
  EXPECT_EQ(types(job), "Q");
  ASSERT_EQ(job.expected.size(), 1u);
  EXPECT_EQ(job.expected[0].tag, "UPDATE 1");
  EXPECT_TRUE(job.expected[0].compare_rows);
  EXPECT_TRUE(job.ends_at_boundary);
  EXPECT_FALSE(job.primary_error);
  ASSERT_TRUE(job.statement.sql);
  EXPECT_EQ(*job.statement.sql, "UPDATE t SET a = 1 WHERE id = 2");
}

// Texts that differ only in numbers share a cached plan (masked_numbers); each must still be
// sent, and recorded, as itself, with a rewrite of its own.
TEST(unit, texts_sharing_a_plan_by_their_numbers_keep_their_own_text) {
  unit_builder b{builder_options()};
  for (const std::string sql : {"UPDATE t SET a = 1 WHERE id = 2", "UPDATE t SET a = 30 WHERE id = 40",
                                "UPDATE t SET a = 5, at = now() WHERE id = 6",
                                "UPDATE t SET a = 70, at = now() WHERE id = 80"}) {
    const wire q = query(sql);
    add(b, {q});
    const auto job = answer(b, concat({command_complete("UPDATE 1"), ready('I')}));
    ASSERT_TRUE(job.statement.sql) << sql;
    const std::string sent{reinterpret_cast<const char*>(job.bytes.data()), job.bytes.size()};
    const auto where = sql.substr(sql.find(" WHERE"));
    if (sql.find("now()") == std::string::npos) {
      EXPECT_EQ(*job.statement.sql, sql);
      EXPECT_EQ(job.bytes, q);
    } else {  // rewritten, each from its own text
      EXPECT_NE(job.statement.sql->find(where), std::string::npos) << *job.statement.sql;
      EXPECT_NE(sent.find(fixed_now), std::string::npos) << sent;
      EXPECT_NE(sent.find(where), std::string::npos) << sent;
    }
  }
}

TEST(unit, returning_rows_are_expected_with_their_hash) {
  unit_builder b{builder_options()};
  add(b, {query("DELETE FROM t WHERE id = 1 RETURNING a")});
  const wire rows = concat({row_description({"a"}), data_row({"9"})});
  const auto job = answer(b, concat({rows, command_complete("DELETE 1"), ready('T')}));
  ASSERT_EQ(job.expected.size(), 1u);
  EXPECT_TRUE(job.expected[0].compare_rows);
  reply_tracker same;
  same.expect('Q');
  feed(same, concat({rows, command_complete("DELETE 1"), ready('T')}));
  EXPECT_EQ(job.expected[0].row_hash, same.results().at(0).row_hash);
  EXPECT_FALSE(job.ends_at_boundary);
}

TEST(unit, statement_failing_inside_explicit_transaction_sends_the_prefix) {
  unit_builder b{builder_options()};
  add(b, {query("UPDATE t SET a = 1; UPDATE t SET b = 1/0; UPDATE t SET c = 3")});
  const auto job = answer(b, concat({command_complete("UPDATE 2"),
                                     error("22012", "division by zero"), ready('E')}));
  EXPECT_EQ(query_text(job.bytes), "UPDATE t SET a = 1;");
  EXPECT_EQ(types(job), "Q");
  EXPECT_EQ(tags(job), std::vector<std::string>{"UPDATE 2"});
  ASSERT_TRUE(job.primary_error);
  EXPECT_EQ(job.primary_error->message, 0u);
  EXPECT_EQ(job.primary_error->sqlstate, "22012");
  EXPECT_FALSE(job.ends_at_boundary);
}

TEST(unit, first_statement_failing_inside_explicit_transaction_sends_nothing) {
  unit_builder b{builder_options()};
  add(b, {query("UPDATE t SET b = 1/0; UPDATE t SET c = 3")});
  const auto job = answer(b, concat({error("22012", "division by zero"), ready('E')}));
  EXPECT_TRUE(job.bytes.empty());
  EXPECT_TRUE(job.expected.empty());
}

TEST(unit, statement_failing_in_implicit_transaction_sends_nothing) {
  unit_builder b{builder_options()};
  add(b, {query("UPDATE t SET a = 1; UPDATE t SET b = 1/0; UPDATE t SET c = 3")});
  const auto job = answer(b, concat({command_complete("UPDATE 2"),
                                     error("22012", "division by zero"), ready('I')}));
  EXPECT_TRUE(job.bytes.empty());
  EXPECT_TRUE(job.expected.empty());
  EXPECT_TRUE(job.primary_error);
  EXPECT_TRUE(job.ends_at_boundary);
}

TEST(unit, implicit_transaction_rollback_keeps_what_a_commit_in_the_text_ended) {
  unit_builder b{builder_options()};
  add(b, {query("BEGIN; UPDATE t SET a = 1; COMMIT; UPDATE t SET b = 1/0")});
  const auto job = answer(b, concat({command_complete("BEGIN"), command_complete("UPDATE 2"),
                                     command_complete("COMMIT"),
                                     error("22012", "division by zero"), ready('I')}));
  EXPECT_EQ(query_text(job.bytes), "BEGIN; UPDATE t SET a = 1; COMMIT;");
  EXPECT_EQ(tags(job), (std::vector<std::string>{"BEGIN", "UPDATE 2", "COMMIT"}));
}

TEST(unit, commit_answered_rollback_becomes_rollback) {
  unit_builder b{builder_options()};
  add(b, {query("COMMIT")});
  EXPECT_TRUE(b.current().commits);
  EXPECT_TRUE(b.current().tx_control);
  const auto job = answer(b, concat({command_complete("ROLLBACK"), ready('I')}));
  EXPECT_EQ(job.bytes, query("ROLLBACK"));
  EXPECT_EQ(tags(job), std::vector<std::string>{"ROLLBACK"});
  EXPECT_FALSE(job.primary_error);
  EXPECT_TRUE(job.ends_at_boundary);
}

// Found by the regression suite (transactions): after COMMIT AND CHAIN of a failed
// transaction the primary's next transaction keeps READ WRITE; a plain ROLLBACK on the shadow
// would leave it under default_transaction_read_only.
TEST(unit, commit_and_chain_answered_rollback_becomes_rollback_and_chain) {
  unit_builder b{builder_options()};
  add(b, {query("COMMIT AND CHAIN")});
  const auto job = answer(b, concat({command_complete("ROLLBACK"), ready('T')}));
  EXPECT_EQ(job.bytes, query("ROLLBACK AND CHAIN"));
  EXPECT_EQ(tags(job), std::vector<std::string>{"ROLLBACK"});

  add(b, {parse("", "COMMIT AND CHAIN"), bind("", ""), execute(), sync()});
  const auto extended = answer(b, concat({parse_complete(), bind_complete(),
                                          command_complete("ROLLBACK"), ready('T')}));
  EXPECT_EQ(extended.bytes, concat({parse("", "COMMIT AND CHAIN"), bind("", ""),
                                    query("ROLLBACK AND CHAIN"), sync()}));
}

TEST(unit, commit_answered_commit_is_sent_as_is) {
  unit_builder b{builder_options()};
  const wire q = query("COMMIT");
  add(b, {q});
  const auto job = answer(b, concat({command_complete("COMMIT"), ready('I')}));
  EXPECT_EQ(job.bytes, q);
  EXPECT_EQ(tags(job), std::vector<std::string>{"COMMIT"});
}

// A COMMIT that fails (a deferred constraint, a serialization failure) ends the transaction
// on the primary. The shadow ran the transaction's statements and still holds them open, so
// it must roll back, or it would commit them with the client's next COMMIT.
TEST(unit, failed_commit_rolls_the_shadow_back) {
  unit_builder b{builder_options()};
  add(b, {query("COMMIT")});
  const auto job = answer(b, concat({error("23503", "insert or update violates foreign key"),
                                     ready('I')}));
  EXPECT_EQ(job.bytes, query("ROLLBACK"));
  EXPECT_EQ(tags(job), std::vector<std::string>{"ROLLBACK"});
  EXPECT_TRUE(job.ends_at_boundary);

  // The same with statements before the COMMIT in the text: they were rolled back too.
  add(b, {query("UPDATE t SET a = 1; COMMIT")});
  const auto both = answer(b, concat({command_complete("UPDATE 1"),
                                      error("40001", "could not serialize access"), ready('I')}));
  EXPECT_EQ(both.bytes, query("ROLLBACK"));
  EXPECT_EQ(tags(both), std::vector<std::string>{"ROLLBACK"});

  // And through the extended protocol.
  add(b, {parse("", "COMMIT"), bind("", ""), execute(), sync()});
  const auto extended = answer(b, concat({parse_complete(), bind_complete(),
                                          error("23503", "violates foreign key"), ready('I')}));
  EXPECT_EQ(extended.bytes, concat({query("ROLLBACK"), sync()}));
  EXPECT_EQ(types(extended), "QS");
  EXPECT_EQ(tags(extended), std::vector<std::string>{"ROLLBACK"});
}

TEST(unit, extended_batch_drops_the_read_and_keeps_the_write_and_sync) {
  unit_builder b{builder_options()};
  const wire read_parse = parse("", "SELECT a FROM t");
  const wire read_bind = bind("", "");
  const wire write_parse = parse("", "UPDATE t SET a = $1");
  const wire write_bind = bind("", "", {"5"});
  const wire s = sync();
  add(b, {read_parse, read_bind, execute(), write_parse, write_bind, execute(), s});
  EXPECT_TRUE(b.current().to_shadow);
  EXPECT_TRUE(b.current().needs_order);
  const auto job = answer(b, concat({parse_complete(), bind_complete(), data_row({"1"}),
                                     command_complete("SELECT 1"), parse_complete(),
                                     bind_complete(), command_complete("UPDATE 3"),
                                     ready('I')}));
  EXPECT_EQ(job.bytes, concat({write_parse, write_bind, execute(), s}));
  EXPECT_EQ(types(job), "PBES");
  EXPECT_EQ(tags(job), std::vector<std::string>{"UPDATE 3"});
  ASSERT_EQ(job.parameters.size(), 1u);
  ASSERT_TRUE(job.parameters[0]);
  EXPECT_EQ(text_of(*job.parameters[0]), "5");
  ASSERT_TRUE(job.statement.sql);
  EXPECT_EQ(*job.statement.sql, "UPDATE t SET a = $1");
}

TEST(unit, extended_failure_in_explicit_transaction_stops_at_the_failed_execute) {
  unit_builder b{builder_options()};
  const wire p1 = parse("", "UPDATE t SET a = 1");
  const wire p2 = parse("", "UPDATE t SET a = 1/0");
  const wire p3 = parse("", "UPDATE t SET a = 3");
  add(b, {p1, bind("", ""), execute(), p2, bind("", ""), execute(), p3, bind("", ""), execute(),
          sync()});
  const auto job = answer(b, concat({parse_complete(), bind_complete(),
                                     command_complete("UPDATE 1"),
                                     parse_complete(), bind_complete(),
                                     error("22012", "division by zero"), ready('E')}));
  EXPECT_EQ(job.bytes, concat({p1, bind("", ""), execute(), p2, bind("", ""), sync()}));
  EXPECT_EQ(tags(job), std::vector<std::string>{"UPDATE 1"});
  ASSERT_TRUE(job.primary_error);
  EXPECT_EQ(job.primary_error->message, 5u);
}

TEST(unit, named_parse_of_a_read_goes_to_the_shadow_and_into_replay) {
  unit_builder b{builder_options()};
  const wire p = parse("s1", "SELECT a FROM t WHERE id = $1");
  add(b, {p, sync()});
  const auto job = answer(b, concat({parse_complete(), ready('I')}));
  EXPECT_EQ(job.bytes, concat({p, sync()}));
  EXPECT_EQ(types(job), "PS");
  EXPECT_TRUE(job.expected.empty());
  EXPECT_EQ(b.replay_bytes(), concat({p, sync()}));
  EXPECT_TRUE(b.replay_complete());

  // Running it is a read: nothing for the shadow.
  add(b, {bind("", "s1", {"1"}), execute(), sync()});
  const auto run = answer(b, concat({bind_complete(), data_row({"1"}), command_complete("SELECT 1"),
                                     ready('I')}));
  EXPECT_TRUE(run.bytes.empty());

  // Closing it reaches the shadow and ends its replay.
  const wire c = close_statement("s1");
  add(b, {c, sync()});
  const auto closed = answer(b, concat({close_complete(), ready('I')}));
  EXPECT_EQ(closed.bytes, concat({c, sync()}));
  EXPECT_TRUE(b.replay_bytes().empty());
}

TEST(unit, named_parse_is_sent_even_when_the_batch_rolls_back) {
  unit_builder b{builder_options()};
  const wire p = parse("ins", "INSERT INTO t VALUES ($1)");
  add(b, {p, bind("", "ins", {"1"}), execute(), sync()});
  const auto job = answer(b, concat({parse_complete(), bind_complete(),
                                     error("23505", "duplicate key"), ready('I')}));
  EXPECT_EQ(job.bytes, concat({p, sync()}));
  EXPECT_TRUE(job.expected.empty());
  EXPECT_EQ(b.replay_bytes(), concat({p, sync()}));
}

TEST(unit, failed_named_parse_is_not_replayed) {
  unit_builder b{builder_options()};
  add(b, {parse("bad", "SELEC 1"), sync()});
  const auto job = answer(b, concat({error("42601", "syntax error"), ready('I')}));
  EXPECT_TRUE(job.bytes.empty());
  EXPECT_TRUE(b.replay_bytes().empty());
}

TEST(unit, set_is_replayed_and_set_local_is_not) {
  unit_builder b{builder_options()};
  const wire set = query("SET search_path TO app, public");
  add(b, {set});
  const auto job = answer(b, concat({command_complete("SET"), ready('I')}));
  EXPECT_EQ(job.bytes, set);
  EXPECT_EQ(tags(job), std::vector<std::string>{"SET"});
  EXPECT_EQ(b.replay_bytes(), set);  // no Parse: no Sync

  add(b, {query("BEGIN")});
  answer(b, concat({command_complete("BEGIN"), ready('T')}));
  add(b, {query("SET LOCAL statement_timeout = 0")});
  const auto local = answer(b, concat({command_complete("SET"), ready('T')}));
  EXPECT_EQ(local.bytes, query("SET LOCAL statement_timeout = 0"));  // the shadow needs it now
  EXPECT_EQ(b.replay_bytes(), set);                                  // but not on a new connection

  // The same SET again is kept once, at its latest place.
  add(b, {query("SET TimeZone = 'UTC'")});
  answer(b, concat({command_complete("SET"), ready('T')}));
  add(b, {set});
  answer(b, concat({command_complete("SET"), ready('T')}));
  EXPECT_EQ(b.replay_bytes(), concat({query("SET TimeZone = 'UTC'"), set}));
}

// Found by the regression suite (create_view): a noise check's re-run on the primary replayed
// CREATE TEMP VIEW, and the client's DROP SCHEMA ... CASCADE then listed that view too.
TEST(unit, temporary_objects_are_replayed_on_a_shadow_but_not_for_a_read_rerun) {
  unit_builder b{builder_options()};
  const wire set = query("SET search_path TO app, public");
  const wire view = query("CREATE TEMP VIEW v AS SELECT * FROM base");
  add(b, {set});
  answer(b, concat({command_complete("SET"), ready('I')}));
  add(b, {view});
  answer(b, concat({command_complete("CREATE VIEW"), ready('I')}));
  add(b, {query("CREATE TEMP TABLE tt AS SELECT 1 AS a")});
  answer(b, concat({command_complete("SELECT 1"), ready('I')}));
  using use = unit_builder::replay_use;
  EXPECT_EQ(b.replay_bytes(use::shadow_connection),
            concat({set, view, query("CREATE TEMP TABLE tt AS SELECT 1 AS a")}));
  EXPECT_EQ(b.replay_bytes(use::read_rerun), set);
}

TEST(unit, failed_set_is_not_replayed) {
  unit_builder b{builder_options()};
  add(b, {query("SET no_such_setting = 1")});
  answer(b, concat({error("42704", "unrecognized configuration parameter"), ready('I')}));
  EXPECT_TRUE(b.replay_bytes().empty());
}

// A Query mixing session state with writes: a fresh shadow connection must get the state, never
// the writes again (an attach replays onto a database that already holds them).
TEST(unit, replay_of_a_mixed_query_keeps_only_its_session_state) {
  unit_builder b{builder_options()};
  add(b, {query("SET search_path TO app; INSERT INTO t VALUES (1); SET TimeZone = 'UTC'")});
  answer(b, concat({command_complete("SET"), command_complete("INSERT 0 1"),
                    command_complete("SET"), ready('I')}));
  EXPECT_EQ(query_text(b.replay_bytes()), "SET search_path TO app; SET TimeZone = 'UTC'");

  // Statement boundaries of a rewritten text are found in the rewritten text.
  add(b, {query("INSERT INTO t VALUES (now()); SET application_name = 'batch'")});
  answer(b, concat({command_complete("INSERT 0 1"), command_complete("SET"), ready('I')}));
  const auto parts = split(b.replay_bytes());
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(text_of(parts[1].body), std::string{" SET application_name = 'batch'"} + '\0');

  unit_builder passthrough{builder_options()};
  const wire q = query("SET search_path TO app; DELETE FROM t");
  passthrough.note_passthrough(frame_of(q), q);
  EXPECT_EQ(query_text(passthrough.replay_bytes()), "SET search_path TO app;");
}

TEST(unit, note_passthrough_tracks_prepare_set_and_named_parse) {
  unit_builder b{builder_options()};
  const wire prepare = query("PREPARE p1 AS SELECT 1");
  const wire set = query("  set application_name = 'x'");
  const wire named = parse("s1", "SELECT a FROM t");
  const wire unnamed = parse("", "SELECT 2");
  const wire select = query("SELECT 1");
  const wire update = query("UPDATE t SET a = 1");
  const wire local = query("SET LOCAL work_mem = '64MB'");
  for (const wire* f : {&prepare, &set, &named, &unnamed, &select, &update, &local})
    b.note_passthrough(frame_of(*f), *f);
  EXPECT_EQ(b.replay_bytes(), concat({prepare, set, named, sync()}));

  const wire close = close_statement("s1");
  b.note_passthrough(frame_of(close), close);
  EXPECT_EQ(b.replay_bytes(), concat({prepare, set}));

  // A statement named in phase 0 is known when the shadow runs: its Bind is no unknown write.
  b.note_passthrough(frame_of(named), named);
  add(b, {bind("", "s1"), execute(), sync()});
  EXPECT_FALSE(b.current().to_shadow);
  const auto job = answer(b, concat({bind_complete(), command_complete("SELECT 0"), ready('I')}));
  EXPECT_TRUE(job.bytes.empty());
}

// The replay runs as a job of its own on a fresh connection: its reply tracker must expect
// one ReadyForQuery per Query and per Sync, or its answers would be read as the next job's.
TEST(unit, replay_job_lists_every_frame_and_is_not_compared) {
  unit_builder b{builder_options()};
  const wire set = query("SET application_name = 'x'");
  const wire named = parse("s1", "INSERT INTO t VALUES ($1)");
  for (const wire* f : {&set, &named}) b.note_passthrough(frame_of(*f), *f);
  const shadow_job job = make_replay_job(b.replay_bytes());
  EXPECT_EQ(types(job), "QPS");
  EXPECT_EQ(job.bytes, concat({set, named, sync()}));
  EXPECT_FALSE(job.compare_answers);
  reply_tracker t;
  for (char c : job.types) t.expect(c);
  EXPECT_EQ(t.ready_expected(), 2u);
  EXPECT_EQ(frontend_frame_types(concat({set, named})), (std::vector<char>{'Q', 'P'}));
  // An incomplete frame ends the list.
  const wire cut = concat({set, wire(named.begin(), named.begin() + 3)});
  EXPECT_EQ(frontend_frame_types(cut), std::vector<char>{'Q'});
}

TEST(unit, bind_of_an_unknown_statement_is_taken_for_a_write) {
  unit_builder b{builder_options()};
  const wire bd = bind("", "never_seen");
  add(b, {bd, execute(), sync()});
  EXPECT_TRUE(b.current().to_shadow);
  EXPECT_TRUE(b.current().needs_order);
  const auto job = answer(b, concat({bind_complete(), command_complete("UPDATE 1"), ready('I')}));
  EXPECT_EQ(job.bytes, concat({bd, execute(), sync()}));
  EXPECT_EQ(tags(job), std::vector<std::string>{"UPDATE 1"});
}

TEST(unit, nondeterministic_query_is_rewritten_for_both_sides) {
  unit_builder b{builder_options()};
  const wire q = query("INSERT INTO t VALUES (now())");
  const wire forwarded = add(b, {q});
  EXPECT_NE(forwarded, q);
  const std::string text = query_text(forwarded);
  EXPECT_NE(text.find(fixed_now), std::string::npos) << text;
  EXPECT_EQ(text.find("now()"), std::string::npos) << text;
  const auto job = answer(b, concat({command_complete("INSERT 0 1"), ready('I')}));
  EXPECT_EQ(job.bytes, forwarded);  // the shadow gets the same literal
  ASSERT_TRUE(job.statement.sql);
  EXPECT_EQ(*job.statement.sql, text);
}

TEST(unit, unnamed_parse_is_rewritten_and_named_parse_is_not) {
  unit_builder b{builder_options()};
  const wire unnamed = parse("", "INSERT INTO t VALUES (now())");
  const wire forwarded = add(b, {unnamed, bind("", ""), execute(), sync()});
  EXPECT_NE(forwarded, concat({unnamed, bind("", ""), execute(), sync()}));
  EXPECT_NE(text_of(forwarded).find(fixed_now), std::string::npos);
  answer(b,
         concat({parse_complete(), bind_complete(), command_complete("INSERT 0 1"), ready('I')}));

  const wire named = parse("ins", "INSERT INTO t VALUES (now())");
  const wire s = sync();
  EXPECT_EQ(add(b, {named, s}), concat({named, s}));
  const auto job = answer(b, concat({parse_complete(), ready('I')}));
  EXPECT_EQ(job.bytes, concat({named, s}));
}

TEST(unit, reads_and_disabled_rewrites_are_left_alone) {
  unit_builder b{builder_options()};
  const wire read = query("SELECT now()");
  EXPECT_EQ(add(b, {read}), read);
  answer(b, concat({command_complete("SELECT 1"), ready('I')}));

  auto o = builder_options();
  o.rewrite_nondeterministic = false;
  unit_builder off{o};
  const wire q = query("INSERT INTO t VALUES (now())");
  EXPECT_EQ(add(off, {q}), q);
}

// The statement locations of a rewritten text are not those of the text the client sent: the
// prefix the shadow gets after a failure must be cut from the rewritten text at its own
// statement boundary.
TEST(unit, failure_after_a_rewritten_statement_cuts_the_rewritten_text) {
  unit_builder b{builder_options()};
  const wire forwarded =
      add(b, {query("INSERT INTO t VALUES (now()); INSERT INTO t VALUES (1/0)")});
  const std::string text = query_text(forwarded);
  const auto job = answer(b, concat({command_complete("INSERT 0 1"),
                                     error("22012", "division by zero"), ready('E')}));
  EXPECT_EQ(query_text(job.bytes), text.substr(0, text.find(';') + 1));
  EXPECT_EQ(tags(job), std::vector<std::string>{"INSERT 0 1"});
}

TEST(unit, copy_from_stdin_sends_the_data_after_its_query) {
  unit_builder b{builder_options()};
  const wire q = query("COPY t FROM STDIN");
  const wire d1 = copy_data("1\ta\n");
  const wire d2 = copy_data("2\tb\n");
  add(b, {q});
  feed(b.current().primary, copy_in_response(2));
  EXPECT_TRUE(b.current().primary.copy_in());
  add(b, {d1, d2, copy_done()});
  const auto job = answer(b, concat({command_complete("COPY 2"), ready('I')}));
  EXPECT_EQ(job.bytes, concat({q, d1, d2, copy_done()}));
  EXPECT_EQ(types(job), "Qddc");
  EXPECT_EQ(tags(job), std::vector<std::string>{"COPY 2"});
}

TEST(unit, failed_copy_sends_nothing) {
  unit_builder b{builder_options()};
  const wire q = query("COPY t FROM STDIN");
  wire out;
  b.add(frame_of(q), q, out);
  feed(b.current().primary, copy_in_response(1));
  add(b, {copy_data("x\n"), copy_done()});
  const auto job = answer(b, concat({error("22P02", "invalid input syntax"), ready('I')}));
  EXPECT_TRUE(job.bytes.empty());
}

TEST(unit, function_call_goes_to_the_shadow) {
  unit_builder b{builder_options()};
  const wire f = function_call(16384, {"1"});
  add(b, {f});
  EXPECT_TRUE(b.current().needs_order);
  const auto job = answer(b, concat({function_result("2"), ready('I')}));
  EXPECT_EQ(job.bytes, f);
  EXPECT_EQ(types(job), "F");
  EXPECT_TRUE(job.expected.empty());
}

TEST(unit, flush_marks_the_unit) {
  unit_builder b{builder_options()};
  wire out;
  const wire p = parse("", "UPDATE t SET a = 1");
  const wire h = flush();
  EXPECT_EQ(b.add(frame_of(p), p, out), unit_builder::step::more);
  EXPECT_EQ(b.add(frame_of(h), h, out), unit_builder::step::more);
  EXPECT_TRUE(b.current().has_flush);
  EXPECT_EQ(b.current().primary.ready_expected(), 0u);
}

TEST(unit, overflow_drops_the_copy) {
  auto o = builder_options();
  o.max_unit_bytes = 64;
  unit_builder b{o};
  const wire small = query("UPDATE t SET a = 1");
  add(b, {small});
  EXPECT_FALSE(b.current().overflow);
  EXPECT_EQ(answer(b, concat({command_complete("UPDATE 1"), ready('I')})).bytes, small);

  const wire big = query("UPDATE t SET a = 1 WHERE b = '" + std::string(100, 'x') + "'");
  EXPECT_EQ(add(b, {big}), big);  // the primary still gets it
  EXPECT_TRUE(b.current().overflow);
  EXPECT_TRUE(b.current().shadow_bytes.empty());
  EXPECT_TRUE(b.current().to_shadow);
  const auto job = answer(b, concat({command_complete("UPDATE 1"), ready('I')}));
  EXPECT_TRUE(job.overflow);
  EXPECT_TRUE(job.bytes.empty());

  // COPY data past the bound.
  const wire copy = query("COPY t FROM STDIN");
  wire out;
  b.add(frame_of(copy), copy, out);
  feed(b.current().primary, copy_in_response(1));
  add(b, {copy_data(std::string(40, 'y')), copy_data(std::string(40, 'z')), copy_done()});
  EXPECT_TRUE(b.current().overflow);
  EXPECT_TRUE(answer(b, concat({command_complete("COPY 2"), ready('I')})).overflow);
}

TEST(unit, serialize_keys_and_flags_are_summarised) {
  auto o = builder_options();
  const std::vector<std::string> listed{"audit"};
  o.planning.serialize_tables = listed;
  unit_builder b{o};
  add(b, {query("INSERT INTO t VALUES (1); UPDATE audit SET n = n + 1")});
  EXPECT_EQ(b.current().serialize_keys, (std::vector<std::string>{"audit", "t"}));
  answer(b, concat({command_complete("INSERT 0 1"), command_complete("UPDATE 1"), ready('I')}));

  add(b, {query("VACUUM t")});
  EXPECT_TRUE(b.current().outside_transaction);
}

TEST(unit, control_job) {
  const auto job = make_control_job("BEGIN", "BEGIN");
  EXPECT_EQ(job.bytes, query("BEGIN"));
  EXPECT_EQ(types(job), "Q");
  EXPECT_EQ(tags(job), std::vector<std::string>{"BEGIN"});
  EXPECT_FALSE(job.ends_at_boundary);
  EXPECT_EQ(job.units, 0u);
  EXPECT_TRUE(make_control_job("COMMIT", "COMMIT").ends_at_boundary);
}

// A frame the proxy cannot decode still goes to both sides; cutting the job must not need its
// statement.
TEST(unit, undecodable_frames_in_a_shadowed_unit) {
  unit_builder b{builder_options()};
  const wire p = parse("", "UPDATE t SET a = 1");
  wire bad_execute = execute();
  bad_execute.pop_back();  // max_rows cut short: the body no longer decodes
  bad_execute[4] = std::byte{8};
  const wire s = sync();
  wire out;
  b.add(frame_of(p), p, out);
  b.add(frame_of(bind("", "")), bind("", ""), out);
  EXPECT_EQ(b.add(frame_of(bad_execute), bad_execute, out), unit_builder::step::more);
  EXPECT_EQ(out, bad_execute);
  EXPECT_EQ(b.add(frame_of(s), s, out), unit_builder::step::unit_end);
  const auto ok = answer(b, concat({parse_complete(), bind_complete(), command_complete("UPDATE 1"),
                                    ready('I')}));
  EXPECT_EQ(ok.bytes, concat({p, bind("", ""), bad_execute, s}));
  EXPECT_EQ(types(ok), "PBES");
  EXPECT_EQ(tags(ok), std::vector<std::string>{"UPDATE 1"});

  b.add(frame_of(p), p, out);
  b.add(frame_of(bind("", "")), bind("", ""), out);
  b.add(frame_of(bad_execute), bad_execute, out);
  b.add(frame_of(s), s, out);
  const auto failed = answer(b, concat({parse_complete(), bind_complete(),
                                        error("08P01", "invalid message format"), ready('I')}));
  EXPECT_TRUE(failed.bytes.empty());
}

// The prefix of a failed text that contains a finished COPY FROM STDIN needs the COPY's data,
// or the shadow would wait in copy-in mode.
TEST(unit, failed_text_after_a_copy_sends_the_copy_data) {
  unit_builder b{builder_options()};
  add(b, {query("COPY t FROM STDIN; UPDATE t SET a = 1/0")});
  feed(b.current().primary, copy_in_response(1));
  const wire d = copy_data("1\n");
  add(b, {d, copy_done()});
  const auto job = answer(b, concat({command_complete("COPY 1"),
                                     error("22012", "division by zero"), ready('E')}));
  EXPECT_EQ(job.bytes, concat({query("COPY t FROM STDIN;"), d, copy_done()}));
  EXPECT_EQ(types(job), "Qdc");
  EXPECT_EQ(tags(job), std::vector<std::string>{"COPY 1"});

  // The COPY itself failing: neither it nor its data.
  add(b, {query("UPDATE t SET a = 1; COPY t FROM STDIN")});
  feed(b.current().primary, concat({command_complete("UPDATE 1"), copy_in_response(1)}));
  add(b, {d, copy_done()});
  const auto failed = answer(b, concat({error("22P02", "invalid input"), ready('E')}));
  EXPECT_EQ(failed.bytes, query("UPDATE t SET a = 1;"));
  EXPECT_EQ(types(failed), "Q");
}

}  // namespace
}  // namespace dw::shadow

namespace dw::shadow {
namespace {

std::vector<std::string> queries_of(const shadow_job& job) {
  std::vector<std::string> out;
  for (const auto& m : split(job.bytes))
    out.push_back(text_of(std::span<const std::byte>{m.body}.first(m.body.size() - 1)));
  return out;
}

// The primary may have taken a sequence value before the INSERT failed; the shadow must take
// one too, without keeping the row.
TEST(sequence_catch_up, failed_insert_runs_on_the_shadow_in_a_rolled_back_savepoint) {
  unit_builder b{builder_options()};
  add(b, {query("UPDATE t SET a = 1; INSERT INTO orders (item) VALUES ('x')")});
  feed(b.current().primary, concat({command_complete("UPDATE 1"),
                              error("23505", "duplicate key"), ready('E')}));
  const unit done = b.take();
  const auto in_tx = make_sequence_catch_up_job(done, true);
  ASSERT_TRUE(in_tx);
  EXPECT_EQ(queries_of(*in_tx),
            (std::vector<std::string>{"SAVEPOINT dwproxy_sequence_catch_up",
                                      " INSERT INTO orders (item) VALUES ('x')",
                                      "ROLLBACK TO SAVEPOINT dwproxy_sequence_catch_up",
                                      "RELEASE SAVEPOINT dwproxy_sequence_catch_up"}));
  const auto alone = make_sequence_catch_up_job(done, false);
  ASSERT_TRUE(alone);
  EXPECT_EQ(queries_of(*alone).front(), "BEGIN");
  EXPECT_EQ(queries_of(*alone).back(), "ROLLBACK");
}

// Found by the regression suite (create_index, indexing): a failed CREATE INDEX CONCURRENTLY
// leaves an invalid index on the primary, which later statements reindex, attach or drop.
TEST(failed_index_build, a_data_error_is_repeated_on_the_shadow_and_a_cancel_is_not) {
  unit_builder b{builder_options()};
  const std::string cic = "CREATE INDEX CONCURRENTLY i ON t ((a / b))";
  add(b, {query(cic)});
  feed(b.current().primary, concat({error("22012", "division by zero"), ready('I')}));
  const auto job = make_failed_index_build_job(b.take());
  ASSERT_TRUE(job);
  EXPECT_EQ(queries_of(*job), std::vector<std::string>{cic});
  EXPECT_FALSE(job->compare_answers);

  add(b, {query("REINDEX INDEX CONCURRENTLY i")});
  feed(b.current().primary, concat({error("23505", "could not create unique index"), ready('I')}));
  EXPECT_TRUE(make_failed_index_build_job(b.take()));

  add(b, {query(cic)});
  feed(b.current().primary, concat({error("57014", "canceling statement"), ready('I')}));
  EXPECT_FALSE(make_failed_index_build_job(b.take()));

  add(b, {query("CREATE INDEX i ON t ((a / b))")});  // not concurrent: rolled back whole
  feed(b.current().primary, concat({error("22012", "division by zero"), ready('I')}));
  EXPECT_FALSE(make_failed_index_build_job(b.take()));

  add(b, {query(cic)});
  feed(b.current().primary, concat({command_complete("CREATE INDEX"), ready('I')}));
  EXPECT_FALSE(make_failed_index_build_job(b.take()));
}

// The drivers' default (psycopg 3, pgJDBC, node-postgres): a failed INSERT goes through the
// extended protocol. In an autocommit batch up to one Sync, the failure also rolls back the
// INSERT that succeeded before it, which the shadow job then leaves out: both take values.
TEST(sequence_catch_up, an_extended_batch_rolled_back_runs_each_insert_again_alone) {
  unit_builder b{builder_options()};
  const std::string insert = "INSERT INTO orders (item) VALUES ($1)";
  const wire first = concat({parse("", insert), bind("", "", {"a"}), execute()});
  const wire second = concat({parse("", insert), bind("", "", {"b"}), execute()});
  add(b, {parse("", insert), bind("", "", {"a"}), execute(), parse("", insert),
          bind("", "", {"b"}), execute(), sync()});
  feed(b.current().primary,
       concat({parse_complete(), bind_complete(), command_complete("INSERT 0 1"), parse_complete(),
               bind_complete(), error("23505", "duplicate key"), ready('I')}));
  const auto job = make_sequence_catch_up_job(b.take(), false);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->bytes, concat({query("BEGIN"), first, sync(), query("ROLLBACK"), query("BEGIN"),
                                second, sync(), query("ROLLBACK")}));
  EXPECT_EQ(types(*job), "QPBESQQPBESQ");
  EXPECT_FALSE(job->compare_answers);
  EXPECT_TRUE(job->ends_at_boundary);
}

// Inside the client's transaction the statements before the failure reach the shadow anyway:
// only the failing Execute runs again, under a savepoint. A named statement exists on the
// shadow already, so its Bind and Execute suffice.
TEST(sequence_catch_up, a_failed_execute_of_a_named_statement_in_a_transaction_runs_under_a_savepoint) {
  unit_builder b{builder_options()};
  add(b, {parse("S_1", "INSERT INTO orders (item) VALUES ($1)"), bind("", "S_1", {"a"}),
          execute(), bind("", "S_1", {"b"}), execute(), sync()});
  feed(b.current().primary,
       concat({parse_complete(), bind_complete(), command_complete("INSERT 0 1"), bind_complete(),
               error("23505", "duplicate key"), ready('E')}));
  const auto job = make_sequence_catch_up_job(b.take(), true);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->bytes, concat({query("SAVEPOINT dwproxy_sequence_catch_up"),
                                bind("", "S_1", {"b"}), execute(), sync(),
                                query("ROLLBACK TO SAVEPOINT dwproxy_sequence_catch_up"),
                                query("RELEASE SAVEPOINT dwproxy_sequence_catch_up")}));
  EXPECT_FALSE(job->ends_at_boundary);
}

TEST(unit, only_a_unit_of_begins_leaves_the_transaction_unchanged) {
  unit_builder b{builder_options()};
  add(b, {query("BEGIN")});
  feed(b.current().primary, concat({command_complete("BEGIN"), ready('T')}));
  EXPECT_TRUE(only_begins_transaction(b.take()));
  add(b, {parse("", "START TRANSACTION ISOLATION LEVEL REPEATABLE READ"), bind("", ""), execute(),
          sync()});
  feed(b.current().primary,
       concat({parse_complete(), bind_complete(), command_complete("BEGIN"), ready('T')}));
  EXPECT_TRUE(only_begins_transaction(b.take()));
  add(b, {query("BEGIN; UPDATE t SET a = 1")});
  feed(b.current().primary,
       concat({command_complete("BEGIN"), command_complete("UPDATE 1"), ready('T')}));
  EXPECT_FALSE(only_begins_transaction(b.take()));
  add(b, {query("SET LOCAL search_path = other")});
  feed(b.current().primary, concat({command_complete("SET"), ready('T')}));
  EXPECT_FALSE(only_begins_transaction(b.take()));
}

// psycopg 3 prepares a statement on its fifth run: Parse "_pg3_0", Bind, Execute, Sync. When
// that autocommit write fails, the proxy rolls back its own BEGIN and the shadow job is
// dropped, but the named statement lives on at the primary: the shadow must get the Parse
// (and then the sequence catch-up can Bind it).
TEST(sequence_catch_up, a_failed_wrapped_write_still_prepares_its_named_statement_on_the_shadow) {
  unit_builder b{builder_options()};
  const wire parse_it = parse("_pg3_0", "INSERT INTO orders (item) VALUES ($1)");
  add(b, {parse_it, bind("", "_pg3_0", {"a"}), execute(), sync()});
  feed(b.current().primary, concat({parse_complete(), bind_complete(),
                                    error("23505", "duplicate key"), ready('E')}));
  const unit done = b.take();
  const auto statements = make_named_statement_job(done);
  ASSERT_TRUE(statements);
  EXPECT_EQ(statements->bytes, concat({parse_it, sync()}));
  EXPECT_FALSE(statements->compare_answers);
  const auto catch_up = make_sequence_catch_up_job(done, false);
  ASSERT_TRUE(catch_up);
  EXPECT_EQ(catch_up->bytes, concat({query("BEGIN"), bind("", "_pg3_0", {"a"}), execute(), sync(),
                                     query("ROLLBACK")}));

  // A Parse after the failure was skipped by the server: not sent.
  add(b, {bind("", "_pg3_0", {"b"}), execute(), parse("_pg3_1", "SELECT 1"), sync()});
  feed(b.current().primary,
       concat({bind_complete(), error("23505", "duplicate key"), ready('E')}));
  EXPECT_FALSE(make_named_statement_job(b.take()));
}

TEST(sequence_catch_up, nothing_for_successes_and_for_failures_outside_inserts) {
  unit_builder b{builder_options()};
  add(b, {query("INSERT INTO orders (item) VALUES ('x')")});
  feed(b.current().primary, concat({command_complete("INSERT 0 1"), ready('I')}));
  EXPECT_FALSE(make_sequence_catch_up_job(b.take(), false));
  add(b, {query("UPDATE t SET b = 1/0")});
  feed(b.current().primary, concat({error("22012", "division by zero"), ready('I')}));
  EXPECT_FALSE(make_sequence_catch_up_job(b.take(), false));
}

}  // namespace
}  // namespace dw::shadow
