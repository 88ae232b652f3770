// File reading for config loading (internal to dw_config): the config file, password files,
// and readability checks of TLS files. Errors name the path and the OS reason, never content.
#pragma once

#include <string>

namespace dw::config {

/// Reads the whole file into `content`. Returns "" or "cannot read <path>: <reason>".
[[nodiscard]] std::string read_text_file(const std::string& path, std::string& content);

/// Checks that `path` names a regular file this process can open for reading.
[[nodiscard]] std::string check_readable(const std::string& path);

}  // namespace dw::config
