// Options that hold a list as one comma-separated string (shadow.serialize_tables,
// shadow_reads.ignore_columns, ...): the one way to split them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dw::config {

/// The comma-separated items of `text`, each trimmed of spaces; empty items are dropped.
[[nodiscard]] inline std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

}  // namespace dw::config
