// The attribute-list reader behind the SCRAM message parsers (RFC 5802 section 7 grammar:
// attr-val = ALPHA "=" value, joined by ','). Values are bounded so a peer cannot make us hold
// or hash megabytes inside one authentication.
#include "protocol/scram_attributes.hpp"

#include <algorithm>

#include "protocol/scram_verifier.hpp"

namespace dw::protocol::scram::detail {

std::optional<attribute> attribute_reader::next() noexcept {
  std::size_t p = pos_;
  if (started_) {
    if (p >= text_.size() || text_[p] != ',') return std::nullopt;
    ++p;
  }
  if (text_.size() - p < 2) return std::nullopt;
  const char name = text_[p];
  const bool letter = (name >= 'a' && name <= 'z') || (name >= 'A' && name <= 'Z');
  if (!letter || text_[p + 1] != '=') return std::nullopt;
  p += 2;
  const std::size_t end = std::min(text_.find(',', p), text_.size());
  if (end - p > max_attribute_size) return std::nullopt;
  started_ = true;
  pos_ = end;
  return attribute{name, text_.substr(p, end - p)};
}

std::optional<std::string_view> attribute_reader::expect(char name) noexcept {
  auto a = next();
  if (!a || a->name != name) return std::nullopt;
  return a->value;
}

bool acceptable_message(std::string_view text) noexcept {
  return text.size() <= max_message_size && text.find('\0') == std::string_view::npos;
}

}  // namespace dw::protocol::scram::detail
