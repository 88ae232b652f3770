// redact_statement: literal redaction of statement text (declared in redaction.hpp).
//
// libpg_query's normalize replaces each constant with a new parameter $k+1, $k+2, ... where k
// is the highest $N the statement already had. We turn exactly those new ones into $redacted,
// so the statement's own $1.. still line up with the logged parameters. Normalize leaves some
// constants alone (it only sees what the parse tree records, and utility statements such as
// CREATE ROLE ... PASSWORD are partly opaque to it), so a small lexer then also replaces every
// string, dollar-quoted and numeric literal still in the text, and drops comments, which can
// hold anything. Anything the lexer cannot follow makes the whole text go: a partial redaction
// of text we do not understand is not one we can promise.
#include <pg_query.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "shadow/redaction.hpp"

namespace dw::shadow {
namespace {

constexpr std::string_view redacted_literal = "$redacted";

bool is_ident_char(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) != 0 || c == '_' || c == '$' || u >= 0x80;
}
bool is_ident_start(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return std::isalpha(u) != 0 || c == '_' || u >= 0x80;
}

// What scan_sql reports; `text` is the token's span in the input.
enum class token_kind : std::uint8_t { other, comment, literal, parameter };

// Walks SQL as PostgreSQL's scanner does (standard_conforming_strings on, the default) and
// calls `emit(kind, text, parameter_number)` for each piece; `other` pieces cover everything
// else, so concatenating all texts gives back the input. Returns false on unterminated text.
template <typename Emit>
bool scan_sql(std::string_view sql, Emit&& emit) {
  std::size_t i = 0;
  const std::size_t n = sql.size();
  const auto at = [&](std::size_t k) { return k < n ? sql[k] : '\0'; };
  while (i < n) {
    const std::size_t start = i;
    const char c = sql[i];
    const bool after_ident = i > 0 && is_ident_char(sql[i - 1]);
    if (c == '-' && at(i + 1) == '-') {
      while (i < n && sql[i] != '\n') ++i;
      emit(token_kind::comment, sql.substr(start, i - start), 0U);
    } else if (c == '/' && at(i + 1) == '*') {
      int depth = 0;  // PostgreSQL block comments nest
      do {
        if (sql[i] == '/' && at(i + 1) == '*') {
          ++depth;
          i += 2;
        } else if (sql[i] == '*' && at(i + 1) == '/') {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      } while (depth > 0 && i < n);
      if (depth > 0) return false;
      emit(token_kind::comment, sql.substr(start, i - start), 0U);
    } else if (c == '"') {
      ++i;
      for (;; ++i) {
        if (i >= n) return false;
        if (sql[i] == '"') {
          if (at(i + 1) != '"') break;
          ++i;
        }
      }
      ++i;
      emit(token_kind::other, sql.substr(start, i - start), 0U);
    } else if (c == '\'' || (!after_ident && std::string_view{"EeBbXxNn"}.find(c) !=
                                                 std::string_view::npos && at(i + 1) == '\'') ||
               (!after_ident && (c == 'U' || c == 'u') && at(i + 1) == '&' && at(i + 2) == '\'')) {
      const bool backslash_escapes = c == 'E' || c == 'e';
      while (sql[i] != '\'') ++i;
      ++i;
      for (;; ++i) {
        if (i >= n) return false;
        if (backslash_escapes && sql[i] == '\\') {
          ++i;
          continue;
        }
        if (sql[i] == '\'') {
          if (at(i + 1) != '\'') break;
          ++i;
        }
      }
      ++i;
      emit(token_kind::literal, sql.substr(start, i - start), 0U);
    } else if (c == '$' && !after_ident && std::isdigit(static_cast<unsigned char>(at(i + 1)))) {
      ++i;
      std::uint64_t number = 0;
      while (i < n && std::isdigit(static_cast<unsigned char>(sql[i]))) {
        if (number < 1'000'000'000) number = number * 10 + static_cast<std::uint64_t>(sql[i] - '0');
        ++i;
      }
      emit(token_kind::parameter, sql.substr(start, i - start), number);
    } else if (c == '$' && !after_ident && (at(i + 1) == '$' || is_ident_start(at(i + 1)))) {
      std::size_t tag_end = i + 1;
      while (tag_end < n && sql[tag_end] != '$' && is_ident_char(sql[tag_end])) ++tag_end;
      if (at(tag_end) != '$') {  // "$x" without a closing '$' is not a dollar quote
        ++i;
        emit(token_kind::other, sql.substr(start, 1), 0U);
        continue;
      }
      const std::string_view tag = sql.substr(i, tag_end + 1 - i);
      const std::size_t close = sql.find(tag, tag_end + 1);
      if (close == std::string_view::npos) return false;
      i = close + tag.size();
      emit(token_kind::literal, sql.substr(start, i - start), 0U);
    } else if (!after_ident && (std::isdigit(static_cast<unsigned char>(c)) ||
                                (c == '.' && std::isdigit(static_cast<unsigned char>(at(i + 1)))))) {
      while (i < n) {
        const char d = sql[i];
        if ((d == 'e' || d == 'E') && (at(i + 1) == '+' || at(i + 1) == '-')) {
          i += 2;
        } else if (std::isalnum(static_cast<unsigned char>(d)) != 0 || d == '_' || d == '.') {
          ++i;
        } else {
          break;
        }
      }
      emit(token_kind::literal, sql.substr(start, i - start), 0U);
    } else if (is_ident_char(c)) {
      while (i < n && is_ident_char(sql[i])) ++i;
      emit(token_kind::other, sql.substr(start, i - start), 0U);
    } else {
      ++i;
      emit(token_kind::other, sql.substr(start, 1), 0U);
    }
  }
  return true;
}

std::string whole_statement_redacted(std::string_view sql, std::string_view why) {
  return "<statement redacted: " + std::string{why} + ", len=" + std::to_string(sql.size()) + ">";
}

}  // namespace

std::string redact_statement(std::string_view sql, redaction_mode mode) {
  if (mode != redaction_mode::values_and_literals) return std::string{sql};
  if (sql.find('\0') != std::string_view::npos) return whole_statement_redacted(sql, "contains NUL");

  // The statement's own parameters, which normalize numbers its new ones after.
  std::uint64_t own_highest = 0;
  const bool scanned = scan_sql(sql, [&](token_kind kind, std::string_view, std::uint64_t number) {
    if (kind == token_kind::parameter && number > own_highest) own_highest = number;
  });
  if (!scanned) return whole_statement_redacted(sql, "unparseable");

  const std::string input{sql};
  PgQueryNormalizeResult normalized = pg_query_normalize(input.c_str());
  if (normalized.error != nullptr || normalized.normalized_query == nullptr) {
    pg_query_free_normalize_result(normalized);
    return whole_statement_redacted(sql, "unparseable");
  }
  const std::string_view text{normalized.normalized_query};
  std::string out;
  out.reserve(text.size());
  const bool ok = scan_sql(text, [&](token_kind kind, std::string_view piece, std::uint64_t number) {
    switch (kind) {
      case token_kind::comment:
        out += ' ';
        break;
      case token_kind::literal:
        out += redacted_literal;
        break;
      case token_kind::parameter:
        if (number > own_highest) {
          out += redacted_literal;
        } else {
          out += piece;
        }
        break;
      case token_kind::other:
        out += piece;
        break;
    }
  });
  pg_query_free_normalize_result(normalized);
  if (!ok) return whole_statement_redacted(sql, "unparseable");
  return out;
}

}  // namespace dw::shadow
