// rewrite_nondeterministic: the fast-path check, then the parse-tree walk (rewrite_walk.cpp)
// for the calls, then the scanner's tokens for where each call ends, then the splice.
#include "compare/nondeterminism.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <span>

#include "compare/rewrite_walk.hpp"
#include "compare/sql_parser.hpp"

namespace dw::compare {
namespace {

using detail::rewrite_site;
using detail::site_shape;
using detail::sql_token;

// Every name whose call rewrite_walk replaces or reports, lower case. "timestamp" covers
// transaction_, statement_ and clock_timestamp; "current_" the CURRENT_* keywords; "random"
// gen_random_uuid too.
constexpr std::array<std::string_view, 14> needles = {
    "now",  "current_", "localtime", "timestamp", "timeofday", "random",  "uuid",
    "txid", "xact_id",  "today",     "tomorrow",  "yesterday", "nextval", "setval"};

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Bytes that can start a needle, either case: most bytes of a statement are rejected by this
// one lookup, which keeps the fast path at a fraction of a microsecond.
constexpr std::array<bool, 256> needle_starts = [] {
  std::array<bool, 256> starts{};
  for (const std::string_view needle : needles) {
    starts[static_cast<unsigned char>(needle.front())] = true;
    starts[static_cast<unsigned char>(needle.front() - 'a' + 'A')] = true;
  }
  return starts;
}();

bool matches_at(std::string_view sql, std::size_t at, std::string_view needle) {
  if (sql.size() - at < needle.size()) return false;
  for (std::size_t i = 0; i < needle.size(); ++i) {
    if (lower(sql[at + i]) != needle[i]) return false;
  }
  return true;
}

bool is_comment(const sql_token& t) {
  return t.kind == detail::token::sql_comment || t.kind == detail::token::c_comment;
}

// The end of the call that starts at site.location, or nullopt when the tokens there do not
// look like the call the tree described (then the text is left alone).
std::optional<std::size_t> site_end(std::span<const sql_token> tokens, const rewrite_site& site) {
  auto it = std::lower_bound(
      tokens.begin(), tokens.end(), site.location,
      [](const sql_token& t, std::size_t at) { return static_cast<std::size_t>(t.start) < at; });
  if (it == tokens.end() || static_cast<std::size_t>(it->start) != site.location)
    return std::nullopt;
  const auto next = [&](auto i) {
    do {
      ++i;
    } while (i != tokens.end() && is_comment(*i));
    return i;
  };
  const auto is = [&](auto i, int kind) { return i != tokens.end() && i->kind == kind; };
  switch (site.shape) {
    case site_shape::keyword:
      return static_cast<std::size_t>(it->end);
    case site_shape::keyword_with_precision: {
      const auto open = next(it);
      const auto digits = is(open, '(') ? next(open) : tokens.end();
      const auto close = is(digits, detail::token::iconst) ? next(digits) : tokens.end();
      if (!is(close, ')')) return std::nullopt;
      return static_cast<std::size_t>(close->end);
    }
    case site_shape::call: {
      // The (possibly qualified, possibly quoted) name, then "(" and ")" with nothing between.
      while (it != tokens.end() && it->kind != '(') {
        if (!(it->kind == detail::token::ident || it->kind == detail::token::uident ||
              it->keyword || it->kind == '.' || is_comment(*it)))
          return std::nullopt;
        ++it;
      }
      const auto close = it != tokens.end() ? next(it) : tokens.end();
      if (!is(close, ')')) return std::nullopt;
      return static_cast<std::size_t>(close->end);
    }
  }
  return std::nullopt;
}

void splice(std::string_view sql, std::vector<rewrite_site>& sites,
            std::span<const sql_token> tokens, rewrite_result& out) {
  std::sort(sites.begin(), sites.end(),
            [](const rewrite_site& a, const rewrite_site& b) { return a.location < b.location; });
  std::string text;
  text.reserve(sql.size() + sites.size() * 40);
  std::size_t copied = 0;
  for (const rewrite_site& site : sites) {
    const auto end = site_end(tokens, site);
    if (!end || site.location < copied || *end > sql.size()) {
      out.not_covered.push_back(site.what + " at " + std::to_string(site.location) +
                                ": could not be located in the text");
      continue;
    }
    text.append(sql.substr(copied, site.location - copied));
    text.append(site.literal);
    copied = *end;
    ++out.replaced;
  }
  if (out.replaced == 0) return;
  text.append(sql.substr(copied));
  out.sql = std::move(text);
}

}  // namespace

bool may_be_nondeterministic(std::string_view sql) {
  for (std::size_t at = 0; at < sql.size(); ++at) {
    if (!needle_starts[static_cast<unsigned char>(sql[at])]) continue;
    const char c = lower(sql[at]);
    for (const std::string_view needle : needles) {
      if (needle.front() == c && matches_at(sql, at, needle)) return true;
    }
  }
  return false;
}

rewrite_result rewrite_nondeterministic(std::string_view sql, const nondeterministic_values& values,
                                        std::size_t max_sql_bytes) {
  rewrite_result out;
  out.sql.assign(sql);
  if (!may_be_nondeterministic(sql)) return out;

  const detail::parse_tree tree{sql, max_sql_bytes};
  if (tree.failure() != detail::parse_failure::none) {
    out.not_covered.emplace_back("the statement was not parsed: nothing rewritten");
    return out;
  }
  std::vector<rewrite_site> sites;
  detail::rewrite_walk walk{values, sites, out.not_covered};
  for (const auto& raw : tree.statements()) {
    const auto* fields = raw.if_object();
    const auto* stmt = fields != nullptr ? fields->if_contains("stmt") : nullptr;
    if (const auto n = stmt != nullptr ? detail::as_node(*stmt) : std::nullopt) walk.statement(*n);
  }
  if (sites.empty()) return out;

  const auto tokens = detail::scan(tree.text());
  if (!tokens) {
    out.not_covered.emplace_back("the statement did not scan: nothing rewritten");
    return out;
  }
  splice(sql, sites, *tokens, out);
  return out;
}

}  // namespace dw::compare
