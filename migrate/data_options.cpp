#include "migrate/data_options.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <functional>
#include <map>

namespace dw::migrate {
namespace {

constexpr std::string_view connection_help = R"(
backends (dwproxy's own configuration, libpq URIs, or both; URIs win):
  --config FILE        backends.old and backends.new with their credentials and TLS
  --old URI --new URI  postgresql://user:password@host:5432/db (or key=value strings)
  --dbname NAME        database on both sides, over what the sources say
)";

constexpr std::string_view verify_help = R"(usage: dwctl verify [backends] [options]

Compares OLD and NEW: every table in primary-key chunks (count and a checksum computed by each
server, in REPEATABLE READ snapshots; differing chunks are drilled into to the exact rows),
tables without a key as a whole, the schema (columns, types, constraints, indexes), the
constraints in force on NEW, sequence positions (NEW must not lag), and the business_rules of
the configuration file.

options:
  --tables LIST        comma-separated tables (schema.table, "Quoted Name"); default: all
  --jobs N             tables compared in parallel (default 2)
  --chunk-rows N       rows in the first chunk (default 10000)
  --chunk-time-ms MS   adapt chunks to take about this long (default 500; 0: fixed size)
  --max-rate ROWS      rows per second over all jobs, to spare production (default: no limit)
  --recheck N          re-read differing rows up to N times, to let in-flight writes land
                       (default 3)
  --report FILE        write the JSON report there (default: gates.verify_report of --config)
  --json               print the JSON report instead of the table
  --max-rows N         differing rows listed per table (default 20)
  --quiet              no progress lines on stderr

exit status: 0 passed, 1 differences found, 2 usage error, 3 cannot connect, 4 error,
130 interrupted
)";

constexpr std::string_view backfill_help = R"(usage: dwctl backfill [backends] [options]

Copies every table's rows from OLD to NEW in primary-key chunks with COPY (binary where the
types allow), safe while dwproxy runs in phase 1: each chunk's rows are locked on OLD until
they are committed on NEW. Idempotent, resumable from its checkpoint after a crash or Ctrl-C.

options:
  --tables LIST        comma-separated tables; default: all
  --jobs N             workers copying chunks at once, of one table or several (default 2)
  --chunk-rows N       rows in the first chunk (default 10000)
  --chunk-time-ms MS   adapt chunks to take about this long (default 500; 0: fixed size);
                       writers to a chunk's rows wait at most about this long
  --max-rate ROWS      rows per second over all jobs (default: no limit)
  --lock-timeout-ms MS give up a chunk's row locks after this and retry (default 200)
  --checkpoint FILE    resume point (default dwctl-backfill.checkpoint.json); removed when done
  --restart            ignore an existing checkpoint and copy everything again
  --sequences-only     copy no rows, only move NEW's sequences up to OLD's: before phase 1,
                       with the application paused (see docs/verify-backfill.md)
  --sequences          also move each table's sequences up to OLD's once it is copied; only
                       when nothing writes (an offline copy): under dual-write it races with
                       inserts in flight
  --json               print the summary as JSON
  --quiet              no progress bar on stderr

exit status: 0 done, 1 a table failed, 2 usage error, 3 cannot connect, 4 error,
130 interrupted (run it again to resume)
)";

constexpr std::string_view repair_help = R"(usage: dwctl repair [backends] [options]

Finds the rows that differ (as verify does) and makes NEW match OLD, or with --reverse OLD
match NEW (phase 3). A dry run unless --apply; every change is logged.

options:
  --tables LIST        comma-separated tables; default: all
  --apply              change the data (default: only list what would change)
  --reverse            make OLD match NEW instead
  --log FILE           JSON lines, one per change (default dwctl-repair.jsonl, mode 0600)
  --chunk-rows N, --chunk-time-ms MS, --max-rate ROWS, --recheck N, --lock-timeout-ms MS
                       as for verify and backfill
  --json               print the summary as JSON
  --max-rows N         changes listed per table (default 20)

exit status: 0 nothing to repair or all applied, 1 changes pending (dry run) or failed,
2 usage error, 3 cannot connect, 4 error, 130 interrupted
)";

template <class T>
T number(std::string_view flag, std::string_view text, T min, T max) {
  T v{};
  const auto* end = text.data() + text.size();
  if (auto [p, ec] = std::from_chars(text.data(), end, v); ec != std::errc{} || p != end)
    throw usage_error{std::string{flag} + " needs a number, got '" + std::string{text} + "'"};
  if (v < min || v > max)
    throw usage_error{std::string{flag} + " must be " + std::to_string(min) + "-" +
                      std::to_string(max)};
  return v;
}

class parser {
 public:
  explicit parser(std::span<const std::string_view> args) : args_{args} {}

  data_options run() {
    bool command_seen = false;
    for (i_ = 0; i_ < args_.size(); ++i_) {
      const auto arg = args_[i_];
      if (!arg.starts_with("--") && !command_seen) {
        o_.command = command_of(arg);
        command_seen = true;
        continue;
      }
      if (!arg.starts_with("--")) throw usage_error{"unexpected argument '" + std::string{arg} + "'"};
      option(arg);
    }
    if (!command_seen) throw usage_error{"no command given"};
    check_applicable();
    return o_;
  }

 private:
  static data_command command_of(std::string_view word) {
    if (word == "verify") return data_command::verify;
    if (word == "backfill") return data_command::backfill;
    if (word == "repair") return data_command::repair;
    throw usage_error{"unknown command '" + std::string{word} + "'"};
  }

  std::string_view value(std::string_view flag) {
    if (i_ + 1 >= args_.size() || args_[i_ + 1].starts_with("--"))
      throw usage_error{std::string{flag} + " needs a value"};
    return args_[++i_];
  }

  void option(std::string_view flag) {
    using limits = std::numeric_limits<unsigned>;
    const std::map<std::string_view, std::function<void()>> flags{
        {"--config", [&] { o_.connection.config_file = value(flag); }},
        {"--old", [&] { o_.connection.old_uri = std::string{value(flag)}; }},
        {"--new", [&] { o_.connection.new_uri = std::string{value(flag)}; }},
        {"--dbname", [&] { o_.connection.dbname = value(flag); }},
        {"--tables",
         [&] {
           auto more = parse_table_list(value(flag));
           o_.tables.insert(o_.tables.end(), more.begin(), more.end());
         }},
        {"--jobs", [&] { o_.jobs = number<unsigned>(flag, value(flag), 1, 64); }},
        {"--chunk-rows",
         [&] { o_.chunking.initial_rows = number<std::uint64_t>(flag, value(flag), 1, 10'000'000); }},
        {"--chunk-time-ms",
         [&] {
           const auto ms = number<unsigned>(flag, value(flag), 0, 600'000);
           o_.chunking.adaptive = ms > 0;
           o_.chunking.target = std::chrono::milliseconds{ms};
         }},
        {"--max-rate", [&] { o_.max_rate = number<unsigned>(flag, value(flag), 1, limits::max()); }},
        {"--recheck", [&] { o_.recheck = number<int>(flag, value(flag), 0, 100); }},
        {"--lock-timeout-ms",
         [&] { o_.lock_timeout = std::chrono::milliseconds{number<unsigned>(flag, value(flag), 1, 60'000)}; }},
        {"--json", [&] { o_.json = true; }},
        {"--quiet", [&] { o_.quiet = true; }},
        {"--max-rows", [&] { o_.max_rows = number<std::size_t>(flag, value(flag), 0, 1'000'000); }},
        {"--help", [&] { o_.help = true; }},
        {"--report", [&] { o_.report = value(flag); }},
        {"--checkpoint", [&] { o_.checkpoint = value(flag); }},
        {"--restart", [&] { o_.restart = true; }},
        {"--sequences", [&] { o_.sequences = true; }},
        {"--sequences-only", [&] { o_.sequences_only = true; }},
        {"--reverse", [&] { o_.reverse = true; }},
        {"--apply", [&] { o_.apply = true; }},
        {"--log", [&] { o_.log = value(flag); }},
    };
    const auto it = flags.find(flag);
    if (it == flags.end()) throw usage_error{"unknown option " + std::string{flag}};
    seen_.push_back(flag);
    it->second();
  }

  /// Options that mean nothing to the command are refused rather than silently ignored.
  void check_applicable() const {
    const std::map<data_command, std::vector<std::string_view>> refused{
        {data_command::verify, {"--checkpoint", "--restart", "--sequences", "--sequences-only",
                                "--reverse", "--apply", "--log", "--lock-timeout-ms"}},
        {data_command::backfill, {"--report", "--recheck", "--reverse", "--apply", "--log",
                                  "--max-rows"}},
        {data_command::repair, {"--report", "--checkpoint", "--restart", "--sequences",
                                "--sequences-only", "--jobs", "--quiet"}},
    };
    const auto given = [&](std::string_view flag) {
      return std::find(seen_.begin(), seen_.end(), flag) != seen_.end();
    };
    for (const auto flag : refused.at(o_.command))
      if (given(flag)) throw usage_error{std::string{flag} + " does not apply to this command"};
    if (given("--sequences-only") && given("--sequences"))
      throw usage_error{"--sequences-only and --sequences: give one of them"};
  }

  std::span<const std::string_view> args_;
  std::size_t i_ = 0;
  data_options o_;
  std::vector<std::string_view> seen_;
};

}  // namespace

std::vector<compare::table_pattern> parse_table_list(std::string_view list) {
  std::vector<compare::table_pattern> out;
  std::string item;
  bool quoted = false;
  auto flush = [&] {
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    const auto trimmed = first == std::string::npos ? std::string{} : item.substr(first, last - first + 1);
    if (trimmed.empty()) throw usage_error{"--tables has an empty entry"};
    auto p = compare::parse_table_pattern(trimmed);
    if (!p) throw usage_error{"--tables: cannot read the table name '" + trimmed + "'"};
    out.push_back(std::move(*p));
    item.clear();
  };
  for (const char c : list) {
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      flush();
      continue;
    }
    item += c;
  }
  flush();
  return out;
}

std::string data_usage(data_command c) {
  std::string_view body = verify_help;
  if (c == data_command::backfill) body = backfill_help;
  if (c == data_command::repair) body = repair_help;
  // The backends block goes right after the usage line and the description.
  const auto options = body.find("\noptions:");
  return std::string{body.substr(0, options + 1)} + std::string{connection_help.substr(1)} +
         std::string{body.substr(options)};
}

data_options parse_data_options(std::span<const std::string_view> args) {
  return parser{args}.run();
}

}  // namespace dw::migrate
