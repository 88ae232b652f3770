#include "compare/row_diff.hpp"

#include <map>
#include <unordered_map>

namespace dw::compare {

std::string flat_key(const key_value& key) {
  std::string s;
  for (const auto& part : key) {
    s += std::to_string(part.size());
    s += ':';
    s += part;
  }
  return s;
}

std::string_view to_string(row_difference_kind k) noexcept {
  switch (k) {
    case row_difference_kind::missing_on_new:
      return "missing_on_new";
    case row_difference_kind::extra_on_new:
      return "extra_on_new";
    case row_difference_kind::different:
      return "different";
  }
  return "different";
}

std::vector<row_difference> diff_keyed_rows(const std::vector<keyed_hash>& old_rows,
                                            const std::vector<keyed_hash>& new_rows) {
  std::unordered_map<std::string, const keyed_hash*> on_new;
  on_new.reserve(new_rows.size());
  for (const auto& r : new_rows) on_new.emplace(flat_key(r.key), &r);
  std::vector<row_difference> out;
  for (const auto& o : old_rows) {
    const auto n = on_new.find(flat_key(o.key));
    if (n == on_new.end()) {
      out.push_back({row_difference_kind::missing_on_new, o.key});
      continue;
    }
    if (n->second->hash != o.hash) out.push_back({row_difference_kind::different, o.key});
    on_new.erase(n);
  }
  for (const auto& r : new_rows)
    if (on_new.contains(flat_key(r.key))) out.push_back({row_difference_kind::extra_on_new, r.key});
  return out;
}

std::vector<multiset_difference> diff_row_multisets(const std::vector<counted_row>& old_rows,
                                                    const std::vector<counted_row>& new_rows) {
  struct tally {
    std::int64_t old_count = 0, new_count = 0;
    std::string text;
  };
  std::map<std::string, tally> by_hash;  // ordered, so reports come out the same every run
  for (const auto& r : old_rows) {
    auto& t = by_hash[r.hash];
    t.old_count += r.count;
    t.text = r.text;
  }
  for (const auto& r : new_rows) {
    auto& t = by_hash[r.hash];
    t.new_count += r.count;
    if (t.text.empty()) t.text = r.text;
  }
  std::vector<multiset_difference> out;
  for (const auto& [hash, t] : by_hash) {
    if (t.old_count == t.new_count) continue;
    const auto surplus = t.old_count - t.new_count;
    out.push_back({t.text, surplus > 0 ? surplus : 0, surplus < 0 ? -surplus : 0});
  }
  return out;
}

}  // namespace dw::compare
