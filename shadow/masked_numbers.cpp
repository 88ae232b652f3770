#include "shadow/masked_numbers.hpp"

namespace dw::shadow {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A character that may continue a name (or a number, which PostgreSQL 15 then refuses).
bool is_name_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// The end of the quoted run starting at `open` ('...' or "..."; doubled quotes inside), or
// npos when it does not end or holds a backslash (an escape under
// standard_conforming_strings = off).
std::size_t quoted_end(std::string_view sql, std::size_t open) {
  const char quote = sql[open];
  for (std::size_t i = open + 1; i < sql.size(); ++i) {
    if (sql[i] == '\\') return std::string_view::npos;
    if (sql[i] != quote) continue;
    if (i + 1 < sql.size() && sql[i + 1] == quote) {
      ++i;
      continue;
    }
    return i;
  }
  return std::string_view::npos;
}

// The end of the number starting at `start`: digits and points, then an exponent.
std::size_t number_end(std::string_view sql, std::size_t start) {
  std::size_t i = start;
  while (i < sql.size() && (is_digit(sql[i]) || sql[i] == '.')) ++i;
  if (i < sql.size() && (sql[i] == 'e' || sql[i] == 'E')) {
    std::size_t j = i + 1;
    if (j < sql.size() && (sql[j] == '+' || sql[j] == '-')) ++j;
    if (j < sql.size() && is_digit(sql[j])) {
      while (j < sql.size() && is_digit(sql[j])) ++j;
      i = j;
    }
  }
  return i;
}

}  // namespace

std::optional<std::string> masked_numbers(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  bool masked = false;
  std::size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
    const bool after_name = i > 0 && is_name_char(sql[i - 1]);
    if (c == '$' || c == '\\' || (c == '-' && next == '-') || (c == '/' && next == '*'))
      return std::nullopt;
    if (c == '\'' || c == '"') {
      if (c == '\'' && after_name) return std::nullopt;  // E'', B'', X'', N'' and the like
      const std::size_t end = quoted_end(sql, i);
      if (end == std::string_view::npos) return std::nullopt;
      out.append(sql.substr(i, end + 1 - i));
      i = end + 1;
      continue;
    }
    if (is_digit(c) && !after_name) {
      const std::size_t end = number_end(sql, i);
      if (end < sql.size() && is_name_char(sql[end])) return std::nullopt;
      out += '?';
      masked = true;
      i = end;
      continue;
    }
    out += c;
    ++i;
  }
  if (!masked) return std::nullopt;
  return out;
}

}  // namespace dw::shadow
