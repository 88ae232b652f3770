#pragma once
// Statement classification for routing (DESIGN.md "Routing"): what one Query string or one
// Parse statement does, decided from PostgreSQL 15's own parse tree (libpg_query). Pure code:
// no I/O, no logging, no exceptions of its own. Call it once per Query and once per Parse (the
// answer for a prepared statement stays valid for every Execute of it).
//
// The rule the proxy needs is goes_to_shadow(): everything except a plain read. A plain read is
// a SELECT / VALUES / TABLE / SHOW / EXPLAIN without ANALYZE (or EXPLAIN ANALYZE of a plain
// read), COPY ... TO STDOUT of a plain read, with no locking clause, no INTO, no data-modifying
// CTE, and no call that may change state. Everything else, including whatever does not parse,
// goes to the shadow; the flags say why.
//
// Function calls (function_rules.hpp has the tables):
//  - nextval/setval change a sequence (volatile_call, uses_sequence);
//  - set_config and setseed change session state (volatile_call, session_state);
//  - now() and the other time functions, random(), gen_random_uuid(), uuid-ossp's generators:
//    no side effect, but nondeterministic;
//  - pg_catalog functions that PostgreSQL 15 labels immutable or stable in every overload (the
//    catalog promises they do not modify the database; 2,400 names generated from pg_proc),
//    and pg_sleep*: no side effect;
//  - functions the user declares read-only in classify_options: no side effect;
//  - everything else is volatile_call: user functions, extension functions, advisory locks,
//    currval/lastval, txid_current (assigns an xid), and built-ins that PostgreSQL marks volatile.
//    A user function can write, and a SELECT that writes must reach the shadow, so an unknown
//    function is never assumed harmless. The price is that reads calling user functions also go
//    to the shadow unless declared read-only.
// An unqualified name is taken to be the built-in when there is one (pg_catalog comes first in
// the search path unless the user moved it); a name in another schema is a user function.
//
// Not visible in the text, so not classified: triggers, rules, what a view or a function body
// does, column defaults (nextval of a serial), operators and casts backed by user functions.
// tables_written is therefore a lower bound, and the flags describe the statement as written.
//
// Limits: a string longer than classify_options::max_sql_bytes (default 1 MiB) is not parsed;
// neither is one nesting deeper than about a thousand expression levels (such as a chain of a
// thousand "+" terms: libpg_query's tree output is recursive and unchecked, and 100k terms
// overflow an 8 MiB stack) nor one containing a NUL byte. Each comes back unparseable, with
// the reason, and so goes to the shadow as a write. One call needs under 512 KiB of stack
// (the worst input measured needs ~400 KiB in an optimised build).
//
// Threads: libpg_query keeps a memory context per thread, so classify() may run on several
// threads at once; each thread's context is freed when the thread exits.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dw::compare {

enum class transaction_verb : std::uint8_t {
  none,
  begin,     // BEGIN, START TRANSACTION
  commit,    // COMMIT, END
  rollback,  // ROLLBACK, ABORT
  savepoint,
  release,
  rollback_to,
  prepare_transaction,
  commit_prepared,
  rollback_prepared,
};

enum class unparseable_reason : std::uint8_t {
  none,
  syntax_error,  // libpg_query rejected it: PostgreSQL will most likely reject it too
  too_long,      // longer than classify_options::max_sql_bytes
  too_deep,      // nests deeper than the parser can be given stack for
  contains_nul,  // a NUL byte (cannot come from the wire protocol, which uses C strings)
};

struct table_name {
  std::string schema;  // as PostgreSQL folds it; empty when the statement did not qualify it
  std::string name;
  friend bool operator==(const table_name&, const table_name&) = default;
  // "schema.name" with each part double-quoted when it is not a plain lower-case identifier.
  // Not resolved through search_path: t and public.t are different keys.
  [[nodiscard]] std::string key() const;
};

struct statement_info {
  // The statement's bytes in the string, as libpg_query splits it (may start with the blank
  // or comment after the previous semicolon).
  std::size_t location = 0;
  std::size_t length = 0;

  bool read_only = false;  // a plain read (see the top of this file); !goes_to_shadow()
  // INSERT/UPDATE/DELETE/MERGE anywhere (data-modifying CTEs too), COPY FROM, TRUNCATE,
  // SELECT INTO, CREATE TABLE AS / MATERIALIZED VIEW with data, REFRESH MATERIALIZED VIEW.
  bool writes_data = false;
  bool ddl = false;  // CREATE/ALTER/DROP/GRANT/COMMENT/... (every utility statement not below)
  transaction_verb tx = transaction_verb::none;
  bool tx_chain = false;  // COMMIT/ROLLBACK AND CHAIN: a new transaction starts at once
  // Changes state that later statements of the session see: SET/RESET (SET LOCAL too),
  // SET ROLE / SESSION AUTHORIZATION, PREPARE/DEALLOCATE, DECLARE/FETCH/MOVE/CLOSE,
  // LISTEN/UNLISTEN, DISCARD, LOAD, SET CONSTRAINTS, CREATE TEMP TABLE/VIEW/SEQUENCE,
  // SELECT INTO TEMP, and calls to set_config/setseed.
  bool session_state = false;
  // Creates a temporary table, view or sequence (part of session_state): replayed on a fresh
  // shadow connection, but never on a connection that only re-runs a read (noise checks).
  bool creates_temp_object = false;
  // The state ends with the transaction (SET LOCAL, SET TRANSACTION, SET CONSTRAINTS, DECLARE
  // without HOLD): needed by the shadow now, but not replayed on a new shadow connection.
  bool transaction_scoped = false;
  bool locking_read = false;  // FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE; LOCK TABLE
  // Calls something that may change state: see "Function calls" above; also DO and CALL.
  bool volatile_call = false;
  // Each server computes its own value: now(), CURRENT_TIMESTAMP and the other SQL time
  // keywords, clock_timestamp(), statement_timestamp(), transaction_timestamp(), timeofday(),
  // random(), gen_random_uuid(), uuid_generate_v1/v1mc/v4, txid_current, pg_current_xact_id.
  bool nondeterministic = false;
  // Takes sequence values: nextval/setval, or an INSERT, MERGE, COPY FROM or UPDATE ... SET
  // col = DEFAULT, which may fire serial/identity defaults (the proxy orders these per table).
  bool uses_sequence = false;
  // Effects beyond the flags above, or unknown: NOTIFY, VACUUM/ANALYZE/CLUSTER/REINDEX,
  // CHECKPOINT, ALTER SYSTEM, COPY to or from a server file or program, EXECUTE of an SQL
  // PREPAREd statement (the classifier cannot see what it runs).
  bool other_effects = false;
  bool unparseable = false;
  // Cannot run inside a transaction block: VACUUM, CREATE/DROP DATABASE or TABLESPACE, ALTER
  // SYSTEM, REINDEX, CREATE INDEX / DROP INDEX CONCURRENTLY, CREATE/ALTER/DROP SUBSCRIPTION,
  // CLUSTER, ALTER DATABASE, DISCARD ALL, ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY,
  // CALL, and DO blocks that COMMIT or ROLLBACK.
  bool outside_transaction = false;
  // CREATE INDEX CONCURRENTLY, REINDEX ... CONCURRENTLY: when one fails, PostgreSQL leaves
  // the invalid index it was building behind (the failure is not transactional).
  bool concurrent_index_build = false;
  bool copy_from_stdin = false;
  bool copy_to_stdout = false;
  // Data targets, in order of appearance, without duplicates.
  std::vector<table_name> tables_written;

  [[nodiscard]] bool goes_to_shadow() const { return !read_only; }
};

struct classification {
  // One entry per statement, in order. Empty for an empty or comment-only string; a single
  // unparseable entry covering the whole string when it does not parse.
  std::vector<statement_info> statements;
  std::uint64_t fingerprint = 0;  // libpg_query's fingerprint of the whole string; 0 if none
  bool unparseable = false;
  unparseable_reason reason = unparseable_reason::none;

  [[nodiscard]] bool goes_to_shadow() const;  // any statement does
};

struct classify_options {
  std::size_t max_sql_bytes = std::size_t{1} << 20;
  // pg_query_fingerprint parses the text a second time (~8 us for a pgbench statement);
  // callers that do not need it save that.
  bool fingerprint = true;
  // Functions the user declares free of side effects, so reads calling them stay reads: "f"
  // (any schema) or "schema.f", as PostgreSQL folds names (lower case unless quoted). A view:
  // the strings must outlive the call.
  std::span<const std::string> read_only_functions = {};
};

[[nodiscard]] classification classify(std::string_view sql, const classify_options& options = {});

}  // namespace dw::compare
