// Public entry points of dw_config: load a YAML file, or merge a file with command-line flags,
// and get back a frozen, validated config, or a config_error listing every problem found.
// --check-config runs exactly this code (STYLE.md 33).
#pragma once

#include <string>
#include <string_view>

#include "config/command_line.hpp"
#include "config/config.hpp"
#include "config/problem.hpp"

namespace dw::config {

/// Loads and validates a YAML file; relative paths in it resolve against its folder.
/// Throws config_error.
[[nodiscard]] config load_file(const std::string& path);

/// As load_file, for YAML held in memory; `source_name` names it in problems. Relative paths
/// stay relative to the working directory. Throws config_error.
[[nodiscard]] config load_yaml_string(std::string_view yaml, std::string source_name);

/// The config file (if cl.config_file), then the flags over it, then validation.
/// Throws config_error.
[[nodiscard]] config build(const command_line& cl);

}  // namespace dw::config
