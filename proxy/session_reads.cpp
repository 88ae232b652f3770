// Shadow reads (phases 2 and 3; docs/shadow-reads.md): a sampled plain read goes to the
// primary as usual; the primary reader feeds its answer to the sample's differ while
// relaying it, and once the client has it the read is queued on the session's shadow, whose
// link compares the shadow's answer off the client's path (shadow_link::conclude_sample).
#include <random>
#include <unordered_map>

#include "proxy/session.hpp"
#include "proxy/shadow_link.hpp"
#include "proxy/worker.hpp"
#include "shadow/redaction.hpp"

namespace dw::proxy {
namespace {

using clock = std::chrono::steady_clock;

struct read_info {
  std::uint64_t fingerprint = 0;
  compare::read_shape shape;
  shadow::redaction_mode mode = shadow::redaction_mode::values_and_literals;
  std::shared_ptr<const std::string> shown;  ///< the text redacted per `mode`
};

// Applications repeat their reads: fingerprint, shape and redacted text are worked out once
// per text and thread (the cache is dropped whole when it grows past its cap; a reload that
// changes the redaction mode redoes the text).
const read_info& info_for(const std::string& sql, shadow::redaction_mode mode) {
  constexpr std::size_t max_cached = 4096;
  thread_local std::unordered_map<std::string, read_info> cache;
  if (auto it = cache.find(sql); it != cache.end()) {
    if (it->second.mode != mode) {
      it->second.mode = mode;
      it->second.shown = std::make_shared<const std::string>(shadow::redact_statement(sql, mode));
    }
    return it->second;
  }
  if (cache.size() >= max_cached) cache.clear();
  read_info info{shadow::statement_fingerprint(sql), compare::analyze_read(sql), mode,
                 std::make_shared<const std::string>(shadow::redact_statement(sql, mode))};
  return cache.emplace(sql, std::move(info)).first->second;
}

double uniform_draw() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return std::uniform_real_distribution<double>{0.0, 1.0}(random);
}

}  // namespace

awaitable<void> session::maybe_sample(const std::vector<std::byte>& bytes, char status) {
  const shadow::read_sampling& rules = runtime_->read_sampling;
  const auto statement = shadow::sampleable_read(units_->current());
  if (!statement) co_return;
  const read_info& info = info_for(*statement->sql, runtime_->redaction);
  if (info.fingerprint == 0 || !info.shape.single_statement) co_return;
  if (!rules.wants(info.fingerprint, uniform_draw())) co_return;
  shared_state& shared = owner_.shared();
  // A session that only reads has no shadow yet: it opens one here, at a boundary, unless
  // that would take the last shadow connections (a sample is not worth a divergence).
  if (!(shadow_ && shadow_->connected()) && status == 'I' &&
      shared.shadow_connections.load() < runtime_->cfg.shadow.max_connections)
    co_await attach_shadow();
  if (state_ == session_state::closing) co_return;
  if (!shadow_ || !shadow_->connected() || shadow_->diverged() ||
      shadow_->backlog() >= rules.max_pending) {
    shared.read_stats->record_skipped(info.fingerprint, *info.shown, clock::now());
    co_return;
  }
  auto sample = std::make_shared<shadow::read_sample>(shadow::diff_options_for(rules, info.shape));
  sample->fingerprint = info.fingerprint;
  sample->sql = statement->sql;
  sample->shown_sql = info.shown;
  sample->frames = bytes;
  sample->in_transaction = status != 'I';
  sample->after_transaction_changes = sample->in_transaction && transaction_changed_;
  sample->primary_is_new = primary_is_new_;
  shadow::capture_parameters(*sample);
  const rerun_target* known = shadow_->current_rerun_target();
  if (rules.noise_check && (!known || known->replay_version != units_->replay_version() ||
                            known->primary_is_new != primary_is_new_)) {
    auto target = std::make_shared<rerun_target>();
    target->rt = runtime_;
    target->primary = login_for(primary_is_new_);
    target->shadow = login_for(!primary_is_new_);
    target->replay = units_->replay_bytes(shadow::unit_builder::replay_use::read_rerun);
    target->replay_version = units_->replay_version();
    target->primary_is_new = primary_is_new_;
    shadow_->set_rerun_target(std::move(target));
  }
  sample->primary_sent = clock::now();
  sample_ = std::move(sample);
}

void session::hand_sample_to_shadow(int phase) {
  if (!sample_) return;
  std::shared_ptr<shadow::read_sample> sample = std::move(sample_);
  if (shadow_ && shadow_->connected() && !sample->unusable) {
    for (auto& job : shadow::make_sample_jobs(std::move(sample)))
      shadow_->enqueue(std::move(job), phase);
    return;
  }
  owner_.shared().read_stats->record_skipped(sample->fingerprint, *sample->shown_sql,
                                             clock::now());
}

}  // namespace dw::proxy
