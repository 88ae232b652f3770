// Internal to the SCRAM files: a reader for the "a=value,b=value" attribute lists of RFC 5802
// section 5.1. It bounds every value (max_attribute_size) and owns no bytes; what an attribute
// means, and which ones may appear where, is the caller's business.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace dw::protocol::scram::detail {

struct attribute {
  char name;               ///< one ASCII letter
  std::string_view value;  ///< up to the next ',' (values never contain one)
};

class attribute_reader {
 public:
  explicit attribute_reader(std::string_view text) noexcept : text_(text) {}

  /// The next attribute, or nullopt at the end of input or on a syntax error: missing ',',
  /// a name that is not one letter, no '=', or a value over max_attribute_size.
  [[nodiscard]] std::optional<attribute> next() noexcept;
  /// The next attribute's value when it is named `name`, else nullopt.
  [[nodiscard]] std::optional<std::string_view> expect(char name) noexcept;

  [[nodiscard]] bool at_end() const noexcept { return pos_ == text_.size(); }
  /// Offset where the next attribute's separating ',' starts (the end of what was read).
  [[nodiscard]] std::size_t position() const noexcept { return pos_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  bool started_ = false;
};

/// A SCRAM message must be at most max_message_size bytes and contain no NUL: PostgreSQL reads
/// these messages as C strings, so a NUL would make the two sides disagree on the text.
[[nodiscard]] bool acceptable_message(std::string_view text) noexcept;

}  // namespace dw::protocol::scram::detail
