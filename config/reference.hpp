// The configuration reference, rendered from the option and flag tables. docs/configuration.md
// is this output (a test keeps it fresh); `dwproxy --print-config-reference` prints it.
#pragma once

#include <string>
#include <string_view>

namespace dw::config {

/// Markdown: an example file, every option (type, default, reload, doc), address forms,
/// backends, users, paths and secrets, and the command line.
[[nodiscard]] std::string render_reference_markdown();

/// The example configuration shown in the reference; tests load it, so it stays valid.
[[nodiscard]] std::string_view example_yaml() noexcept;

}  // namespace dw::config
