#pragma once
// Making OLD and NEW see the same nondeterministic values (DESIGN.md "Routing"): the proxy
// chooses the values once and rewrite_nondeterministic() splices them into the statement's
// text as literals, in place of the calls; the proxy then sends the same rewritten text to
// both servers. Only the calls are replaced (found by their parse-tree locations and the
// scanner's tokens), so the rest of the text, $n parameters, comments and string literals
// included, stays byte for byte. Pure code: no I/O, no clock, no random source of its own.
//
// Rewritten wherever the statement runs them (T is the transaction's timestamp, S the
// statement's):
//   now(), transaction_timestamp()  -> ('T'::timestamptz)
//   CURRENT_TIMESTAMP[(n)]          -> ('T'::timestamptz[(n)])
//   statement_timestamp()           -> ('S'::timestamptz)
//   CURRENT_DATE                    -> ('T'::timestamptz::date)
//   CURRENT_TIME[(n)]               -> ('T'::timestamptz::timetz[(n)])
//   LOCALTIME[(n)]                  -> ('T'::timestamptz::time[(n)])
//   LOCALTIMESTAMP[(n)]             -> ('T'::timestamptz::timestamp[(n)])
// The literal is an absolute instant, so both servers read the same moment; the date and
// local-time forms are cast by each server in its session TimeZone, which is correct as long
// as both sessions have the same TimeZone (the proxy replays SET TimeZone to the shadow).
// Rewritten only where the call runs once per call site: in an INSERT's or a top-level VALUES
// list, in the target list of a SELECT without FROM, set operation, grouping or set-returning
// call, and in CALL and EXECUTE arguments:
//   random()                        -> ('<values.random()>'::float8)
//   gen_random_uuid(), uuid_generate_v4()
//                                   -> ('<values.uuid()>'::uuid)
//   clock_timestamp()               -> ('S'::timestamptz): an approximation, since the
//                                      server's clock would have moved on a little
//   timeofday()                     -> to_char of S in timeofday()'s text format
// Where such a call runs per row (UPDATE ... SET x = random(), INSERT ... SELECT ... FROM), one
// literal would give every row the same value, so it is left alone and reported.
//
// Not covered, and reported in not_covered when seen in the text (offsets are into sql):
//  - the per-row calls above; uuid_generate_v1/v1mc (time-based), txid_current and
//    pg_current_xact_id (server state); calls with arguments, FILTER or OVER; calls used as a
//    FROM item (SELECT * FROM now()); the literals 'now', 'today', 'tomorrow', 'yesterday'
//    read as dates or times;
//  - calls in text that runs later: DDL (a column DEFAULT now(): rows inserted later get each
//    server's own time; ALTER TABLE ADD COLUMN ... DEFAULT now() fills existing rows now),
//    view and materialized-view queries, PREPARE bodies, DO blocks;
//  - nextval/setval: sequence values are not rewritten (the proxy orders sequence use per
//    table; classifier.hpp's uses_sequence).
// Never visible, so never reported: calls inside functions, procedures and triggers, and
// column defaults (serial/identity, DEFAULT now()) that an INSERT fires. Verification has to
// catch whatever these make differ.
//
// Only rewrite text that runs once as given: a simple Query, or an unnamed Parse executed once.
// A named prepared statement runs many times, and a literal would freeze its now().
//
// Fast path: when none of the function names appears anywhere in the text (a case-insensitive
// substring check), nothing is parsed and sql comes back as given.
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace dw::compare {

// Chosen by the proxy: the timestamps once per transaction and per statement, the random
// values per call. A timestamp is timestamptz input text with an explicit offset, such as
// "2026-11-21 10:00:00.123456+00"; only digits, letters, blanks and ":.+-" are accepted.
struct nondeterministic_values {
  std::string transaction_timestamp;  // the transaction's start, what now() returns
  std::string statement_timestamp;    // this statement's start
  std::function<double()> random;     // one value in [0, 1) per call site
  std::function<std::string()> uuid;  // one uuid text per call site
};

struct rewrite_result {
  std::string sql;  // equal to the input when replaced == 0
  int replaced = 0;
  std::vector<std::string> not_covered;  // one line per call left alone, and why
};

[[nodiscard]] rewrite_result rewrite_nondeterministic(std::string_view sql,
                                                      const nondeterministic_values& values,
                                                      std::size_t max_sql_bytes = std::size_t{1}
                                                                                  << 20);

// The fast path's check: false means the text names none of the functions handled here.
[[nodiscard]] bool may_be_nondeterministic(std::string_view sql);

}  // namespace dw::compare
