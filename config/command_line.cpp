// The flag table and its parser. Option flags take their help text and value checks from the
// option table, so a flag and its YAML key can never disagree.
// Security: values are never echoed in problems; a misplaced connection string is a password.
#include "config/command_line.hpp"

#include <algorithm>
#include <optional>

#include "config/conninfo.hpp"
#include "config/options.hpp"
#include "config/problem.hpp"
#include "config/suggest.hpp"

namespace dw::config {
namespace {

enum class action { config, check_config, print_reference, help, version, old_uri, new_uri, set };

struct flag_spec {
  std::string_view name;
  std::string_view metavar;  ///< empty: takes no value
  action what;
  std::string_view option;  ///< for action::set
  std::string_view help;    ///< empty: the option's doc line
};

constexpr flag_spec flags[] = {
    {"--config", "FILE", action::config, "",
     "YAML configuration file; the flags below override it"},
    {"--check-config", "FILE", action::check_config, "",
     "Load and validate FILE (with any flags) exactly as a start would, then exit"},
    {"--print-config-reference", "", action::print_reference, "",
     "Print every configuration option as markdown, then exit"},
    {"--help", "", action::help, "", "Print this help, then exit (also -h)"},
    {"--version", "", action::version, "", "Print the version, then exit"},
    {"--listen", "ADDR", action::set, "listen",
     "Client address: host:port, [v6]:port, *:port or unix:DIR:PORT; repeat for more "
     "(replaces the file's list)"},
    {"--old", "URI", action::old_uri, "",
     "OLD backend as a libpq URI or key=value string (replaces backends.old)"},
    {"--new", "URI", action::new_uri, "", "NEW backend, same forms (replaces backends.new)"},
    {"--phase", "N", action::set, "phase", ""},
    {"--threads", "N", action::set, "threads", ""},
    {"--log-level", "LEVEL", action::set, "logging.level", ""},
    {"--log-file", "FILE", action::set, "logging.file", ""},
    {"--tls-cert", "FILE", action::set, "tls.cert", ""},
    {"--tls-key", "FILE", action::set, "tls.key", ""},
    {"--max-clients", "N", action::set, "limits.max_clients", ""},
    {"--state-file", "FILE", action::set, "state_file", ""},
    {"--control-socket", "PATH", action::set, "control.socket", ""},
    {"--http-listen", "HOST:PORT", action::set, "control.http_listen", ""},
};

const flag_spec* find_flag(std::string_view name) {
  for (const auto& f : flags)
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<std::string> flag_names() {
  std::vector<std::string> out;
  for (const auto& f : flags) out.emplace_back(f.name);
  return out;
}

class parser {
 public:
  command_line run(int argc, const char* const* argv);

 private:
  void report(std::string key, std::string msg) {
    problems_.push_back(problem{"command line", 0, 0, std::move(key), std::move(msg)});
  }
  /// The separate argument after a flag that takes one; nullopt (reported) when missing.
  std::optional<std::string_view> take_value(const flag_spec& f, const char* next, int& index);
  void apply(const flag_spec& f, std::string_view value);
  std::optional<backend> read_backend(const flag_spec& f, std::string_view value);

  command_line cl_;
  std::vector<problem> problems_;
  std::vector<std::string_view> seen_;
  config scratch_;  // flag values are checked by assigning them here
};

command_line parser::run(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (!arg.starts_with("--")) {
      report("argument " + std::to_string(i), "unexpected; flags start with --");
      continue;
    }
    const auto eq = arg.find('=');
    const auto name = arg.substr(0, eq);
    const flag_spec* f = find_flag(name);
    if (f == nullptr) {
      report(std::string{name}, "unknown flag" + did_you_mean(name, flag_names()));
      continue;
    }
    const auto value = eq != std::string_view::npos
                           ? std::optional{arg.substr(eq + 1)}
                           : take_value(*f, i + 1 < argc ? argv[i + 1] : nullptr, i);
    if (!value) continue;
    if (eq != std::string_view::npos && f->metavar.empty())
      report(std::string{name}, "takes no value");
    const bool repeated = std::find(seen_.begin(), seen_.end(), f->name) != seen_.end();
    seen_.push_back(f->name);
    if (repeated && f->option != "listen") {
      report(std::string{name}, "given more than once");
      continue;
    }
    apply(*f, *value);
  }
  if (std::count(seen_.begin(), seen_.end(), "--config") &&
      std::count(seen_.begin(), seen_.end(), "--check-config"))
    report("--check-config", "give --config or --check-config, not both");
  if (!problems_.empty()) throw config_error{std::move(problems_)};
  return std::move(cl_);
}

std::optional<std::string_view> parser::take_value(const flag_spec& f, const char* next,
                                                   int& index) {
  if (f.metavar.empty()) return std::string_view{};
  // A following flag means the value was forgotten; a value starting with "--" needs "=".
  if (next == nullptr || std::string_view{next}.starts_with("--")) {
    report(std::string{f.name}, "needs a value (" + std::string{f.metavar} + ")");
    return std::nullopt;
  }
  ++index;
  return std::string_view{next};
}

void parser::apply(const flag_spec& f, std::string_view value) {
  switch (f.what) {
    case action::config:
      cl_.config_file = std::string{value};
      return;
    case action::check_config:
      cl_.config_file = std::string{value};
      cl_.check_only = true;
      return;
    case action::print_reference:
      cl_.print_reference = true;
      return;
    case action::help:
      cl_.help = true;
      return;
    case action::version:
      cl_.version = true;
      return;
    case action::old_uri:
      cl_.old_backend = read_backend(f, value);
      return;
    case action::new_uri:
      cl_.new_backend = read_backend(f, value);
      return;
    case action::set:
      break;
  }
  const option* o = find_option(option_scope::root, f.option);
  if (o->kind == option_kind::listen_list) scratch_.listen.clear();
  if (auto msg = assign(*o, bind(*o, scratch_), value, {}); !msg.empty())
    return report(std::string{f.name}, std::move(msg));
  cl_.settings.push_back(
      flag_setting{std::string{f.name}, std::string{o->name}, std::string{value}});
}

std::optional<backend> parser::read_backend(const flag_spec& f, std::string_view value) {
  backend b;
  apply_defaults(b);
  b.name = f.what == action::old_uri ? "old" : "new";
  read_conninfo(secret{std::string{value}}, f.name, b, problems_);
  return b;
}

// Greedy word wrap of `text` into lines starting at column `indent`, 100 columns wide.
std::string wrap(std::string_view text, std::size_t indent, std::size_t used) {
  constexpr std::size_t width = 100;
  std::string out;
  std::size_t column = used;
  while (!text.empty()) {
    const auto space = text.find(' ');
    const auto word = text.substr(0, space);
    if (column > indent && column + 1 + word.size() > width) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
    } else if (column > indent) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
  }
  return out;
}

}  // namespace

command_line parse_command_line(int argc, const char* const* argv) {
  return parser{}.run(argc, argv);
}

std::string help_text() {
  std::string out =
      "Usage:\n"
      "  dwproxy [--config FILE] [flags]        run the proxy\n"
      "  dwproxy --check-config FILE [flags]    validate the configuration and exit\n"
      "  dwproxy --print-config-reference       print every configuration option\n"
      "  dwproxy --help | --version\n"
      "\n"
      "Quick start, no file needed:\n"
      "  dwproxy --listen 127.0.0.1:6432 --old postgresql://app:pw@127.0.0.1:5432/appdb "
      "[--new URI]\n"
      "  Clients log in as the --old URI's user with its password; each backend is reached with\n"
      "  its own URI's credentials. URI keywords used: host, port, dbname, user, password,\n"
      "  sslmode, sslrootcert, connect_timeout.\n"
      "\n"
      "Flags (override the file's values):\n";
  constexpr std::size_t indent = 30;
  for (const auto& f : flags) {
    std::string head = "  " + std::string{f.name};
    if (!f.metavar.empty()) head += " " + std::string{f.metavar};
    std::string help{f.help};
    if (f.what == action::set) {
      const option* o = find_option(option_scope::root, f.option);
      if (help.empty()) help = std::string{o->doc};
      help += " [" + std::string{o->name} + "]";
    }
    head.resize(std::max(head.size() + 1, indent), ' ');
    out += head + wrap(help, indent, head.size()) + "\n";
  }
  return out;
}

}  // namespace dw::config
