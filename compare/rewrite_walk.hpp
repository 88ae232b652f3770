#pragma once
// The parse-tree half of rewrite_nondeterministic (nondeterminism.hpp): finds the calls to
// replace, with the literal for each, and reports the ones it must leave alone. Where each
// call ends in the text is found afterwards from the scanner's tokens (nondeterminism.cpp).
#include <cstddef>
#include <string>
#include <vector>

#include "compare/nondeterminism.hpp"
#include "compare/parse_nodes.hpp"

namespace dw::compare::detail {

// How a call is written, which says where it ends.
enum class site_shape : std::uint8_t {
  call,                    // name ( ), possibly qualified: pg_catalog.now()
  keyword,                 // CURRENT_DATE
  keyword_with_precision,  // CURRENT_TIMESTAMP(3)
};

struct rewrite_site {
  std::size_t location = 0;  // byte offset of the call's first token
  site_shape shape = site_shape::call;
  std::string literal;  // what replaces the call, parenthesised
  std::string what;     // "now()", "CURRENT_DATE": for reports
};

class rewrite_walk {
 public:
  rewrite_walk(const nondeterministic_values& values, std::vector<rewrite_site>& sites,
               std::vector<std::string>& not_covered)
      : values_{values}, sites_{sites}, not_covered_{not_covered} {}

  // One top-level statement (a RawStmt's "stmt").
  void statement(const node& n);

 private:
  struct context {
    bool runs = true;         // the statement runs this text now (not DDL, PREPARE, a view)
    bool once = false;        // evaluated once per call site
    bool top_select = false;  // the next SelectStmt is the statement's own query
    std::string_view later;   // when !runs: why not, for reports
  };

  void visit(const boost::json::value& v, context c);
  void visit_fields(const boost::json::object& o, context c);
  void on_node(const node& n, context c);
  void on_select(const boost::json::object& select, context c, bool top);
  void on_insert(const boost::json::object& insert, context c, bool top);
  void on_range_function(const boost::json::object& range_function, context c);
  void on_function_call(const boost::json::object& call, context c, bool from_item);
  void on_time_keyword(const boost::json::object& svf, context c, bool from_item);
  void on_string_constant(const boost::json::object& a_const);
  void report(std::int64_t location, std::string_view what, std::string_view why);

  const nondeterministic_values& values_;
  std::vector<rewrite_site>& sites_;
  std::vector<std::string>& not_covered_;
};

}  // namespace dw::compare::detail
