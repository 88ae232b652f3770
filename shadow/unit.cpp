#include "shadow/unit.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <variant>

#include "protocol/frontend_messages.hpp"
#include "shadow/job_building.hpp"
#include "shadow/masked_numbers.hpp"

namespace dw::shadow {
namespace msg = dw::protocol;

std::vector<std::size_t> statement_starts(const statement_ref& s) {
  std::vector<std::size_t> out;
  if (s.plan->nondeterministic) {
    compare::classify_options o;
    o.fingerprint = false;
    for (const auto& st : compare::classify(*s.sql, o).statements) out.push_back(st.location);
    if (out.size() == s.plan->parts.size()) return out;
    out.clear();
  }
  for (const auto& p : s.plan->parts) out.push_back(p.location);
  return out;
}

std::span<const std::byte> kept_frame(const unit& u, const unit_message& m) {
  return {u.shadow_bytes.data() + m.begin, m.end - m.begin};
}

void append_frame(shadow_job& job, char type, std::span<const std::byte> frame) {
  job.bytes.insert(job.bytes.end(), frame.begin(), frame.end());
  job.types.push_back(type);
}

void append_query(shadow_job& job, std::string_view sql) {
  std::vector<std::byte> q;
  msg::write_query(q, sql);
  append_frame(job, 'Q', q);
}

void append_sync(shadow_job& job) {
  std::vector<std::byte> s;
  msg::write_sync(s);
  append_frame(job, 'S', s);
}

namespace {

std::string_view as_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A statement the proxy never saw prepared (its Parse came before tracking began): assume
// the worst, a write that needs order.
statement_ref unknown_statement() {
  static const auto plan = [] {
    auto p = std::make_shared<statement_plan>();
    p->to_shadow = p->needs_order = true;
    p->parts.push_back({});
    return p;
  }();
  return {plan, std::make_shared<const std::string>()};
}

// Cheap test for the phase-0 path: could this Query change session state?
bool may_be_session_state(std::string_view sql) {
  std::size_t i = 0;
  while (i < sql.size() && (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n' || sql[i] == '\r'))
    ++i;
  const std::string_view rest = sql.substr(i, 12);
  std::string head;
  for (char c : rest) head.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
  for (std::string_view word : {"SET", "RESET", "PREPARE", "DEALLOCATE", "DISCARD", "LISTEN",
                                "UNLISTEN", "CREATE TEMP", "LOAD"})
    if (head.starts_with(word)) return true;
  return false;
}

// What a fresh connection must run of a replayable text: only its session-state statements.
// "SET search_path TO app; INSERT ..." must not insert again when a shadow attaches.
std::string replay_text(const statement_ref& s) {
  const auto& parts = s.plan->parts;
  if (std::all_of(parts.begin(), parts.end(), [](const auto& p) { return p.replayable; }))
    return *s.sql;
  const std::string_view sql = *s.sql;
  const auto starts = statement_starts(s);
  std::string out;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (!parts[k].replayable) continue;
    const std::size_t end = k + 1 < starts.size() ? starts[k + 1] : sql.size();
    if (starts[k] <= end && end <= sql.size()) out += sql.substr(starts[k], end - starts[k]);
  }
  return out;
}

// Whether a replayable text creates a temporary object among its replayed statements.
bool creates_object(const statement_plan& plan) {
  return std::any_of(plan.parts.begin(), plan.parts.end(),
                     [](const auto& p) { return p.replayable && p.creates_object; });
}

}  // namespace

unit_builder::unit_builder(options o) : options_{std::move(o)} {}

statement_ref unit_builder::plan_for(std::string_view sql) {
  // Applications repeat their statements (parameters, not literals, vary), and parsing costs
  // tens of microseconds; one cache per thread, emptied when full or when the options change.
  struct cache {
    const std::string* functions = nullptr;
    const std::string* tables = nullptr;
    bool sequences = false;
    std::unordered_map<std::string, statement_ref> plans;
  };
  thread_local cache cached;
  constexpr std::size_t max_cached = 4096;
  constexpr std::size_t max_cached_text = 4096;
  const plan_options& o = options_.planning;
  if (cached.functions != o.read_only_functions.data() || cached.tables != o.serialize_tables.data() ||
      cached.sequences != o.serialize_sequences || cached.plans.size() >= max_cached) {
    cached.plans.clear();
    cached.functions = o.read_only_functions.data();
    cached.tables = o.serialize_tables.data();
    cached.sequences = o.serialize_sequences;
  }
  // The text planned last in this unit: split_for_order() and add() plan every Query in
  // turn, and texts too long for the cache would otherwise be parsed twice.
  if (last_planned_.sql && *last_planned_.sql == sql) return last_planned_;
  const std::string key{sql};
  if (auto it = cached.plans.find(key); it != cached.plans.end()) return last_planned_ = it->second;
  // Texts that differ only in numbers share a plan under their masked form, which starts
  // with a NUL byte so that it can never equal a text (protocol strings hold none). Only
  // one-statement texts: a later statement's location moves with the numbers' lengths.
  std::optional<std::string> masked_key;
  if (sql.size() <= max_cached_text) {
    if (auto masked = masked_numbers(sql)) {
      masked_key = '\0' + std::move(*masked);
      if (auto it = cached.plans.find(*masked_key); it != cached.plans.end())
        return last_planned_ = statement_ref{it->second.plan, std::make_shared<const std::string>(sql)};
    }
  }
  statement_ref ref{std::make_shared<const statement_plan>(plan_statement(sql, o)),
                    std::make_shared<const std::string>(sql)};
  const auto& parts = ref.plan->parts;
  const bool one_statement = parts.size() == 1 && parts.front().location == 0;
  if (masked_key && one_statement) {
    cached.plans.emplace(std::move(*masked_key), ref);
  } else if (sql.size() <= max_cached_text) {
    cached.plans.emplace(key, ref);
  }
  return last_planned_ = ref;
}

void unit_builder::keep(const unit_message& m, std::span<const std::byte> wire) {
  unit_message kept = m;
  if (kept.to_shadow && !unit_.overflow) {
    if (unit_.shadow_bytes.size() + wire.size() > options_.max_unit_bytes) {
      unit_.overflow = true;
      std::vector<std::byte>{}.swap(unit_.shadow_bytes);
    } else {
      kept.begin = unit_.shadow_bytes.size();
      unit_.shadow_bytes.insert(unit_.shadow_bytes.end(), wire.begin(), wire.end());
      kept.end = unit_.shadow_bytes.size();
    }
  }
  if (kept.to_shadow) {
    unit_.to_shadow = true;
    if (!unit_.first.plan && kept.statement.plan && kept.type != 'P' && kept.type != 'B')
      unit_.first = kept.statement;
  }
  unit_.messages.push_back(std::move(kept));
  unit_.primary.expect(m.type);
}

unit_builder::step unit_builder::add(const msg::frame& f, std::span<const std::byte> wire,
                                     std::vector<std::byte>& forward) {
  forward.clear();
  unit_message m;
  m.type = f.type;
  std::span<const std::byte> sent = wire;
  auto decoded = msg::decode_frontend(f);
  // A frame the proxy cannot read is still the server's to judge: forward it, and let the
  // shadow have it too, so the two sides see the same thing.
  if (!decoded) {
    m.to_shadow = unit_.to_shadow;
    keep(m, wire);
    forward.assign(wire.begin(), wire.end());
    return f.type == 'Q' || f.type == 'S' || f.type == 'F' ? step::unit_end : step::more;
  }
  const auto summarise = [this](const statement_plan& p) {
    if (!p.to_shadow) return;
    unit_.needs_order = unit_.needs_order || p.needs_order;
    unit_.commits = unit_.commits || p.commits;
    unit_.tx_control = unit_.tx_control || p.tx_control;
    unit_.outside_transaction = unit_.outside_transaction || p.outside_transaction;
    unit_.ddl = unit_.ddl || p.ddl;
    for (const auto& k : p.serialize_keys)
      if (std::find(unit_.serialize_keys.begin(), unit_.serialize_keys.end(), k) ==
          unit_.serialize_keys.end())
        unit_.serialize_keys.push_back(k);
  };
  step result = step::more;
  std::vector<std::byte> rewritten;
  const auto rewrite = [&](std::string_view sql) -> std::string {
    if (!options_.rewrite_nondeterministic || !options_.values) return std::string{sql};
    auto r = compare::rewrite_nondeterministic(sql, options_.values());
    return r.replaced > 0 ? std::move(r.sql) : std::string{sql};
  };
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, msg::query>) {
          m.statement = plan_for(v.sql);
          if (m.statement.plan->to_shadow && m.statement.plan->nondeterministic) {
            std::string text = rewrite(v.sql);
            if (text != v.sql) {
              msg::write_query(rewritten, text);
              m.statement.sql = std::make_shared<const std::string>(std::move(text));
            }
          }
          m.to_shadow = m.statement.plan->to_shadow;
          last_statement_to_shadow_ = m.to_shadow;
          summarise(*m.statement.plan);
          result = step::unit_end;
        } else if constexpr (std::is_same_v<T, msg::parse>) {
          m.statement = plan_for(v.sql);
          m.named_parse = !v.statement.empty();
          // Unnamed statements run once: their now() can be frozen. Named ones cannot.
          if (!m.named_parse && m.statement.plan->to_shadow && m.statement.plan->nondeterministic) {
            std::string text = rewrite(v.sql);
            if (text != v.sql) {
              msg::parse p = v;
              p.sql = text;
              msg::write_parse(rewritten, p);
              m.statement.sql = std::make_shared<const std::string>(std::move(text));
            }
          }
          // Named statements go to the shadow whatever they do: after a flip it answers them.
          m.to_shadow = m.statement.plan->to_shadow || m.named_parse;
          statements_.insert_or_assign(std::string{v.statement}, m.statement);
        } else if constexpr (std::is_same_v<T, msg::bind>) {
          auto it = statements_.find(v.statement);
          m.statement = it != statements_.end() ? it->second : unknown_statement();
          m.to_shadow = m.statement.plan->to_shadow;
          portals_.insert_or_assign(std::string{v.portal}, m.statement);
          if (m.to_shadow && !unit_.first.plan) {
            unit_.parameters.clear();
            for (const auto& p : v.params) {
              if (p) unit_.parameters.emplace_back(bytes(p->begin(), p->end()));
              else unit_.parameters.emplace_back(std::nullopt);
            }
            unit_.parameter_formats = v.param_formats;
          }
        } else if constexpr (std::is_same_v<T, msg::execute>) {
          auto it = portals_.find(v.portal);
          m.statement = it != portals_.end() ? it->second : unknown_statement();
          m.to_shadow = m.statement.plan->to_shadow;
          last_statement_to_shadow_ = m.to_shadow;
          summarise(*m.statement.plan);
        } else if constexpr (std::is_same_v<T, msg::close>) {
          auto& names = v.kind == 'S' ? statements_ : portals_;
          auto it = names.find(v.name);
          if (it != names.end()) {
            m.to_shadow = it->second.plan->to_shadow || (v.kind == 'S' && !v.name.empty());
            names.erase(it);
          }
          m.named_parse = v.kind == 'S' && !v.name.empty();
        } else if constexpr (std::is_same_v<T, msg::sync>) {
          m.to_shadow = unit_.to_shadow;
          result = step::unit_end;
        } else if constexpr (std::is_same_v<T, msg::flush>) {
          unit_.has_flush = true;
        } else if constexpr (std::is_same_v<T, msg::function_call>) {
          m.to_shadow = true;
          unit_.needs_order = true;
          result = step::unit_end;
        } else if constexpr (std::is_same_v<T, msg::copy_data> || std::is_same_v<T, msg::copy_done> ||
                             std::is_same_v<T, msg::copy_fail>) {
          // The data follows the statement that started the COPY: a Query, or an Execute.
          m.to_shadow = last_statement_to_shadow_;
          if (!std::is_same_v<T, msg::copy_data>) result = step::unit_end;
        }
      },
      *decoded);
  if (!rewritten.empty()) sent = rewritten;
  keep(m, sent);
  forward.assign(sent.begin(), sent.end());
  return result;
}

void unit_builder::remember_state(std::string key, std::span<const std::byte> wire,
                                  bool is_parse, bool creates_object) {
  forget_state(key);
  replay_size_ += wire.size();
  replay_.insert_or_assign(std::move(key), replay_entry{replay_order_++,
                                                        {wire.begin(), wire.end()},
                                                        is_parse,
                                                        creates_object});
}

void unit_builder::forget_state(const std::string& key) {
  auto it = replay_.find(key);
  if (it == replay_.end()) return;
  replay_size_ -= it->second.frame.size();
  replay_.erase(it);
  ++replay_order_;  // the replay changed: replay_version() moves on
}

unit unit_builder::take() {
  unit done = std::move(unit_);
  unit_ = unit{};
  last_planned_ = {};  // a long text is not kept alive past its unit
  const auto& err = done.primary.error();
  // A misbehaving server can send an error after the last message: clamp.
  const std::size_t applied = err ? std::min(err->message, done.messages.size()) : done.messages.size();
  const bool rolled_back = err && done.primary.status() == 'I';
  for (std::size_t i = 0; i < applied && !done.overflow; ++i) {
    const unit_message& m = done.messages[i];
    const std::span<const std::byte> frame = kept_frame(done, m);
    // A Parse or Close the shadow did not get (a Close of a statement it never had) has no
    // bytes here, and nothing to replay or forget.
    if ((m.type == 'P' || m.type == 'C') && (!m.to_shadow || frame.size() < 5)) continue;
    if (m.type == 'P' && m.named_parse) {
      auto decoded = msg::decode_frontend(msg::frame{'P', frame.subspan(5), frame.size()});
      if (decoded) remember_state("P" + std::string{std::get<msg::parse>(*decoded).statement},
                                  frame, true);
    } else if (m.type == 'C' && m.named_parse) {
      auto decoded = msg::decode_frontend(msg::frame{'C', frame.subspan(5), frame.size()});
      if (decoded) forget_state("P" + std::string{std::get<msg::close>(*decoded).name});
    } else if (!rolled_back && m.statement.plan && m.statement.plan->replayable &&
               (m.type == 'Q' || m.type == 'E')) {
      std::string text = replay_text(m.statement);
      if (text.empty()) continue;
      std::vector<std::byte> q;
      msg::write_query(q, text);
      remember_state("Q" + text, q, false, creates_object(*m.statement.plan));
    }
  }
  return done;
}

void unit_builder::note_passthrough(const msg::frame& f, std::span<const std::byte> wire) {
  if (f.type == 'P') {
    auto decoded = msg::decode_frontend(f);
    if (!decoded) return;
    const auto& p = std::get<msg::parse>(*decoded);
    if (p.statement.empty()) return;
    statements_.insert_or_assign(std::string{p.statement}, plan_for(p.sql));
    remember_state("P" + std::string{p.statement}, wire, true);
  } else if (f.type == 'C') {
    auto decoded = msg::decode_frontend(f);
    if (!decoded) return;
    const auto& c = std::get<msg::close>(*decoded);
    if (c.kind != 'S' || c.name.empty()) return;
    statements_.erase(std::string{c.name});
    forget_state("P" + std::string{c.name});
  } else if (f.type == 'Q') {
    const std::string_view sql = as_text(f.body.first(f.body.empty() ? 0 : f.body.size() - 1));
    if (!may_be_session_state(sql)) return;
    const statement_ref ref = plan_for(sql);
    if (!ref.plan->replayable) return;
    std::string text = replay_text(ref);
    if (text.empty()) return;
    const bool creates = creates_object(*ref.plan);
    if (text == sql) {
      remember_state("Q" + text, wire, false, creates);
    } else {
      std::vector<std::byte> q;
      msg::write_query(q, text);
      remember_state("Q" + text, q, false, creates);
    }
  }
}

std::vector<std::byte> unit_builder::replay_bytes(replay_use use) const {
  std::vector<const replay_entry*> ordered;
  for (const auto& [key, e] : replay_)
    if (use == replay_use::shadow_connection || !e.creates_object) ordered.push_back(&e);
  std::sort(ordered.begin(), ordered.end(),
            [](const replay_entry* a, const replay_entry* b) { return a->order < b->order; });
  std::vector<std::byte> out;
  bool any_parse = false;
  for (const auto* e : ordered) {
    out.insert(out.end(), e->frame.begin(), e->frame.end());
    any_parse = any_parse || e->is_parse;
  }
  if (any_parse) msg::write_sync(out);
  return out;
}

namespace {

void append_rollback(shadow_job& job) {
  append_query(job, "ROLLBACK");
  job.expected.push_back({"ROLLBACK", 0, false});
}

// What the shadow runs for a COMMIT the primary answered with ROLLBACK (its transaction had
// failed). COMMIT AND CHAIN then still starts the next transaction, with the same
// characteristics (READ WRITE, isolation level), so the shadow's must chain too.
std::string_view rollback_for(const statement_plan& commit) {
  return !commit.parts.empty() && commit.parts[0].chain ? "ROLLBACK AND CHAIN" : "ROLLBACK";
}

}  // namespace

shadow_job make_shadow_job(const unit& u) {
  shadow_job job;
  job.statement = u.first;
  job.parameters = u.parameters;
  job.parameter_formats = u.parameter_formats;
  if (u.overflow) {
    job.overflow = true;
    return job;
  }
  const reply_tracker& p = u.primary;
  const auto& err = p.error();
  job.primary_error = err;
  job.ends_at_boundary = p.status() == 'I';
  const bool rolled_back = err && p.status() == 'I';
  const auto results_of = [&p](std::size_t message) {
    std::vector<const statement_result*> out;
    for (const auto& r : p.results())
      if (r.message == message) out.push_back(&r);
    return out;
  };
  const auto expect = [&job](const statement_result& r, bool compare_rows) {
    job.expected.push_back({r.tag, r.row_hash, compare_rows && r.rows_hashed});
  };

  for (std::size_t i = 0; i < u.messages.size(); ++i) {
    const unit_message& m = u.messages[i];
    if (!m.to_shadow) continue;
    const bool failed_here = err && err->message == i;
    const bool after_failure = err && i > err->message;
    const std::span<const std::byte> frame = kept_frame(u, m);
    // A frame the proxy could not decode has no statement: it takes the plain path below.
    if (m.type == 'Q' && m.statement.plan) {
      const auto& plan = *m.statement.plan;
      const auto results = results_of(i);
      std::size_t keep = results.size();  // statements that completed
      // A COMMIT (or PREPARE TRANSACTION) that failed ended the transaction on the primary.
      // The shadow ran the transaction's statements and still holds them: it rolls back.
      const bool end_failed = failed_here && rolled_back && keep < plan.parts.size() &&
                              plan.parts[keep].ends_transaction;
      if (failed_here && rolled_back) {
        // The implicit transaction rolled back: only what an explicit COMMIT/ROLLBACK inside
        // the string already ended stays done.
        std::size_t last_end = 0;
        for (std::size_t k = 0; k < keep && k < plan.parts.size(); ++k)
          if (plan.parts[k].ends_transaction) last_end = k + 1;
        keep = last_end;
      }
      if (!failed_here && plan.commits && plan.parts.size() == 1 && !results.empty() &&
          results[0]->tag == "ROLLBACK") {
        // COMMIT of a transaction that failed on the primary: the shadow's (which never ran
        // the failed statement) must roll back too, and chain as the primary did.
        append_query(job, rollback_for(plan));
        expect(*results[0], false);
        continue;
      }
      if (keep == 0 && failed_here) {
        if (end_failed) append_rollback(job);
        continue;
      }
      if (failed_here) {
        const auto starts = statement_starts(m.statement);
        const std::size_t cut = keep < starts.size() ? starts[keep] : m.statement.sql->size();
        append_query(job, std::string_view{*m.statement.sql}.substr(0, cut));
      } else {
        append_frame(job, 'Q', frame);
      }
      // COPY data and its end follow the Query that started it, when the COPY is kept.
      const auto kept_end = results.begin() + static_cast<std::ptrdiff_t>(keep);
      const bool copy_kept =
          !failed_here || std::any_of(results.begin(), kept_end, [](const statement_result* r) {
            return r->tag.starts_with("COPY ");
          });
      for (std::size_t j = i + 1;
           copy_kept && j < u.messages.size() && u.messages[j].type != 'Q'; ++j) {
        const auto& c = u.messages[j];
        if (c.to_shadow)
          append_frame(job, c.type, kept_frame(u, c));
      }
      for (std::size_t k = 0; k < keep; ++k)
        expect(*results[k], k < plan.parts.size() && plan.parts[k].compare_rows);
      if (end_failed) append_rollback(job);
      continue;
    }
    // COPY data of a simple Query went out with it; that of an Execute is taken as it comes.
    if ((m.type == 'd' || m.type == 'c' || m.type == 'f') && u.messages.front().type == 'Q')
      continue;
    if (m.type == 'S') {
      if (!job.bytes.empty()) append_frame(job, 'S', frame);
      continue;
    }
    if (failed_here && rolled_back && m.type == 'E' && m.statement.plan &&
        !m.statement.plan->parts.empty() &&
        m.statement.plan->parts[0].ends_transaction) {
      append_rollback(job);  // a failed COMMIT, as for a Query above
      continue;
    }
    if (failed_here || after_failure) continue;
    if (rolled_back && !m.named_parse) continue;
    if (m.type == 'E' && m.statement.plan) {
      const auto results = results_of(i);
      const auto& plan = *m.statement.plan;
      if (plan.commits && !results.empty() && results[0]->tag == "ROLLBACK") {
        append_query(job, rollback_for(plan));
        expect(*results[0], false);
        continue;
      }
      append_frame(job, 'E', frame);
      for (const auto* r : results)
        expect(*r, !plan.parts.empty() && plan.parts[0].compare_rows);
      continue;
    }
    append_frame(job, m.type, frame);
    for (const auto* r : results_of(i)) expect(*r, false);  // an undecodable Query or Execute
  }
  return job;
}

bool only_begins_transaction(const unit& u) {
  bool any = false;
  for (const auto& m : u.messages) {
    if (!m.statement.plan) continue;
    for (const auto& part : m.statement.plan->parts) {
      if (!part.begins) return false;
      any = true;
    }
  }
  return any;
}

std::vector<char> frontend_frame_types(std::span<const std::byte> frames) {
  msg::frame_decoder decoder{msg::direction::frontend, {}};
  decoder.expect_typed_messages();
  std::vector<char> types;
  while (!frames.empty()) {
    auto f = decoder.next(frames);
    if (!f || !*f) break;
    types.push_back((*f)->type);
    frames = frames.subspan((*f)->wire_size);
  }
  return types;
}

shadow_job make_replay_job(std::vector<std::byte> frames) {
  shadow_job job;
  job.types = frontend_frame_types(frames);
  job.bytes = std::move(frames);
  job.units = 0;
  job.ends_at_boundary = true;
  job.compare_answers = false;  // statements that failed on the primary fail here too
  return job;
}

shadow_job make_control_job(std::string_view sql, std::string_view tag) {
  shadow_job job;
  append_query(job, sql);
  job.expected.push_back({std::string{tag}, 0, false});
  job.ends_at_boundary = tag != "BEGIN";
  job.units = 0;
  return job;
}

}  // namespace dw::shadow
