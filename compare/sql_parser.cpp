// libpg_query calls: parse to a JSON tree, fingerprint, scan. Every result is freed here.
#include "compare/sql_parser.hpp"

#include <pg_query.h>

#include <algorithm>
#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

namespace dw::compare::detail {
namespace {

// Below this size a statement cannot nest deeply enough to matter: the worst measured case
// ("1+1+1...") needs ~66 bytes of libpg_query stack per byte of SQL, so 6 KiB stays near
// 400 KiB and skips the scan that nesting_estimate needs.
constexpr std::size_t unchecked_bytes = 6144;
// Up to ~200 bytes of libpg_query stack per unit of nesting_estimate (worst measured: nested
// sub-selects, two units per level), so this stays under 512 KiB.
constexpr std::size_t max_nesting = 2500;
// JSON levels loaded. It also bounds the recursion of the walks over the tree elsewhere in
// compare/. Real statements stay far below: a 50-deep CASE is about 300 levels.
constexpr std::size_t max_json_depth = 2000;

// pg_query_scan answers with protobuf only. The schema is fixed and tiny (pg_query.proto):
//   message ScanResult { int32 version = 1; repeated ScanToken tokens = 2; }
//   message ScanToken  { int32 start = 1; int32 end = 2; Token token = 4; KeywordKind keyword_kind
//   = 5; }
// so these few lines read it instead of adding protobuf-c's headers as a dependency. The input
// is libpg_query's own output, and every read is still bounds-checked.
class wire_reader {
 public:
  wire_reader(const unsigned char* begin, const unsigned char* end) : p_{begin}, end_{end} {}

  [[nodiscard]] bool done() const { return p_ == end_; }

  [[nodiscard]] bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      const unsigned byte = *p_++;
      v |= static_cast<std::uint64_t>(byte & 0x7fU) << shift;
      if ((byte & 0x80U) == 0) return true;
    }
    return false;
  }

  // A length-delimited field's bytes as a reader of their own.
  [[nodiscard]] bool sub(wire_reader& out) {
    std::uint64_t n = 0;
    if (!varint(n) || n > static_cast<std::uint64_t>(end_ - p_)) return false;
    out = wire_reader{p_, p_ + n};
    p_ += n;
    return true;
  }

  [[nodiscard]] bool skip(unsigned wire_type) {
    std::uint64_t v = 0;
    wire_reader ignored{p_, p_};
    switch (wire_type) {
      case 0:
        return varint(v);
      case 1:
        return advance(8);
      case 2:
        return sub(ignored);
      case 5:
        return advance(4);
      default:
        return false;
    }
  }

 private:
  bool advance(std::size_t n) {
    if (n > static_cast<std::size_t>(end_ - p_)) return false;
    p_ += n;
    return true;
  }

  const unsigned char* p_;
  const unsigned char* end_;
};

bool read_token(wire_reader in, sql_token& out) {
  while (!in.done()) {
    std::uint64_t tag = 0;
    std::uint64_t v = 0;
    if (!in.varint(tag)) return false;
    const auto field = tag >> 3;
    const auto wire_type = static_cast<unsigned>(tag & 7U);
    if (wire_type != 0 || field < 1 || field > 5 || field == 3) {
      if (!in.skip(wire_type)) return false;
      continue;
    }
    if (!in.varint(v)) return false;
    const auto value = static_cast<int>(static_cast<std::int32_t>(v));
    if (field == 1) out.start = value;
    if (field == 2) out.end = value;
    if (field == 4) out.kind = value;
    if (field == 5) out.keyword = value != 0;
  }
  return true;
}

bool read_scan_result(wire_reader in, std::vector<sql_token>& out) {
  while (!in.done()) {
    std::uint64_t tag = 0;
    if (!in.varint(tag)) return false;
    const auto wire_type = static_cast<unsigned>(tag & 7U);
    if ((tag >> 3) != 2 || wire_type != 2) {
      if (!in.skip(wire_type)) return false;
      continue;
    }
    wire_reader token_bytes{nullptr, nullptr};
    sql_token t;
    if (!in.sub(token_bytes) || !read_token(token_bytes, t)) return false;
    out.push_back(t);
  }
  return true;
}

}  // namespace

parse_tree::parse_tree(std::string_view sql, std::size_t max_bytes)
    : tree_(boost::json::storage_ptr(&resource_)) {
  if (sql.size() > max_bytes) {
    failure_ = parse_failure::too_long;
    return;
  }
  if (sql.find('\0') != std::string_view::npos) {
    failure_ = parse_failure::contains_nul;
    return;
  }
  text_.assign(sql);
  if (sql.size() > unchecked_bytes) {
    const auto tokens = scan(text_);
    if (!tokens) {
      failure_ = parse_failure::syntax_error;
      return;
    }
    if (nesting_estimate(*tokens) > max_nesting) {
      failure_ = parse_failure::too_deep;
      return;
    }
  }
  const PgQueryParseResult result = pg_query_parse(text_.c_str());
  if (result.error != nullptr || result.parse_tree == nullptr) {
    pg_query_free_parse_result(result);
    failure_ = parse_failure::syntax_error;
    return;
  }
  boost::json::parse_options options;
  options.max_depth = max_json_depth;
  options.allow_invalid_utf8 = true;  // string literals arrive in the client's encoding
  boost::system::error_code ec;
  tree_ = boost::json::parse(result.parse_tree, ec, boost::json::storage_ptr{&resource_}, options);
  pg_query_free_parse_result(result);
  if (ec) {
    failure_ =
        ec == boost::json::error::too_deep ? parse_failure::too_deep : parse_failure::syntax_error;
  }
}

const boost::json::array& parse_tree::statements() const {
  static const boost::json::array none;
  if (failure_ != parse_failure::none) return none;
  if (const auto* root = tree_.if_object()) {
    if (const auto* stmts = root->if_contains("stmts")) {
      if (const auto* list = stmts->if_array()) return *list;
    }
  }
  return none;
}

std::optional<std::uint64_t> fingerprint(const std::string& text) {
  const PgQueryFingerprintResult result = pg_query_fingerprint(text.c_str());
  std::optional<std::uint64_t> out;
  if (result.error == nullptr) out = result.fingerprint;
  pg_query_free_fingerprint_result(result);
  return out;
}

std::optional<std::vector<sql_token>> scan(const std::string& text) {
  const PgQueryScanResult result = pg_query_scan(text.c_str());
  std::optional<std::vector<sql_token>> out;
  if (result.error == nullptr) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(result.pbuf.data);
    std::vector<sql_token> tokens;
    tokens.reserve(text.size() / 4);
    if (bytes == nullptr || read_scan_result(wire_reader{bytes, bytes + result.pbuf.len}, tokens))
      out = std::move(tokens);
  }
  pg_query_free_scan_result(result);
  return out;
}

std::size_t nesting_estimate(std::span<const sql_token> tokens) {
  struct level {
    std::size_t operators = 0;
    bool is_case = false;
  };
  std::vector<level> levels(1);
  std::size_t depth = 1;  // levels.size() plus every level's operators
  std::size_t worst = depth;
  for (const sql_token& t : tokens) {
    level& top = levels.back();
    switch (t.kind) {
      case token::sql_comment:
      case token::c_comment:
      case token::ident:
      case token::uident:
      case token::fconst:
      case token::sconst:
      case token::usconst:
      case token::bconst:
      case token::xconst:
      case token::iconst:
      case token::param:
        continue;
      case '(':
      case '[':
      case token::kw_case:
        levels.push_back({0, t.kind == token::kw_case});
        ++depth;
        break;
      case ')':
      case ']':
        if (levels.size() > 1) {
          depth -= 1 + top.operators;
          levels.pop_back();
        }
        continue;
      case ',':
      case ';':
      case token::kw_and:
      case token::kw_or:
      case token::kw_when:
      case token::kw_then:
      case token::kw_else:
        depth -= top.operators;
        top.operators = 0;
        continue;
      default:
        if (t.kind == token::kw_end && top.is_case) {
          depth -= 1 + top.operators;
          levels.pop_back();
          continue;
        }
        ++top.operators;
        ++depth;
        break;
    }
    worst = std::max(worst, depth);
  }
  return worst;
}

}  // namespace dw::compare::detail
