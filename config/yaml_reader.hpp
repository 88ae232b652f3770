// YAML text into a draft config (internal to dw_config). Every key is looked up in the option
// table; unknown keys, wrong shapes and bad values become problems with file:line:column.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "config/draft.hpp"

namespace dw::config {

/// Reads one YAML document. Relative paths in it resolve against base_dir. Returns false when
/// the text is not YAML at all (then checking further would only repeat that problem).
bool read_yaml(draft& d, std::string_view text, const std::string& file,
               const std::filesystem::path& base_dir);

}  // namespace dw::config
