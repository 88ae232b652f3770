// classify(): statement-level rules, plus a walk over the parts of a statement that run when
// it runs (not a PREPARE's body, a view's query or a column default: those run later).
#include "compare/classifier.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "compare/function_rules.hpp"
#include "compare/parse_nodes.hpp"
#include "compare/sql_parser.hpp"

namespace dw::compare {
namespace {

namespace json = boost::json;
using detail::array_field;
using detail::as_node;
using detail::bool_field;
using detail::node;
using detail::object_field;
using detail::string_field;

bool is_temp(const json::object* range_var) {
  return range_var != nullptr && string_field(*range_var, "relpersistence") == "t";
}

bool is_time_keyword(std::string_view svfop) {
  // SVFOP_CURRENT_DATE/TIME/TIMESTAMP and SVFOP_LOCALTIME/LOCALTIMESTAMP, with or without (n);
  // not CURRENT_USER, CURRENT_SCHEMA and the like.
  return svfop.starts_with("SVFOP_CURRENT_DATE") || svfop.starts_with("SVFOP_CURRENT_TIME") ||
         svfop.starts_with("SVFOP_LOCALTIME");
}

// REINDEX (CONCURRENTLY) / REINDEX ... CONCURRENTLY: the option is a DefElem in "params".
bool reindexes_concurrently(const json::object& reindex) {
  const auto* params = array_field(reindex, "params");
  if (params == nullptr) return false;
  return std::any_of(params->begin(), params->end(), [](const json::value& p) {
    const auto def = as_node(p);
    return def && def->type == "DefElem" && string_field(*def->fields, "defname") == "concurrently";
  });
}

// ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY, which PostgreSQL refuses inside a
// transaction block.
bool detaches_concurrently(const json::object& alter_table) {
  const auto* cmds = array_field(alter_table, "cmds");
  if (cmds == nullptr) return false;
  for (const auto& c : *cmds) {
    const auto cmd = as_node(c);
    if (!cmd || cmd->type != "AlterTableCmd") continue;
    const auto* def = cmd->fields->if_contains("def");
    const auto partition = def != nullptr ? as_node(*def) : std::nullopt;
    if (partition && partition->type == "PartitionCmd" && bool_field(*partition->fields, "concurrent"))
      return true;
  }
  return false;
}

// Whether a DO block's body names COMMIT or ROLLBACK as a word: such a block runs its own
// transactions, which PostgreSQL allows only outside a transaction block. A mention in a
// comment or string is taken too; that only costs the block its ordering wrap.
bool do_controls_transactions(const json::object& do_stmt) {
  const auto* args = array_field(do_stmt, "args");
  if (args == nullptr) return false;
  for (const auto& a : *args) {
    const auto def = as_node(a);
    if (!def || def->type != "DefElem" || string_field(*def->fields, "defname") != "as") continue;
    const auto* arg = def->fields->if_contains("arg");
    if (arg == nullptr) continue;
    std::string body{detail::string_node(*arg)};
    std::transform(body.begin(), body.end(), body.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto is_word_char = [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
    };
    for (std::string_view word : {std::string_view{"commit"}, std::string_view{"rollback"}}) {
      for (auto at = body.find(word); at != std::string::npos; at = body.find(word, at + 1)) {
        const bool starts = at == 0 || !is_word_char(body[at - 1]);
        const bool ends = at + word.size() == body.size() || !is_word_char(body[at + word.size()]);
        if (starts && ends) return true;
      }
    }
  }
  return false;
}

transaction_verb verb_of(std::string_view kind) {
  static constexpr std::array<std::pair<std::string_view, transaction_verb>, 10> verbs{{
      {"TRANS_STMT_BEGIN", transaction_verb::begin},
      {"TRANS_STMT_START", transaction_verb::begin},
      {"TRANS_STMT_COMMIT", transaction_verb::commit},
      {"TRANS_STMT_ROLLBACK", transaction_verb::rollback},
      {"TRANS_STMT_SAVEPOINT", transaction_verb::savepoint},
      {"TRANS_STMT_RELEASE", transaction_verb::release},
      {"TRANS_STMT_ROLLBACK_TO", transaction_verb::rollback_to},
      {"TRANS_STMT_PREPARE", transaction_verb::prepare_transaction},
      {"TRANS_STMT_COMMIT_PREPARED", transaction_verb::commit_prepared},
      {"TRANS_STMT_ROLLBACK_PREPARED", transaction_verb::rollback_prepared},
  }};
  for (const auto& [name, verb] : verbs) {
    if (name == kind) return verb;
  }
  return transaction_verb::none;
}

template <std::size_t N>
bool one_of(std::string_view type, const std::array<std::string_view, N>& types) {
  return std::find(types.begin(), types.end(), type) != types.end();
}

constexpr std::array<std::string_view, 8> session_statements = {
    "PrepareStmt", "DeallocateStmt", "ClosePortalStmt", "FetchStmt",
    "ListenStmt",  "UnlistenStmt",   "DiscardStmt",     "LoadStmt"};
constexpr std::array<std::string_view, 6> other_effect_statements = {
    "NotifyStmt", "VacuumStmt", "ClusterStmt", "ReindexStmt", "CheckPointStmt", "AlterSystemStmt"};
// Statements PostgreSQL refuses inside a transaction block (some only in some forms; these
// are the ones that are always refused or usually written that way): bare CLUSTER and CLUSTER
// of a partitioned table, ALTER SUBSCRIPTION ... REFRESH (and SET/ADD/DROP PUBLICATION, which
// refresh by default), ALTER DATABASE ... SET TABLESPACE. CALL too: a procedure may COMMIT
// or ROLLBACK only when it is called outside a transaction block.
constexpr std::array<std::string_view, 13> outside_transaction_statements = {
    "VacuumStmt",          "CreatedbStmt",           "DropdbStmt",
    "CreateTableSpaceStmt", "DropTableSpaceStmt",    "AlterSystemStmt",
    "ReindexStmt",         "CreateSubscriptionStmt", "DropSubscriptionStmt",
    "ClusterStmt",         "AlterSubscriptionStmt",  "AlterDatabaseStmt",
    "CallStmt"};
constexpr std::array<std::string_view, 5> dml_statements = {
    "SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"};

// Collects what one statement does into its statement_info.
class statement_walk {
 public:
  statement_walk(statement_info& info, std::span<const std::string> read_only_functions)
      : info_{info}, read_only_functions_{read_only_functions} {}

  void statement(const node& n);

 private:
  // Everything below v that runs when the statement runs.
  void visit(const json::value& v);
  void visit_fields(const json::object& o);
  void on_node(const node& n);
  void on_function_call(const json::object& call);
  void on_copy(const json::object& copy);
  void on_utility(const node& n);
  void add_table(const json::object* range_var);

  statement_info& info_;
  std::span<const std::string> read_only_functions_;
};

void statement_walk::statement(const node& n) {
  const json::object& f = *n.fields;
  if (one_of(n.type, dml_statements)) {
    on_node(n);
  } else if (n.type == "VariableShowStmt") {
    // SHOW only reads.
  } else if (n.type == "ExplainStmt") {
    const auto* query = f.if_contains("query");
    const auto inner = query != nullptr ? as_node(*query) : std::nullopt;
    if (inner && detail::explain_runs(f)) statement(*inner);
  } else if (n.type == "CopyStmt") {
    on_copy(f);
  } else if (n.type == "TransactionStmt") {
    info_.tx = verb_of(string_field(f, "kind"));
    info_.tx_chain = bool_field(f, "chain");
  } else {
    on_utility(n);
  }
}

void statement_walk::on_utility(const node& n) {
  const json::object& f = *n.fields;
  info_.outside_transaction = one_of(n.type, outside_transaction_statements) ||
                              ((n.type == "IndexStmt" || n.type == "DropStmt") &&
                               bool_field(f, "concurrent")) ||
                              (n.type == "DiscardStmt" && string_field(f, "target") == "DISCARD_ALL") ||
                              (n.type == "AlterTableStmt" && detaches_concurrently(f)) ||
                              (n.type == "DoStmt" && do_controls_transactions(f));
  info_.concurrent_index_build = (n.type == "IndexStmt" && bool_field(f, "concurrent")) ||
                                 (n.type == "ReindexStmt" && reindexes_concurrently(f));
  if (n.type == "VariableSetStmt") {
    info_.session_state = true;
    // SET TRANSACTION ... is written as VAR_SET_MULTI named "TRANSACTION" (or "TRANSACTION
    // SNAPSHOT"); SET SESSION CHARACTERISTICS AS TRANSACTION is session-wide.
    info_.transaction_scoped =
        bool_field(f, "is_local") || (string_field(f, "kind") == "VAR_SET_MULTI" &&
                                      string_field(f, "name").starts_with("TRANSACTION"));
  } else if (n.type == "ConstraintsSetStmt") {
    info_.session_state = info_.transaction_scoped = true;
  } else if (n.type == "DeclareCursorStmt") {
    constexpr std::int64_t cursor_opt_hold = 0x20;  // PostgreSQL's CURSOR_OPT_HOLD
    info_.session_state = true;
    info_.transaction_scoped = (detail::int_field(f, "options") & cursor_opt_hold) == 0;
    visit_fields(f);  // the query runs as the cursor is fetched; FETCH goes where DECLARE went
  } else if (one_of(n.type, session_statements)) {
    info_.session_state = true;
  } else if (n.type == "ExecuteStmt") {
    info_.other_effects = true;
    visit_fields(f);  // the parameters' expressions
  } else if (one_of(n.type, other_effect_statements)) {
    info_.other_effects = true;
  } else if (n.type == "LockStmt") {
    info_.locking_read = true;
  } else if (n.type == "DoStmt") {
    info_.volatile_call = true;
  } else if (n.type == "CallStmt") {
    info_.volatile_call = true;
    if (const auto* call = object_field(f, "funccall")) {
      if (const auto* args = call->if_contains("args")) visit(*args);
    }
  } else if (n.type == "TruncateStmt") {
    info_.writes_data = true;
    if (const auto* relations = array_field(f, "relations")) {
      for (const auto& r : *relations) {
        if (const auto rv = as_node(r)) add_table(rv->fields);
      }
    }
  } else if (n.type == "RefreshMatViewStmt") {
    info_.writes_data = true;
    add_table(object_field(f, "relation"));
  } else if (n.type == "CreateTableAsStmt") {
    info_.ddl = true;
    const auto* into = object_field(f, "into");
    const auto* rel = into != nullptr ? object_field(*into, "rel") : nullptr;
    info_.session_state = info_.creates_temp_object = is_temp(rel);
    if (into != nullptr && !bool_field(*into, "skipData")) {
      info_.writes_data = true;
      add_table(rel);
      if (const auto* query = f.if_contains("query")) visit(*query);
    }
  } else {
    // CREATE/ALTER/DROP and every other utility statement. Temporary objects are session state.
    info_.ddl = true;
    info_.session_state = info_.creates_temp_object =
        (n.type == "CreateStmt" && is_temp(object_field(f, "relation"))) ||
        (n.type == "ViewStmt" && is_temp(object_field(f, "view"))) ||
        (n.type == "CreateSeqStmt" && is_temp(object_field(f, "sequence")));
  }
}

void statement_walk::on_copy(const json::object& copy) {
  const bool server_side = bool_field(copy, "is_program") || copy.contains("filename");
  if (bool_field(copy, "is_from")) {
    info_.writes_data = info_.uses_sequence = true;
    info_.copy_from_stdin = !server_side;
    add_table(object_field(copy, "relation"));
  } else {
    info_.copy_to_stdout = !server_side;
  }
  info_.other_effects = info_.other_effects || server_side;
  visit_fields(copy);  // COPY (query) TO, COPY ... FROM ... WHERE
}

void statement_walk::visit(const json::value& v) {
  if (const auto* list = v.if_array()) {
    for (const auto& item : *list) visit(item);
  } else if (const auto n = as_node(v)) {
    on_node(*n);
  } else if (const auto* o = v.if_object()) {
    visit_fields(*o);
  }
}

void statement_walk::visit_fields(const json::object& o) {
  for (const auto& member : o) visit(member.value());
}

void statement_walk::on_node(const node& n) {
  const json::object& f = *n.fields;
  if (n.type == "FuncCall") {
    on_function_call(f);
  } else if (n.type == "SQLValueFunction") {
    info_.nondeterministic = info_.nondeterministic || is_time_keyword(string_field(f, "op"));
  } else if (n.type == "SelectStmt") {
    info_.locking_read = info_.locking_read || detail::array_size(f, "lockingClause") > 0;
    if (const auto* into = object_field(f, "intoClause")) {  // SELECT ... INTO creates a table
      const auto* rel = object_field(*into, "rel");
      info_.writes_data = info_.ddl = true;
      info_.creates_temp_object = info_.creates_temp_object || is_temp(rel);
      info_.session_state = info_.session_state || info_.creates_temp_object;
      add_table(rel);
    }
  } else if (n.type == "InsertStmt" || n.type == "UpdateStmt" || n.type == "DeleteStmt" ||
             n.type == "MergeStmt") {
    info_.writes_data = true;
    info_.uses_sequence = info_.uses_sequence || n.type == "InsertStmt" || n.type == "MergeStmt";
    add_table(object_field(f, "relation"));
  } else if (n.type == "SetToDefault") {
    info_.uses_sequence = true;  // UPDATE ... SET col = DEFAULT may call nextval
  }
  visit_fields(f);
}

void statement_walk::on_function_call(const json::object& call) {
  const auto facts = detail::lookup_function(detail::call_name(call), read_only_functions_);
  switch (facts.effect) {
    case detail::call_effect::none:
      break;
    case detail::call_effect::sequence_change:
      info_.volatile_call = info_.uses_sequence = true;
      break;
    case detail::call_effect::session_change:
      info_.volatile_call = info_.session_state = true;
      break;
    case detail::call_effect::may_change:
      info_.volatile_call = true;
      break;
  }
  info_.nondeterministic = info_.nondeterministic || facts.value != detail::volatile_value::none;
}

void statement_walk::add_table(const json::object* range_var) {
  if (range_var == nullptr) return;
  table_name t{std::string{string_field(*range_var, "schemaname")},
               std::string{string_field(*range_var, "relname")}};
  if (t.name.empty()) return;
  auto& tables = info_.tables_written;
  if (std::find(tables.begin(), tables.end(), t) == tables.end()) tables.push_back(std::move(t));
}

void finish(statement_info& s) {
  s.read_only = !(s.writes_data || s.ddl || s.tx != transaction_verb::none || s.session_state ||
                  s.locking_read || s.volatile_call || s.other_effects || s.unparseable);
}

unparseable_reason reason_of(detail::parse_failure f) {
  switch (f) {
    case detail::parse_failure::none:
      return unparseable_reason::none;
    case detail::parse_failure::syntax_error:
      return unparseable_reason::syntax_error;
    case detail::parse_failure::too_long:
      return unparseable_reason::too_long;
    case detail::parse_failure::too_deep:
      return unparseable_reason::too_deep;
    case detail::parse_failure::contains_nul:
      return unparseable_reason::contains_nul;
  }
  return unparseable_reason::syntax_error;
}

std::size_t clamp_offset(std::int64_t v, std::size_t size) {
  return v <= 0 ? 0 : std::min(static_cast<std::size_t>(v), size);
}

bool plain_identifier(std::string_view s) {
  if (s.empty() || (s.front() >= '0' && s.front() <= '9') || s.front() == '$') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
  });
}

void append_identifier(std::string& out, std::string_view part) {
  if (plain_identifier(part)) {
    out += part;
    return;
  }
  out += '"';
  for (const char c : part) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace

std::string table_name::key() const {
  std::string out;
  if (!schema.empty()) {
    append_identifier(out, schema);
    out += '.';
  }
  append_identifier(out, name);
  return out;
}

bool classification::goes_to_shadow() const {
  return unparseable || std::any_of(statements.begin(), statements.end(),
                                    [](const statement_info& s) { return s.goes_to_shadow(); });
}

classification classify(std::string_view sql, const classify_options& options) {
  classification out;
  const detail::parse_tree tree{sql, options.max_sql_bytes};
  if (tree.failure() != detail::parse_failure::none) {
    out.unparseable = true;
    out.reason = reason_of(tree.failure());
    statement_info whole;
    whole.length = sql.size();
    whole.unparseable = true;
    out.statements.push_back(std::move(whole));
    return out;
  }
  const json::array& raw_statements = tree.statements();
  out.statements.reserve(raw_statements.size());
  for (const json::value& raw : raw_statements) {
    statement_info info;
    const auto* fields = raw.if_object();
    const auto* stmt = fields != nullptr ? fields->if_contains("stmt") : nullptr;
    const auto n = stmt != nullptr ? as_node(*stmt) : std::nullopt;
    if (fields != nullptr) {
      info.location = clamp_offset(detail::int_field(*fields, "stmt_location"), sql.size());
      const auto length = clamp_offset(detail::int_field(*fields, "stmt_len"), sql.size());
      // stmt_len 0 means "to the end of the string".
      info.length =
          length != 0 ? std::min(length, sql.size() - info.location) : sql.size() - info.location;
    }
    if (n) {
      statement_walk{info, options.read_only_functions}.statement(*n);
    } else {
      info.unparseable = true;  // a tree shape this code does not know: treat as a write
    }
    finish(info);
    out.statements.push_back(std::move(info));
  }
  if (options.fingerprint) {
    if (const auto fp = detail::fingerprint(tree.text())) out.fingerprint = *fp;
  }
  return out;
}

}  // namespace dw::compare
