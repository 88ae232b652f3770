// A string that must never reach logs or metrics: it formats as "***" and has no implicit
// conversion to std::string, so printing one by accident shows the mask, not the value.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace dw::config {

class secret {
 public:
  secret() = default;
  explicit secret(std::string value) : value_{std::move(value)} {}

  /// The only way to the value: call sites that need it are few and easy to audit.
  [[nodiscard]] std::string_view reveal() const noexcept { return value_; }
  [[nodiscard]] bool empty() const noexcept { return value_.empty(); }
  friend bool operator==(const secret&, const secret&) = default;
  friend std::ostream& operator<<(std::ostream& os, const secret&) { return os << "***"; }

 private:
  std::string value_;
};

}  // namespace dw::config

template <>
struct fmt::formatter<dw::config::secret> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const dw::config::secret&, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format("***", ctx);
  }
};
