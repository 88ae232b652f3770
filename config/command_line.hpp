// dwproxy's command line: run from a YAML file, from flags alone (quick start), or both with
// flags overriding the file. Parsing checks every flag value; build() (config_loader.hpp)
// merges the result with the file and runs the same validation as --check-config.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace dw::config {

/// One flag that sets an option, as given: "--phase", "phase", "2". Values are already checked.
struct flag_setting {
  std::string flag;
  std::string option;  ///< name in the option table (scope root)
  std::string value;
};

struct command_line {
  std::string config_file;             ///< --config FILE or --check-config FILE; empty: flags only
  bool check_only = false;             ///< --check-config: load, validate, report, exit
  bool print_reference = false;        ///< --print-config-reference
  bool help = false;                   ///< --help or -h
  bool version = false;                ///< --version
  std::vector<flag_setting> settings;  ///< option flags in the order given
  /// --old / --new, parsed already: connection strings carry passwords, which must not be kept
  /// around as plain strings.
  std::optional<backend> old_backend;
  std::optional<backend> new_backend;
};

/// Throws config_error (file "command line", key = the flag) listing every bad flag.
[[nodiscard]] command_line parse_command_line(int argc, const char* const* argv);

/// The --help text: usage, quick start, and every flag.
[[nodiscard]] std::string help_text();

}  // namespace dw::config
