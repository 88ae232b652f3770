// The unit of dual-write (docs/dual-write.md): the client frames between two ReadyForQuery
// answers, one Query or one extended batch up to Sync. unit_builder classifies each frame as it
// is forwarded to the primary and keeps a copy of what the shadow needs; once the primary has
// answered, make_shadow_job() cuts the copy down to what the primary actually applied. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "compare/nondeterminism.hpp"
#include "protocol/frame_decoder.hpp"
#include "shadow/query_split.hpp"
#include "shadow/redaction.hpp"
#include "shadow/reply_tracker.hpp"
#include "shadow/statement_plan.hpp"

namespace dw::shadow {

struct read_sample;

struct statement_ref {
  std::shared_ptr<const statement_plan> plan;
  std::shared_ptr<const std::string> sql;
};

struct unit_message {
  char type = 0;
  bool to_shadow = false;
  std::size_t begin = 0, end = 0;  ///< its frame in unit::shadow_bytes (to_shadow only)
  statement_ref statement;         ///< Query, Parse, Bind, Execute: the statement it runs
  bool named_parse = false;        ///< Parse or Close of a named statement: outlives transactions
};

struct unit {
  std::vector<std::byte> shadow_bytes;  ///< the to_shadow frames, as the primary got them
  std::vector<unit_message> messages;   ///< every client frame of the unit, in order
  reply_tracker primary;                ///< the primary's answers
  bool to_shadow = false;
  bool needs_order = false;
  bool commits = false;
  bool tx_control = false;
  bool outside_transaction = false;
  bool ddl = false;
  bool has_flush = false;  ///< answers were asked for before Sync: cannot be wrapped
  bool overflow = false;   ///< the shadow copy passed the size bound and was dropped
  std::vector<std::string> serialize_keys;
  // For the divergence log: the first statement the shadow gets, and its Bind values.
  statement_ref first;
  std::vector<std::optional<shadow::bytes>> parameters;
  std::vector<std::int16_t> parameter_formats;
};

/// What the shadow must run for one unit, and what it must answer.
struct shadow_job {
  std::vector<std::byte> bytes;
  std::vector<char> types;  ///< message types in `bytes`, for the shadow's reply_tracker
  struct expectation {
    std::string tag;
    std::uint64_t row_hash = 0;
    bool compare_rows = false;
  };
  std::vector<expectation> expected;  ///< one per statement result the shadow will produce
  bool ends_at_boundary = false;      ///< the primary was outside a transaction afterwards
  std::optional<reply_error> primary_error;
  statement_ref statement;
  std::vector<std::optional<shadow::bytes>> parameters;
  std::vector<std::int16_t> parameter_formats;
  bool overflow = false;  ///< nothing to run: the copy was dropped (the session diverges)
  std::size_t units = 1;  ///< client units this job completes (for the lag accounting)
  /// False for work whose answers say nothing about divergence (state replays, sequence
  /// catch-ups): it is run and its answers are read, not compared.
  bool compare_answers = true;
  /// An autocommit write the session wrapped in BEGIN (ordered mode): the session ends the
  /// shadow's transaction itself, and may roll it back (shadow_link::take_wrapped_rollback).
  bool wrapped = false;
  /// A sampled read (read_sample.hpp): the shadow's answer goes to its differ, after
  /// `sample_ready_skip` ReadyForQuery messages (a savepoint's) and up to the next one.
  std::shared_ptr<read_sample> sample;
  std::uint32_t sample_ready_skip = 0;
  /// Undoes the savepoint of the in-transaction sample queued just before it: not work that
  /// waits behind that sample (make_sample_jobs).
  bool ends_sample_savepoint = false;
};

/// The type byte of each frontend frame in `frames` (typed messages, as after startup), in
/// order; stops at the first incomplete or invalid frame.
[[nodiscard]] std::vector<char> frontend_frame_types(std::span<const std::byte> frames);

/// Replaying a session's state (unit_builder::replay_bytes) on a fresh connection.
[[nodiscard]] shadow_job make_replay_job(std::vector<std::byte> frames);

class unit_builder {
 public:
  struct options {
    plan_options planning;
    bool rewrite_nondeterministic = true;
    std::size_t max_unit_bytes = 16u << 20;
    /// Chooses the values the rewrite splices in (timestamps, random, uuid).
    std::function<compare::nondeterministic_values()> values;
  };
  explicit unit_builder(options o);

  enum class step : std::uint8_t {
    more,      ///< forward and read on
    unit_end,  ///< forward, then wait for the primary's ReadyForQuery
  };
  /// Adds one client frame (Terminate excluded) to the open unit. `forward` gets the bytes
  /// the primary must receive: the frame itself, or a rewritten one.
  step add(const protocol::frame& f, std::span<const std::byte> wire,
           std::vector<std::byte>& forward);
  /// The pieces ordered mode runs a Query text as (query_split.hpp); empty: run it whole.
  [[nodiscard]] std::vector<query_piece> split_for_order(std::string_view sql,
                                                         char transaction_status) {
    return shadow::split_for_order(sql, *plan_for(sql).plan, transaction_status);
  }
  [[nodiscard]] unit& current() noexcept { return unit_; }
  [[nodiscard]] bool empty() const noexcept { return unit_.messages.empty(); }
  /// Hands the finished unit out and starts a new one; records what a fresh connection must
  /// replay (named statements, SET, ...) according to how the primary answered.
  unit take();

  /// Frames seen while no shadow runs (phase 0): only session state is tracked, cheaply.
  void note_passthrough(const protocol::frame& f, std::span<const std::byte> wire);
  /// What the replay is for. A shadow connection takes over the session and needs all of
  /// it. A connection that only re-runs a read (a noise check) must not create temporary
  /// objects: a temporary view on the client's table would be visible to the client's own
  /// statements (DROP ... CASCADE lists it, DROP without CASCADE fails while it exists).
  enum class replay_use : std::uint8_t { shadow_connection, read_rerun };
  /// The frames a freshly opened connection must run first, Sync included; empty: none.
  [[nodiscard]] std::vector<std::byte> replay_bytes(
      replay_use use = replay_use::shadow_connection) const;
  [[nodiscard]] bool replay_complete() const noexcept { return replay_size_ <= max_replay_bytes; }
  /// Changes whenever replay_bytes() would: callers may cache what they built from it.
  [[nodiscard]] std::uint64_t replay_version() const noexcept { return replay_order_; }

  static constexpr std::size_t max_replay_bytes = 1u << 20;

 private:
  statement_ref plan_for(std::string_view sql);
  void keep(const unit_message& m, std::span<const std::byte> wire);
  void remember_state(std::string key, std::span<const std::byte> wire, bool is_parse,
                      bool creates_object = false);
  void forget_state(const std::string& key);

  options options_;
  unit unit_;
  bool last_statement_to_shadow_ = false;  // of the last Query/Execute: COPY data follows it
  std::map<std::string, statement_ref, std::less<>> statements_;
  std::map<std::string, statement_ref, std::less<>> portals_;
  statement_ref last_planned_;  // see plan_for()
  // Replay: named Parse frames by "P<name>", session-state Query frames by "Q<text>".
  struct replay_entry {
    std::uint64_t order;
    std::vector<std::byte> frame;
    bool is_parse;
    bool creates_object;  ///< left out of replay_use::read_rerun
  };
  std::map<std::string, replay_entry, std::less<>> replay_;
  std::uint64_t replay_order_ = 0;
  std::size_t replay_size_ = 0;
};

/// The shadow's share of a unit the primary has answered (docs/dual-write.md "A unit of work").
[[nodiscard]] shadow_job make_shadow_job(const unit& u);

/// True when every statement of the unit is a BEGIN / START TRANSACTION (drivers send it alone
/// before a transaction's first statement): it changes nothing a later read could see.
[[nodiscard]] bool only_begins_transaction(const unit& u);

/// A CREATE INDEX CONCURRENTLY or REINDEX ... CONCURRENTLY (sent alone, as a Query) that
/// failed on the primary on its data (SQLSTATE class 22 or 23, e.g. a duplicate key or a
/// division by zero in the indexed expression) left an invalid index there; the shadow runs
/// it too, so that it fails alike and the later DROP INDEX or REINDEX of that index finds it
/// on both sides. Not compared. Other failures (a cancel, a lock timeout) are not repeated:
/// the shadow might build what the client gave up. nullopt: nothing to do.
[[nodiscard]] std::optional<shadow_job> make_failed_index_build_job(const unit& u);

/// A unit that failed on the primary and that the shadow gets nothing of (an autocommit write
/// the proxy wrapped in BEGIN, rolled back): the named statements it prepared or closed before
/// the failure outlive the rollback, so the shadow gets those Parse and Close messages, with a
/// Sync. Later Executes of them would otherwise fail there. Not compared. nullopt: none.
[[nodiscard]] std::optional<shadow_job> make_named_statement_job(const unit& u);

/// A statement that failed on the primary after it may have taken a sequence value (an INSERT
/// into a serialised table hitting a unique violation, say): the shadow runs it too, rolled
/// back, so that both sequences move alike. Through the extended protocol that is the failing
/// Execute (its Bind, and the unnamed statement's Parse), and when the failure rolled back the
/// batch's implicit transaction, each sequence-taking Execute before it too: the shadow job
/// then carries none of them. Not compared. nullopt: nothing to do.
/// `in_transaction`: the shadow is inside the client's transaction (use a savepoint).
[[nodiscard]] std::optional<shadow_job> make_sequence_catch_up_job(const unit& u,
                                                                   bool in_transaction);

/// A job that runs one simple-query statement ("BEGIN", "COMMIT", "ROLLBACK") and expects
/// `tag` back.
[[nodiscard]] shadow_job make_control_job(std::string_view sql, std::string_view tag);

}  // namespace dw::shadow
