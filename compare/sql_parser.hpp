#pragma once
// The one place that calls libpg_query (PostgreSQL 15's own parser as a library). Internal to
// compare/: the rest of the project uses classifier.hpp and nondeterminism.hpp.
//
// Why the JSON output and not the protobuf one: on a pgbench UPDATE, pg_query_parse plus
// Boost.JSON (already a project dependency) costs ~7 us; pg_query_parse_protobuf plus protobuf-c's
// unpack costs ~36 us, because protobuf-c visits every member of the 250-way Node oneof, and
// libpg-query-dev does not install the protobuf-c headers anyway. pg_query_scan has no JSON form;
// its two-message protobuf answer is decoded by scan() below.
//
// Stack: libpg_query writes its tree out recursively without checking the stack, and an
// operator chain of 100k terms ("SELECT 1+1+...") overflows an 8 MiB stack. parse_tree bounds
// the nesting before parsing (nesting_estimate) and while loading the JSON (max_json_depth), so
// one call stays under 512 KiB of stack (~400 KiB for the worst input measured, -O2).
//
// Threads: libpg_query keeps its memory context per thread; calls on different threads are
// independent, and a thread's context is freed when the thread exits.
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dw::compare::detail {

enum class parse_failure : std::uint8_t {
  none,
  syntax_error,  // libpg_query rejected it (or its JSON did not load)
  too_long,      // longer than the caller's cap; not parsed at all
  too_deep,      // nested deeper than parsing can afford on the stack
  contains_nul,  // a NUL byte: libpg_query takes C strings, so it would see a different text
};

// One scanner token; offsets are bytes into the text that was scanned.
struct sql_token {
  int start = 0;
  int end = 0;
  int kind = 0;          // libpg_query's Token enum (pg_query.proto); the ASCII value for ( ) , ;
  bool keyword = false;  // any keyword category, reserved or not
};

// libpg_query Token numbers used here (from /usr/include/pg_query/pg_query.proto).
namespace token {
inline constexpr int ident = 258, uident = 259, fconst = 260, sconst = 261, usconst = 262,
                     bconst = 263, xconst = 264, iconst = 266, param = 267, typecast = 268,
                     sql_comment = 275, c_comment = 276, kw_and = 291, kw_case = 321, kw_else = 397,
                     kw_end = 401, kw_or = 548, kw_then = 669, kw_when = 712;
}

// A parsed SQL string as libpg_query's JSON tree, held in this object's own memory.
class parse_tree {
 public:
  parse_tree(std::string_view sql, std::size_t max_bytes);
  parse_tree(const parse_tree&) = delete;
  parse_tree& operator=(const parse_tree&) = delete;

  [[nodiscard]] parse_failure failure() const { return failure_; }
  // The RawStmt objects ({"stmt": {...}, "stmt_location": n, "stmt_len": n}); empty on failure.
  [[nodiscard]] const boost::json::array& statements() const;
  // The NUL-terminated copy handed to libpg_query, for fingerprint() and scan().
  [[nodiscard]] const std::string& text() const { return text_; }

 private:
  std::string text_;
  // Most statements' trees fit here, so loading them allocates nothing.
  alignas(std::max_align_t) unsigned char buffer_[4096];
  boost::json::monotonic_resource resource_{buffer_, sizeof buffer_};
  boost::json::value tree_;
  parse_failure failure_ = parse_failure::none;
};

// libpg_query's fingerprint of the whole string (the same value pganalyze and others compute);
// nullopt when it does not parse. Takes a NUL-terminated string.
[[nodiscard]] std::optional<std::uint64_t> fingerprint(const std::string& text);

// The scanner's tokens, comments included; nullopt when the text does not scan.
[[nodiscard]] std::optional<std::vector<sql_token>> scan(const std::string& text);

// An upper bound, in parse-tree levels, of how deeply the text nests: parentheses, brackets and
// CASE open a level; inside one, every operator or keyword since the last list separator (comma,
// AND, OR, WHEN, THEN, ELSE, semicolon) may nest the next operand one level deeper.
[[nodiscard]] std::size_t nesting_estimate(std::span<const sql_token> tokens);

}  // namespace dw::compare::detail
