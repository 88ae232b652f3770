// File reading for config loading (internal to dw_config): the config file, password files,
// and readability checks of TLS files. Errors name the path and the OS reason, never content.
#pragma once

#include <cstddef>
#include <string>

namespace dw::config {

/// Config and secret files are small; a larger file is refused rather than read into memory.
inline constexpr std::size_t max_text_file_bytes = std::size_t{4} << 20;

/// Reads the whole file into `content`. Returns "" or "cannot read <path>: <reason>" (also
/// when it is larger than max_text_file_bytes).
[[nodiscard]] std::string read_text_file(const std::string& path, std::string& content);

/// Checks that `path` names a regular file this process can open for reading.
[[nodiscard]] std::string check_readable(const std::string& path);

}  // namespace dw::config
