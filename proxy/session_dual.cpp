// Dual-write relay (phases 1-3; docs/dual-write.md). The client coroutine takes one unit at a
// time (a Query, or an extended batch up to Sync): it classifies the frames, applies the
// ordered mode's holds, forwards the unit to the primary and waits until the primary reader
// has relayed the answer. Then the shadow gets its share of the unit through the session's
// shadow_link. Pipelined units therefore wait for each other here; correctness first.
#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <charconv>
#include <functional>
#include <random>

#include "protocol/backend_messages.hpp"
#include "protocol/frontend_messages.hpp"
#include "proxy/session.hpp"
#include "proxy/shadow_link.hpp"
#include "proxy/sqlstate.hpp"
#include "proxy/table_locks.hpp"
#include "proxy/worker.hpp"

namespace dw::proxy {
namespace {

using clock = std::chrono::steady_clock;

// CopyData streams through; every other backend message is read whole when it is small.
constexpr std::array<char, 1> streamed_in_dual_mode{'d'};

std::vector<std::byte> simple_query(std::string_view sql) {
  std::vector<std::byte> out;
  protocol::write_query(out, sql);
  return out;
}

std::string sql_literal(std::string_view text) {
  std::string literal = "'";
  for (char c : text) literal += c == '\'' ? std::string{"''"} : std::string{c};
  literal += "'";
  return literal;
}

// Whether `table` has a serial or identity column. The client's own transaction may hold an
// ACCESS EXCLUSIVE lock on the table (TRUNCATE, ALTER TABLE), so the query must not lock it:
// to_regclass and plain catalog scans take no lock on the table, whereas pg_get_expr(adbin)
// opens it and would wait for this very session forever. A default that calls nextval shows
// in the stored expression tree as nextval's funcid.
std::string sequence_probe_sql(const std::string& table) {
  return fmt::format(
      "SELECT pg_catalog.to_regclass({0}) IS NULL OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a "
      "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
      "WHERE a.attrelid = pg_catalog.to_regclass({0}) AND a.attnum > 0 AND NOT a.attisdropped "
      "AND (a.attidentity <> '' OR d.adbin::pg_catalog.text LIKE '%:funcid ' || "
      "'pg_catalog.nextval(pg_catalog.regclass)'::pg_catalog.regprocedure::pg_catalog.oid || ' %'))",
      sql_literal(table));
}

// The backends that backend `holder` waits for, directly or through a chain of others, as
// "pid,pid,..." (empty: none).
std::string blockers_sql(std::int32_t holder) {
  return fmt::format(
      "WITH RECURSIVE waits(pid) AS (SELECT pg_catalog.unnest(pg_catalog.pg_blocking_pids({0})) "
      "UNION SELECT pg_catalog.unnest(pg_catalog.pg_blocking_pids(w.pid)) FROM waits w) "
      "SELECT COALESCE(pg_catalog.string_agg(pid::pg_catalog.text, ','), '') FROM waits",
      holder);
}

std::optional<std::vector<std::int32_t>> parse_pids(std::string_view text) {
  std::vector<std::int32_t> pids;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    std::int32_t pid = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), pid);
    if (ec != std::errc{} || end != item.data() + item.size()) return std::nullopt;
    pids.push_back(pid);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return pids;
}

// What the primary runs instead of a unit that would deadlock on the proxy's table lock: an
// error as PostgreSQL raises it for a deadlock, so the client's transaction fails (and is
// retried, as applications do on 40P01) the way it would have in a deadlock on the server.
std::string deadlock_error_sql(const std::vector<std::string>& tables) {
  std::string names;
  for (const auto& t : tables) {
    if (!names.empty()) names += ", ";
    for (char c : t) names += c == '$' ? '_' : c;  // cannot end the dollar quote
  }
  return fmt::format(
      "DO $dwproxy$BEGIN RAISE EXCEPTION USING ERRCODE = '40P01', MESSAGE = 'deadlock detected', "
      "DETAIL = {}, HINT = 'dwproxy runs writes to tables with serial or identity columns one "
      "at a time (shadow.serialize_sequences); retry the transaction.'; END$dwproxy$",
      sql_literal("This transaction waited for dwproxy's write order on " + names +
                  ", held by a statement that waits for this transaction's locks."));
}

// One question to the primary, on a connection of its own (asked inside the client's
// transaction, a failure would abort it): the first column of the first row ("" for NULL).
// nullopt: no answer.
awaitable<std::optional<std::string>> ask_text(backend_login login, std::string sql) {
  backend_outcome outcome = co_await connect_backend(login);
  if (!outcome.connection) co_return std::nullopt;
  stream& io = *outcome.connection->io;
  std::vector<std::byte> carry = std::move(outcome.connection->leftover);
  if (co_await io.write(simple_query(sql))) co_return std::nullopt;
  std::optional<std::string> answer;
  const bool answered = co_await read_until_ready(io, 1, carry, [&answer](const protocol::frame& f) {
    if (f.type != 'D' || answer) return;
    auto row = protocol::decode_backend(f);
    if (!row) return;
    if (const auto* d = std::get_if<protocol::data_row>(&*row); d && !d->columns.empty()) {
      const auto& value = d->columns[0];
      answer = value ? std::string{reinterpret_cast<const char*>(value->data()), value->size()}
                     : std::string{};
    }
  });
  send_terminate(io);
  io.close();
  if (!answered) co_return std::nullopt;
  co_return answer;
}

}  // namespace

compare::nondeterministic_values session::nondeterministic_values() const {
  thread_local std::mt19937_64 random{std::random_device{}()};
  compare::nondeterministic_values v;
  v.transaction_timestamp = transaction_timestamp_;
  v.statement_timestamp = format_timestamp(std::chrono::system_clock::now());
  v.random = [] { return std::uniform_real_distribution<double>{0.0, 1.0}(random); };
  v.uuid = [] {
    std::array<std::uint8_t, 16> b{};
    for (auto& x : b) x = static_cast<std::uint8_t>(random());
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    return fmt::format("{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
                       "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                       b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                       b[12], b[13], b[14], b[15]);
  };
  return v;
}

std::string session::format_timestamp(std::chrono::system_clock::time_point t) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     micros % 1'000'000);
}

backend_login session::login_for(bool to_new) const {
  const runtime& rt = *runtime_;
  backend_login login;
  login.target = to_new ? &*rt.cfg.new_backend : &rt.cfg.old_backend;
  login.credentials = to_new ? new_login_ : old_login_;
  login.database = login.target->dbname.empty() ? database_ : login.target->dbname;
  login.client_parameters = client_parameters_;
  login.tls = to_new ? rt.new_tls.get() : rt.old_tls.get();
  return login;
}

std::uint64_t session::shadow_backlog() const noexcept { return shadow_ ? shadow_->backlog() : 0; }
std::chrono::milliseconds session::shadow_lag() const noexcept {
  return shadow_ ? shadow_->lag() : std::chrono::milliseconds{0};
}
bool session::has_shadow() const noexcept { return shadow_ && shadow_->connected(); }
bool session::shadow_diverged() const noexcept { return shadow_ && shadow_->diverged(); }
bool session::acknowledge_divergence() noexcept { return shadow_ && shadow_->acknowledge(); }

void session::release_table_locks() noexcept {
  if (held_locks_.empty()) return;
  owner_.shared().locks->unlock(held_locks_);
  held_locks_.clear();
}

awaitable<bool> session::write_primary(std::span<const std::byte> bytes) {
  if (auto ec = co_await primary_->io->write(bytes)) {
    co_await on_backend_lost(ec, true);
    co_return false;
  }
  co_return true;
}

awaitable<char> session::wait_primary_event() {
  while (dual_event_ == 0 && state_ != session_state::closing) {
    dual_signal_.expires_at(clock::time_point::max());
    (void)co_await dual_signal_.async_wait(use_nothrow);
  }
  const char event = dual_event_;
  dual_event_ = 0;
  co_return state_ == session_state::closing ? char{0} : event;
}

awaitable<bool> session::relay_client_dual() {
  protocol::frame_decoder decoder{protocol::direction::frontend, runtime_->client_limits};
  decoder.expect_typed_messages();
  std::vector<std::byte> forward;
  std::vector<std::byte> pending;  // frames of the open unit not sent to the primary yet
  std::size_t used = 0;            // bytes at the front of client_carry_ already taken
  const auto flush_copy_data = [&]() -> awaitable<bool> {
    if (pending.empty()) co_return true;
    const bool ok = co_await write_primary(pending);
    pending.clear();
    co_return ok;
  };
  for (;;) {
    // Between transactions: where a graceful shutdown closes the session and the idle
    // timeout starts (the primary reader cannot tell: the unit is taken only here).
    if (units_->empty() && boundary_.idle() && expected_.empty() && !copy_in_progress_) {
      if (draining_) {
        begin_shutdown();
        co_return false;
      }
      if (runtime_->cfg.limits.idle_timeout.count() > 0 && !idle_armed_ &&
          used == client_carry_.size())
        arm_idle_timeout();
    }
    const std::span<const std::byte> input = std::span<const std::byte>{client_carry_}.subspan(used);
    auto f = decoder.next(input);
    if (!f) {
      const auto mapped = sqlstate::for_error(f.error());
      co_await fail_client(mapped.code, mapped.message);
      co_return false;
    }
    if (!*f) {
      // Everything buffered is taken: COPY data collected from it goes out in one write
      // (a CopyData per row would otherwise cost a system call per row).
      if (copy_in_progress_ && !co_await flush_copy_data()) co_return false;
      client_carry_.erase(client_carry_.begin(),
                          client_carry_.begin() + static_cast<std::ptrdiff_t>(used));
      used = 0;
      const auto bytes = co_await read_client();
      if (!bytes) co_return false;
      client_carry_.insert(client_carry_.end(), bytes->begin(), bytes->end());
      continue;
    }
    if (units_->empty() && boundary_.idle() && !copy_in_progress_) {
      if (owner_.shared().paused.load()) {
        co_await owner_.wait_until_resumed();
        if (state_ == session_state::closing) co_return false;
        continue;
      }
      if (phase_changed()) {
        client_carry_.erase(client_carry_.begin(),
                            client_carry_.begin() + static_cast<std::ptrdiff_t>(used));
        co_return true;
      }
    }
    const protocol::frame frame = **f;
    const std::span<const std::byte> wire = input.first(frame.wire_size);
    if (stray_copy_message(frame.type)) {
      // CopyData/CopyDone/CopyFail with no COPY open: the primary refused the COPY right
      // after CopyInResponse (COPY ... FREEZE does), and the client still sends what it had.
      // PostgreSQL ignores these and answers nothing ("COPY Operations" in the protocol
      // docs); a unit made of them would wait forever for an answer.
      used += frame.wire_size;
      continue;
    }
    if (frame.type == protocol::frontend_type::terminate) {
      primary_->io->try_write_now(wire);
      close_all();
      co_return false;
    }
    if (units_->empty() && boundary_.transaction_status() == 'I')
      transaction_timestamp_ = format_timestamp(std::chrono::system_clock::now());
    if (frame.type == protocol::frontend_type::query && units_->empty() &&
        runtime_->cfg.shadow.mode == "ordered" && !frame.body.empty() &&
        frame.body.back() == std::byte{0}) {
      const std::string_view sql{reinterpret_cast<const char*>(frame.body.data()),
                                 frame.body.size() - 1};
      auto pieces = units_->split_for_order(sql, boundary_.transaction_status());
      if (!pieces.empty()) {
        used += frame.wire_size;
        client_carry_.erase(client_carry_.begin(),
                            client_carry_.begin() + static_cast<std::ptrdiff_t>(used));
        used = 0;
        const bool went_on = co_await run_split_query(std::move(pieces));
        if (!went_on) co_return false;
        continue;
      }
    }
    const auto step = units_->add(frame, wire, forward);
    boundary_.on_client_message(frame.type);
    used += frame.wire_size;
    pending.insert(pending.end(), forward.begin(), forward.end());
    if (step == shadow::unit_builder::step::more) {
      // A Flush asks for answers now; COPY data is written once the buffered input is taken.
      if (frame.type == 'H') {
        if (!pending.empty() && expected_.empty()) unit_flushed_early_ = true;
        if (!co_await flush_copy_data()) co_return false;
      }
      continue;
    }
    // The frames of this unit have been copied: what remains buffered belongs to later ones.
    client_carry_.erase(client_carry_.begin(),
                        client_carry_.begin() + static_cast<std::ptrdiff_t>(used));
    used = 0;
    if (copy_in_progress_ || copy_awaiting_sync_) {
      // CopyDone / CopyFail: the COPY's statement went out already. In the extended protocol
      // the answer comes only after the Sync that follows, so read on until it.
      const bool extended = units_->current().messages.front().type != 'Q';
      const bool answer_due = !copy_in_progress_ || !extended;
      copy_awaiting_sync_ = copy_in_progress_ && extended;
      copy_in_progress_ = false;
      if (!co_await flush_copy_data()) co_return false;
      if (answer_due && !co_await complete_unit()) co_return false;
      continue;
    }
    if (!co_await run_unit(std::move(pending))) co_return false;
    pending.clear();
  }
}

bool session::stray_copy_message(char type) const noexcept {
  const bool copy_message = type == protocol::frontend_type::copy_data ||
                            type == protocol::frontend_type::copy_done ||
                            type == protocol::frontend_type::copy_fail;
  return copy_message && units_->empty() && !copy_in_progress_ && !copy_awaiting_sync_;
}

awaitable<bool> session::attach_shadow() {
  if (!shadow_) {
    shadow_link::identity who{id_, client_->peer(), user_name_, database_};
    shadow_ = std::make_shared<shadow_link>(owner_.context(), owner_.shared(), std::move(who));
  }
  if (shadow_->connected()) co_return true;
  if (!shadow_->may_retry()) co_return false;
  co_return co_await shadow_->attach(login_for(!primary_is_new_), !primary_is_new_,
                                     units_->replay_bytes(), units_->replay_complete(),
                                     applied_phase_);
}

awaitable<bool> session::run_split_query(std::vector<shadow::query_piece> pieces) {
  // Each piece is a unit of its own, held and serialised as such. A piece that fails, or
  // leaves another status than planned, ends the text as PostgreSQL would have: the client
  // gets that piece's ReadyForQuery, and the rest is not sent.
  std::vector<std::byte> forward;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const bool last = i + 1 == pieces.size();
    piece_status_ = last ? char{0} : pieces[i].status_after;
    piece_failed_ = false;
    const std::vector<std::byte> wire = simple_query(pieces[i].text);
    const protocol::frame frame{protocol::frontend_type::query,
                                std::span<const std::byte>{wire}.subspan(5), wire.size()};
    (void)units_->add(frame, wire, forward);
    boundary_.on_client_message(frame.type);
    const bool went_on = co_await run_unit(std::move(forward), !last);
    if (!went_on) co_return false;
    forward.clear();
    if (piece_failed_ || boundary_.transaction_status() != pieces[i].status_after) break;
  }
  piece_status_ = 0;
  co_return true;
}

awaitable<bool> session::run_unit(std::vector<std::byte> bytes, bool piece) {
  shadow::unit& u = units_->current();
  const char status = boundary_.transaction_status();
  const auto& settings = runtime_->cfg.shadow;
  const bool ordered = settings.mode == "ordered";
  const int phase = applied_phase_;
  // The shadow opens at the first unit that needs it, which is always at a boundary: BEGIN
  // is such a unit.
  if (u.to_shadow && status == 'I' && !(shadow_ && shadow_->connected())) co_await attach_shadow();
  if (state_ == session_state::closing) co_return false;
  if (!u.to_shadow && status != 'E' && runtime_->read_sampling.active_in(phase)) {
    co_await maybe_sample(bytes, status);
    if (state_ == session_state::closing) co_return false;
  }
  const bool shadowed = u.to_shadow && shadow_ && shadow_->connected();
  const auto bound = [&settings] { return clock::now() + settings.lag_bound; };
  if (shadowed && !ordered)
    co_await shadow_->wait_for_room(u.shadow_bytes.size(), settings.max_queue_bytes, bound(), phase);
  if (shadowed && ordered && !u.serialize_keys.empty()) {
    std::vector<std::string> tables = co_await tables_to_serialize(u);
    if (state_ == session_state::closing) co_return false;
    // Named, not a temporary in the co_await operand: GCC 12 corrupted coroutine frames with
    // such temporaries here (see refuse_deadlocked_unit).
    table_locks::deadlock_check waits_for_me = [this](std::int32_t holder) {
      return primary_blockers_of(holder);
    };
    const bool locked = co_await owner_.shared().locks->lock(tables, primary_->cancel.process_id,
                                                            std::move(waits_for_me));
    if (!locked) co_return co_await refuse_deadlocked_unit(tables);
    held_locks_ = std::move(tables);
  }
  if (shadowed && ordered && u.commits && status != 'I') {
    // The shadow must hold every row lock of this transaction before the primary lets its
    // own go: then a conflicting transaction of another session also waits on the shadow.
    owner_.shared().held_commits.fetch_add(1, std::memory_order_relaxed);
    co_await shadow_->wait_caught_up(bound(), phase);
  }
  if (state_ == session_state::closing) co_return false;
  const bool wrap = shadowed && ordered && status == 'I' && u.needs_order && !u.tx_control &&
                    !u.outside_transaction && !u.has_flush && u.primary.ready_expected() == 1;
  if (wrap) {
    std::vector<std::byte> wrapped = simple_query("BEGIN");
    wrapped.insert(wrapped.end(), bytes.begin(), bytes.end());
    bytes = std::move(wrapped);
    expected_.push_back(expectation::swallow);
    owner_.shared().wrapped_writes.fetch_add(1, std::memory_order_relaxed);
  }
  expected_.push_back(wrap    ? expectation::unit_wrapped
                      : piece ? expectation::piece
                              : expectation::unit);
  unit_flushed_early_ = false;  // what else the primary answers is expected now
  if (!co_await write_primary(bytes)) co_return false;
  co_return co_await complete_unit();
}

awaitable<std::vector<std::string>> session::tables_to_serialize(const shadow::unit& u) {
  std::vector<std::string> out;
  const auto& listed = runtime_->serialize_tables;
  for (const auto& table : u.serialize_keys) {
    if (std::find(listed.begin(), listed.end(), table) != listed.end()) {
      out.push_back(table);
      continue;
    }
    std::optional<bool> known = owner_.shared().sequence_tables.find(table);
    if (!known) {
      known = co_await table_has_sequence(table);
      if (known) owner_.shared().sequence_tables.store(table, *known);
    }
    if (known.value_or(true)) out.push_back(table);  // unknown: assume it has one
  }
  co_return out;
}

awaitable<std::optional<std::string>> session::ask_primary(std::string sql) {
  using namespace asio::experimental::awaitable_operators;
  // Bounded like every wait for the dual-write machinery.
  asio::steady_timer deadline{owner_.context(), runtime_->cfg.shadow.lag_bound};
  auto answer = co_await (ask_text(login_for(primary_is_new_), std::move(sql)) ||
                          deadline.async_wait(use_nothrow));
  if (answer.index() != 0) co_return std::nullopt;
  co_return std::get<0>(answer);
}

awaitable<std::optional<bool>> session::table_has_sequence(const std::string& table) {
  // Unknown (timed out, say): the caller serialises the table, which is always safe.
  std::string sql = sequence_probe_sql(table);
  const std::optional<std::string> answer = co_await ask_primary(std::move(sql));
  if (!answer) {
    spdlog::warn("{} sequence probe for {} failed; serialising its inserts", log_prefix(), table);
    co_return std::nullopt;
  }
  co_return *answer == "t";
}

awaitable<std::optional<std::vector<std::int32_t>>> session::primary_blockers_of(std::int32_t holder) {
  std::string sql = blockers_sql(holder);
  const std::optional<std::string> answer = co_await ask_primary(std::move(sql));
  if (!answer) {
    // Treated as "no cycle": the waiter keeps waiting, and asks again next interval.
    spdlog::warn("{} deadlock check: the primary did not say what backend {} waits for",
                 log_prefix(), holder);
    co_return std::nullopt;
  }
  co_return parse_pids(*answer);
}

awaitable<bool> session::refuse_deadlocked_unit(const std::vector<std::string>& tables) {
  spdlog::warn("{} deadlock: waiting for the write order on {} while its holder waits on the "
               "primary for this transaction; the statement fails with 40P01",
               log_prefix(), fmt::join(tables, ", "));
  owner_.shared().serialization_deadlocks.fetch_add(1, std::memory_order_relaxed);
  expected_.push_back(expectation::unit);
  // Built before the co_await: with these nested temporaries inside its operand, GCC 12
  // resumed this coroutine at an invalid point (SIGILL).
  const std::vector<std::byte> error = simple_query(deadlock_error_sql(tables));
  const bool sent = co_await write_primary(error);
  if (!sent) co_return false;
  const char event = co_await wait_primary_event();
  if (event == 0) co_return false;
  (void)units_->take();  // nothing of it ran on the primary: nothing for the shadow
  co_return true;
}

awaitable<bool> session::complete_unit() {
  const char event = co_await wait_primary_event();
  if (event == 0) co_return false;
  if (event == 'G') {
    copy_in_progress_ = true;
    co_return true;
  }
  co_return co_await finish_unit(event == 'W');
}

awaitable<bool> session::finish_unit(bool wrapped) {
  const auto& settings = runtime_->cfg.shadow;
  const int phase = applied_phase_;
  const auto bound = [&settings] { return clock::now() + settings.lag_bound; };
  const bool shadowed = shadow_ && shadow_->connected();
  if (units_->current().ddl) owner_.shared().sequence_tables.clear();  // serial columns may change
  if (!wrapped) {
    hand_sample_to_shadow(phase);
    shadow::unit done = units_->take();
    const bool changes = done.to_shadow && !shadow::only_begins_transaction(done);
    transaction_changed_ = done.primary.status() != 'I' && (transaction_changed_ || changes);
    if (shadowed && done.to_shadow) {
      shadow_->enqueue(shadow::make_shadow_job(done), phase);
      if (auto catch_up = shadow::make_sequence_catch_up_job(done, done.primary.status() != 'I'))
        shadow_->enqueue(std::move(*catch_up), phase);
      if (auto index_build = shadow::make_failed_index_build_job(done))
        shadow_->enqueue(std::move(*index_build), phase);
      // Serialised writes keep their table locked until the shadow has run them too.
      if (!held_locks_.empty()) co_await shadow_->wait_caught_up(bound(), phase);
    }
    release_table_locks();
    co_return state_ != session_state::closing;
  }
  // An autocommit write wrapped in BEGIN on the primary: it succeeded there ('T'), so the
  // shadow runs it inside its own BEGIN, and only once the shadow holds its locks does the
  // primary commit. A failure rolls back on the primary only; the shadow never saw it.
  shadow::unit done = units_->take();
  transaction_changed_ = false;  // an autocommit write: no transaction stays open
  const bool succeeded = done.primary.status() == 'T' && !done.primary.error();
  if (succeeded && shadowed) {
    shadow::shadow_job job = shadow::make_shadow_job(done);
    shadow::shadow_job begin = shadow::make_control_job("BEGIN", "BEGIN");
    job.bytes.insert(job.bytes.begin(), begin.bytes.begin(), begin.bytes.end());
    job.types.insert(job.types.begin(), 'Q');
    job.expected.insert(job.expected.begin(), begin.expected.front());
    job.wrapped = true;
    (void)shadow_->take_wrapped_rollback();  // an earlier write's verdict never applies here
    shadow_->enqueue(std::move(job), phase);
    co_await shadow_->wait_caught_up(bound(), phase);
  } else if (shadowed) {
    // Failed on the primary: the shadow gets nothing, except the named statements prepared
    // before the failure (they outlive the rollback) and a sequence value it may owe.
    if (auto statements = shadow::make_named_statement_job(done))
      shadow_->enqueue(std::move(*statements), phase);
    if (auto catch_up = shadow::make_sequence_catch_up_job(done, false)) {
      shadow_->enqueue(std::move(*catch_up), phase);
      if (!held_locks_.empty()) co_await shadow_->wait_caught_up(bound(), phase);
    }
  }
  release_table_locks();
  if (state_ == session_state::closing) co_return false;
  commit_failed_ = false;
  expected_.push_back(succeeded ? expectation::commit : expectation::rollback);
  if (!co_await write_primary(simple_query(succeeded ? "COMMIT" : "ROLLBACK"))) co_return false;
  if (co_await wait_primary_event() == 0) co_return false;
  if (succeeded && shadow_ && shadow_->connected()) {
    const bool undo = shadow_->take_wrapped_rollback() || commit_failed_;
    shadow_->enqueue(undo ? shadow::make_control_job("ROLLBACK", "ROLLBACK")
                          : shadow::make_control_job("COMMIT", "COMMIT"),
                     phase);
  }
  co_return true;
}

bool session::feed_unit_answer(char type, std::span<const std::byte> body, bool whole) {
  shadow::unit& u = units_->current();
  bool done = false;
  if (whole) {
    // Rows are hashed only for units the shadow gets (RETURNING); reads stream past.
    if (type != 'D' || u.to_shadow) done = u.primary.on_message(type, body);
  } else if (type == 'D' && u.to_shadow) {
    u.primary.on_unread_row();
  }
  if (sample_) {
    sample_->on_message(compare::result_side::primary, type, body, whole);
    if (whole && type == 'Z' && done)
      sample_->primary_latency = std::chrono::duration_cast<std::chrono::microseconds>(
          clock::now() - sample_->primary_sent);
  }
  return done;
}

void session::on_dual_message(char type, std::span<const std::byte> body, bool whole,
                              bool& forward) {
  forward = true;
  if (whole && type == protocol::backend_type::error_response) on_backend_message(type, body);
  if (expected_.empty()) {
    if (unit_flushed_early_) {
      (void)feed_unit_answer(type, body, whole);
      return;
    }
    // Between units: notifications, notices, parameter changes. Relayed as they come.
    if (whole && type == 'Z') boundary_.on_ready_for_query(body.empty() ? 'I' : static_cast<char>(body[0]));
    return;
  }
  const char status = whole && type == 'Z' && !body.empty() ? static_cast<char>(body[0]) : 'I';
  switch (expected_.front()) {
    case expectation::swallow:  // the BEGIN the proxy put before a wrapped write
      forward = false;
      if (whole && type == 'Z') expected_.erase(expected_.begin());
      return;
    case expectation::unit:
    case expectation::unit_wrapped:
    case expectation::piece: {
      const bool done = feed_unit_answer(type, body, whole);
      if (whole && type == 'G') dual_pending_event_ = 'G';
      if (whole && type == protocol::backend_type::error_response &&
          expected_.front() == expectation::piece)
        piece_failed_ = true;
      if (whole && type == 'Z') {
        if (!done) {
          boundary_.on_ready_for_query(status);
          return;
        }
        const bool wrapped = expected_.front() == expectation::unit_wrapped;
        // A piece of a split Query that went as planned: the next piece's answer follows.
        if (expected_.front() == expectation::piece && !piece_failed_ && status == piece_status_)
          forward = false;
        expected_.erase(expected_.begin());
        if (wrapped) {
          forward = false;  // the client gets the COMMIT's ReadyForQuery instead
          dual_pending_event_ = 'W';
        } else {
          boundary_.on_ready_for_query(status);
          dual_pending_event_ = 'Z';
        }
      }
      return;
    }
    case expectation::commit:
    case expectation::rollback:
      if (whole && type == protocol::backend_type::error_response) {
        commit_failed_ = true;  // the client learns it: the write did not commit after all
        return;
      }
      if (whole && type == 'Z') {
        expected_.erase(expected_.begin());
        boundary_.on_ready_for_query(status);
        dual_pending_event_ = 'Z';
        return;
      }
      // Only the CommandComplete is the proxy's own. Notices raised at commit (deferred
      // constraint triggers), notifications delivered at commit (the session's own NOTIFY)
      // and parameter reports belong to the client's statement: PostgreSQL would have sent
      // them in its answer.
      forward = type == protocol::backend_type::notice_response ||
                type == protocol::backend_type::notification_response ||
                type == protocol::backend_type::parameter_status;
      return;
  }
}

awaitable<void> session::relay_primary_dual(std::uint64_t generation) {
  backend_scanner_.set_inspected(streamed_in_dual_mode, true, true);
  bool forward_streamed = true;  // the decision for a message streamed in pieces
  for (;;) {
    const auto read = co_await read_primary(generation);
    if (!read) co_return;
    const auto& bytes = *read;
    if (!bytes) {
      // Messages are forwarded whole (or streamed from a boundary), so unless a streamed one
      // is cut, the client can take an ErrorResponse: a query waiting for its answer gets
      // 08006 rather than a bare close.
      co_await on_backend_lost(bytes.error(), backend_scanner_.at_message_boundary());
      co_return;
    }
    backend_carry_.insert(backend_carry_.end(), bytes->begin(), bytes->end());
    dual_out_.clear();
    std::size_t used = 0;
    while (used < backend_carry_.size()) {
      const bool starts_message = backend_scanner_.at_message_boundary();
      auto step = backend_scanner_.next(std::span<const std::byte>{backend_carry_}.subspan(used));
      if (!step) {
        spdlog::error("{} backend protocol violation: {}", log_prefix(), step.error().message());
        co_await fail_client(sqlstate::protocol_violation, "backend sent an invalid message");
        co_return;
      }
      if (step->what == protocol::scan_step::kind::need_more) break;
      bool forward = true;
      if (step->what == protocol::scan_step::kind::message) {
        on_dual_message(step->message.type, step->message.body, true, forward);
      } else {
        if (starts_message)
          on_dual_message(backend_scanner_.streamed_type(), {}, false, forward_streamed);
        forward = forward_streamed;
      }
      if (forward)
        dual_out_.insert(dual_out_.end(), backend_carry_.begin() + static_cast<std::ptrdiff_t>(used),
                         backend_carry_.begin() + static_cast<std::ptrdiff_t>(used + step->size));
      used += step->size;
    }
    backend_carry_.erase(backend_carry_.begin(),
                         backend_carry_.begin() + static_cast<std::ptrdiff_t>(used));
    if (!dual_out_.empty()) {
      if (auto ec = co_await client_->write(dual_out_)) {
        on_client_gone(ec);
        co_return;
      }
    }
    // Only now, with the answer at the client, may the client coroutine go on.
    if (dual_pending_event_ != 0) {
      dual_event_ = dual_pending_event_;
      dual_pending_event_ = 0;
      dual_signal_.cancel();
    }
    if (boundary_.idle() && expected_.empty() && units_->empty()) {
      if (draining_) {
        begin_shutdown();
        co_return;
      }
      if (runtime_->cfg.limits.idle_timeout.count() > 0 && !idle_armed_) arm_idle_timeout();
    }
  }
}

awaitable<std::optional<backend_connection>> session::open_backend(bool to_new,
                                                                   std::string& failure) {
  backend_outcome outcome = co_await connect_backend(login_for(to_new));
  if (!outcome.connection) {
    failure = outcome.failure.message;
    co_return std::nullopt;
  }
  const std::vector<std::byte> replay = units_->replay_bytes();
  if (!replay.empty()) {
    std::vector<std::byte> carry = std::move(outcome.connection->leftover);
    // Answers are dropped: statements that failed on the primary fail here too.
    std::size_t ready_owed = 0;
    for (char type : shadow::frontend_frame_types(replay))
      if (type == 'Q' || type == 'S') ++ready_owed;
    if (co_await outcome.connection->io->write(replay) ||
        !co_await read_until_ready(*outcome.connection->io, ready_owed, carry, {})) {
      failure = "lost while replaying the session's state";
      co_return std::nullopt;
    }
    outcome.connection->leftover = std::move(carry);
  }
  co_return std::move(outcome.connection);
}

awaitable<bool> session::adapt_to_phase() {
  const int phase = owner_.shared().phase.load();
  const bool want_new = phase >= 3;
  const bool want_shadow = phase >= 1 && phase <= 3;
  if (want_new != primary_is_new_) {
    std::optional<backend_connection> next;
    if (shadow_ && shadow_->connected() && shadow_->caught_up()) next = shadow_->release();
    if (!next) {
      std::string failure;
      next = co_await open_backend(want_new, failure);
      if (state_ == session_state::closing) co_return false;
      if (!next) {
        ++owner_.stats().backend_failures;
        co_await fail_client(sqlstate::connection_failure,
                             "cannot reach the new primary: " + failure);
        co_return false;
      }
    }
    backend_connection old = std::move(*primary_);
    old.leftover = std::move(backend_carry_);
    backend_carry_ = std::move(next->leftover);
    primary_ = std::move(next);
    owner_.shared().cancels->update(*cancel_key_, primary_->cancel);
    primary_is_new_ = want_new;
    spdlog::info("{} primary is now {}", log_prefix(), want_new ? "NEW" : "OLD");
    if (want_shadow) {
      if (!shadow_) {
        shadow_link::identity who{id_, client_->peer(), user_name_, database_};
        shadow_ = std::make_shared<shadow_link>(owner_.context(), owner_.shared(), std::move(who));
      }
      shadow_->adopt(std::move(old));
    } else {
      send_terminate(*old.io);
      old.io->close();
    }
  } else if (!want_shadow && shadow_) {
    shadow_->finish(runtime_->cfg.shadow.lag_bound);
    shadow_.reset();
  }
  applied_phase_ = phase;
  co_return true;
}

}  // namespace dw::proxy
