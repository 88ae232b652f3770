#include "shadow/reply_tracker.hpp"

#include <charconv>
#include <utility>

#include "protocol/error_fields.hpp"

namespace dw::shadow {
namespace {

// Client messages that get no answer of their own.
bool silent(char type) {
  return type == 'H' || type == 'd' || type == 'c' || type == 'f';
}

bool extended(char type) {
  return type == 'P' || type == 'B' || type == 'D' || type == 'E' || type == 'C' || type == 'H';
}

std::uint64_t hash_row(std::span<const std::byte> body) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (std::byte b : body) {
    h ^= static_cast<std::uint64_t>(b);
    h *= 1099511628211ULL;
  }
  // splitmix64 finaliser: rows are summed, so each hash must be well spread.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

}  // namespace

std::string command_tag(std::span<const std::byte> body) {
  std::string tag;
  for (std::byte b : body) {
    if (b == std::byte{0}) break;
    tag.push_back(static_cast<char>(b));
  }
  return tag;
}

namespace {

// The verb of a write's tag and its row count (the last number); nullopt for other tags.
std::optional<std::pair<std::string_view, std::uint64_t>> write_count(std::string_view tag) {
  const auto space = tag.find(' ');
  const auto last = tag.rfind(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view verb = tag.substr(0, space);
  if (verb != "UPDATE" && verb != "DELETE" && verb != "INSERT" && verb != "MERGE") return std::nullopt;
  const std::string_view digits = tag.substr(last + 1);
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return std::pair{verb, n};
}

}  // namespace

bool only_shadow_changed_rows(std::string_view primary_tag, std::string_view shadow_tag) {
  const auto primary = write_count(primary_tag);
  const auto shadow = write_count(shadow_tag);
  return primary && shadow && primary->first == shadow->first && primary->second == 0 &&
         shadow->second > 0;
}

void reply_tracker::expect(char client_type) {
  types_.push_back(client_type);
  if (client_type == 'Q' || client_type == 'S' || client_type == 'F') ++ready_expected_;
  skip_silent();
}

void reply_tracker::skip_silent() noexcept {
  while (current_ < types_.size() &&
         (silent(types_[current_]) || (skipping_to_sync_ && types_[current_] != 'S')))
    ++current_;
}

void reply_tracker::advance() noexcept {
  ++current_;
  skip_silent();
}

void reply_tracker::finish_result(std::string tag) {
  open_.message = current_;
  open_.tag = std::move(tag);
  results_.push_back(std::move(open_));
  open_ = statement_result{};
}

void reply_tracker::on_unread_row() noexcept {
  open_.rows_hashed = false;
  ++open_.rows;
}

bool reply_tracker::on_message(char type, std::span<const std::byte> body) {
  const char at = current_ < types_.size() ? types_[current_] : '\0';
  switch (type) {
    case 'D':
      open_.row_hash += hash_row(body);
      ++open_.rows;
      return false;
    case '1': case '2': case '3': case 'V':
      if (at != 'F') advance();
      return false;
    case 'T': case 'n':
      if (at == 'D') advance();
      return false;
    case 'C': case 'I': case 's':
      finish_result(type == 'C' ? command_tag(body) : std::string{});
      if (at != 'Q') advance();
      return false;
    case 'G':
      copy_in_ = true;
      // Extended protocol: the server ignores Sync while it takes COPY data, so a Sync sent
      // ahead of the data earns no ReadyForQuery (the client sends another after CopyDone).
      if (at == 'E') {
        for (std::size_t i = current_ + 1; i < types_.size(); ++i)
          if (types_[i] == 'S' && ready_expected_ > 0) --ready_expected_;
      }
      return false;
    case 'E': {
      if (!error_) {
        reply_error e;
        e.message = current_;
        if (auto fields = protocol::parse_error_fields(body)) {
          e.sqlstate = std::string{fields->sqlstate()};
          e.text = std::string{fields->message()};
        }
        error_ = std::move(e);
      }
      open_ = statement_result{};
      copy_in_ = false;
      if (extended(at)) {
        skipping_to_sync_ = true;
        skip_silent();
      }
      return false;
    }
    case 'Z':
      status_ = body.empty() ? 'I' : static_cast<char>(body[0]);
      skipping_to_sync_ = false;
      copy_in_ = false;
      ++ready_seen_;
      advance();
      return ready_seen_ >= ready_expected_;
    default:
      return false;  // notices, notifications, parameter status, copy-out data
  }
}

}  // namespace dw::shadow
