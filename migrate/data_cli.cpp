// From parsed options to a run and an exit status. Results go to `out` (a table, or JSON with
// --json); progress and errors go to `err`. Every exception ends here as a message.
#include "migrate/data_cli.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <mutex>
#include <ostream>

#include "compare/verify.hpp"
#include "config/problem.hpp"
#include "migrate/backfill.hpp"
#include "migrate/data_options.hpp"
#include "migrate/interrupt.hpp"
#include "migrate/repair.hpp"

namespace dw::migrate {
namespace {

/// Rows listed per table in JSON output and the report file: enough for repair scripts, yet
/// bounded for a table that is missing entirely on NEW. Counts are always exact.
constexpr std::size_t json_max_rows = 1000;

/// The options every data command takes the same way.
template <class Options>
Options common_options(const data_options& o, const std::atomic<bool>& stop) {
  Options out;
  out.tables = o.tables;
  out.chunking = o.chunking;
  out.max_rows_per_second = o.max_rate;
  out.stop = &stop;
  return out;
}

int verify_command(const data_options& o, const data_endpoints& ep,
                   const std::atomic<bool>& stop, std::ostream& out, std::ostream& err) {
  auto v = common_options<compare::verify_options>(o, stop);
  v.jobs = o.jobs;
  v.recheck_rounds = o.recheck;
  v.rules = ep.rules;
  std::mutex err_mutex;
  if (!o.quiet)
    v.on_table = [&](const compare::table_comparison& t) {
      const std::lock_guard lock{err_mutex};
      err << fmt::format("verify: {}: {} ({} rows on OLD, {} chunk(s), {:.1f} s)\n",
                         t.table.display(),
                         !t.error.empty() ? "error" : t.matches() ? "identical" : "DIFFERS",
                         t.rows_old, t.chunks, t.seconds);
    };
  const auto report = compare::run_verify(ep.old_side, ep.new_side, v);
  const auto path = o.report.empty() ? ep.verify_report : o.report;
  const auto json = compare::report_json(report, json_max_rows);
  if (!path.empty()) compare::write_file_atomically(path, json + "\n");
  if (o.json) {
    out << json << '\n';
  } else {
    compare::render_report(report, out, o.max_rows);
    if (!path.empty()) out << "report: " << path << '\n';
  }
  if (report.interrupted) return exit_interrupted;
  return report.passed() ? exit_ok : exit_differs;
}

int backfill_command(const data_options& o, const data_endpoints& ep,
                     const std::atomic<bool>& stop, std::ostream& out, std::ostream& err) {
  auto b = common_options<backfill_options>(o, stop);
  b.jobs = o.jobs;
  b.checkpoint = o.checkpoint;
  b.restart = o.restart;
  b.sequences = o.sequences;
  b.sequences_only = o.sequences_only;
  b.copying.source_lock_timeout = o.lock_timeout;
  b.progress = o.quiet ? nullptr : &err;
  b.progress_terminal = ::isatty(STDERR_FILENO) == 1;
  const auto s = run_backfill(ep.old_side, ep.new_side, b);
  if (o.json)
    out << backfill_json(s) << '\n';
  else
    render_backfill(s, out);
  if (s.interrupted) return exit_interrupted;
  return s.ok() ? exit_ok : exit_differs;
}

int repair_command(const data_options& o, const data_endpoints& ep,
                   const std::atomic<bool>& stop, std::ostream& out) {
  auto r = common_options<repair_options>(o, stop);
  r.direction = o.reverse ? repair_direction::new_to_old : repair_direction::old_to_new;
  r.apply = o.apply;
  r.log = o.log;
  r.recheck_rounds = o.recheck;
  r.copying.source_lock_timeout = o.lock_timeout;
  const auto s = run_repair(ep.old_side, ep.new_side, r);
  if (o.json)
    out << repair_json(s) << '\n';
  else
    render_repair(s, out, o.max_rows);
  if (s.interrupted) return exit_interrupted;
  if (!s.ok()) return exit_differs;
  return s.applied || s.planned() == 0 ? exit_ok : exit_differs;
}

std::string_view command_word(data_command c) {
  switch (c) {
    case data_command::verify:
      return "verify";
    case data_command::backfill:
      return "backfill";
    case data_command::repair:
      return "repair";
  }
  return "verify";
}

}  // namespace

bool is_data_command(std::span<const std::string_view> args) noexcept {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto a = args[i];
    if (a == "--socket" || a == "--timeout") {
      ++i;
      continue;
    }
    if (a.starts_with("--")) continue;
    return a == "verify" || a == "backfill" || a == "repair";
  }
  return false;
}

int run_data_command(std::span<const std::string_view> args, std::ostream& out,
                     std::ostream& err) {
  data_options o;
  data_endpoints ep;
  try {
    o = parse_data_options(args);
    if (o.help) {
      out << data_usage(o.command);
      return exit_ok;
    }
    o.connection.application_name = fmt::format("dwctl {}", command_word(o.command));
    ep = resolve_endpoints(o.connection);
  } catch (const config::config_error& e) {
    err << "dwctl: " << e.what() << '\n';
    return exit_usage;
  } catch (const std::invalid_argument& e) {
    err << "dwctl: " << e.what() << "\n(dwctl " << command_word(o.command)
        << " --help lists the options)\n";
    return exit_usage;
  }
  const auto& stop = install_interrupt_handlers();
  try {
    switch (o.command) {
      case data_command::verify:
        return verify_command(o, ep, stop, out, err);
      case data_command::backfill:
        return backfill_command(o, ep, stop, out, err);
      case data_command::repair:
        return repair_command(o, ep, stop, out);
    }
  } catch (const compare::pg_error& e) {
    err << "dwctl " << command_word(o.command) << ": " << e.what() << '\n';
    return e.connection_failed() ? exit_no_connection : exit_error;
  } catch (const std::invalid_argument& e) {
    err << "dwctl " << command_word(o.command) << ": " << e.what() << '\n';
    return exit_usage;
  } catch (const std::exception& e) {
    err << "dwctl " << command_word(o.command) << ": " << e.what() << '\n';
    return exit_error;
  }
  return exit_error;
}

}  // namespace dw::migrate
