// The phase persisted across restarts (DESIGN.md: "the phase survives a proxy restart"), as a
// small JSON file replaced atomically. A missing file means "use the configured phase"; a file
// that exists but cannot be read or parsed stops the proxy with the reason, because silently
// falling back to phase 0 after a cutover would send clients to the database being left.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "control/failure.hpp"
#include "control/phase_machine.hpp"

namespace dw::control {

struct persisted_state {
  phase current = phase::passthrough;
  std::chrono::system_clock::time_point updated_at{};
  std::string reason;   ///< the last move's summary, or where the initial phase came from
  bool forced = false;  ///< the last move needed --force

  friend bool operator==(const persisted_state&, const persisted_state&) = default;
};

/// The file's JSON text, newline-terminated:
/// {"version":1,"phase":3,"phase_name":"cutover","updated_at":"...Z","reason":"...","forced":false}
[[nodiscard]] std::string encode_state(const persisted_state& s);

/// Parses a state file's text; every field is required and checked.
[[nodiscard]] outcome<persisted_state> decode_state(std::string_view text);

/// std::nullopt when the file does not exist; any other problem is an error naming the file.
[[nodiscard]] outcome<std::optional<persisted_state>> load_state(const std::filesystem::path& file);

/// Replaces `file` atomically: a temp file in the same directory, fsync, rename over `file`,
/// fsync of the directory. On failure the temp file is removed and `file` is untouched.
[[nodiscard]] outcome<void> save_state(const std::filesystem::path& file, const persisted_state& s);

struct startup_phase {
  persisted_state state;
  bool from_state_file = false;  ///< false: the configured phase (no file, or persistence off)
};

/// The phase a starting proxy runs in: the state file's when it exists, else cfg.phase. Fails
/// (the proxy must not start) on a corrupt file, an unwritable state directory, or a persisted
/// phase that needs a NEW backend the configuration no longer has.
[[nodiscard]] outcome<startup_phase> load_startup_phase(const config::config& cfg);

/// RFC 3339 UTC with milliseconds: "2024-05-01T12:34:56.789Z".
[[nodiscard]] std::string format_utc(std::chrono::system_clock::time_point t);
/// The inverse of format_utc (exactly that form).
[[nodiscard]] std::optional<std::chrono::system_clock::time_point> parse_utc(std::string_view s);

}  // namespace dw::control
