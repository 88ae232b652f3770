// Identifier quoting and the parser for names given on the command line. The parser follows
// PostgreSQL's scanner for the two forms it accepts: an unquoted part is folded to lower case
// (ASCII only, as for identifiers in a UTF-8 database), a quoted part is taken verbatim with
// "" standing for one quote.
#include "compare/pg_identifier.hpp"

#include <vector>

namespace dw::compare {
namespace {

bool is_plain(std::string_view part) {
  if (part.empty()) return false;
  const char first = part.front();
  if (!((first >= 'a' && first <= 'z') || first == '_')) return false;
  for (const char c : part)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$')) return false;
  return true;
}

std::string display_part(std::string_view part) {
  return is_plain(part) ? std::string{part} : quote_ident(part);
}

char fold(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

/// Reads one part starting at `pos`; leaves `pos` after it. std::nullopt when malformed.
std::optional<std::string> read_part(std::string_view text, std::size_t& pos) {
  std::string out;
  if (pos < text.size() && text[pos] == '"') {
    for (++pos; pos < text.size(); ++pos) {
      if (text[pos] != '"') {
        out += text[pos];
      } else if (pos + 1 < text.size() && text[pos + 1] == '"') {
        out += '"';
        ++pos;
      } else {
        ++pos;
        return out.empty() ? std::nullopt : std::optional{out};
      }
    }
    return std::nullopt;  // no closing quote
  }
  while (pos < text.size() && text[pos] != '.') {
    const char c = text[pos++];
    if (c == '"' || c == ' ' || c == '\t') return std::nullopt;
    out += fold(c);
  }
  return out.empty() ? std::nullopt : std::optional{out};
}

}  // namespace

std::string quote_ident(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out += '"';
  for (const char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string table_name::sql() const { return quote_ident(schema) + "." + quote_ident(name); }

std::string table_name::display() const { return display_part(schema) + "." + display_part(name); }

std::optional<table_pattern> parse_table_pattern(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  for (;;) {
    auto part = read_part(text, pos);
    if (!part) return std::nullopt;
    parts.push_back(std::move(*part));
    if (pos == text.size()) break;
    if (text[pos] != '.') return std::nullopt;
    ++pos;
  }
  if (parts.size() == 1) return table_pattern{std::nullopt, std::move(parts[0])};
  if (parts.size() == 2) return table_pattern{std::move(parts[0]), std::move(parts[1])};
  return std::nullopt;
}

}  // namespace dw::compare
