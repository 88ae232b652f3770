// The one table of configuration options (STYLE.md 34): name, kind, default, reloadable flag,
// doc line and the config field it fills. YAML parsing, command-line flags, validation of single
// values, defaults, reload decisions and the reference doc all read it; nothing else lists
// options. Cross-field rules (phase needs a NEW backend, ...) live in validate.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace dw::config {

/// How an option's text is read, and what the reference calls its type.
enum class option_kind : std::uint8_t {
  string,          ///< free text
  path,            ///< file system path; relative ones resolve against the config file's folder
  readable_file,   ///< path that must name a readable file; empty: unset
  socket_path,     ///< path for a Unix socket, limited by sockaddr_un's 108 bytes; empty: off
  secret,          ///< free text that is never echoed
  secret_file,     ///< path of a file whose content (trailing newlines stripped) is the secret
  scram_verifier,  ///< secret in pg_authid form SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>
  integer,         ///< decimal within [min, max]
  milliseconds,    ///< decimal count of milliseconds within [min, max]
  number,          ///< decimal fraction (0.05, 2.5) within [min, max]
  boolean,         ///< true/false (yes/no and on/off accepted)
  choice,          ///< one of `choices`
  listen_list,     ///< one or more listen addresses (config/listen_address.hpp)
  tcp_address,     ///< host:port, [v6]:port or *:port; empty: off
};

/// Where an option is stored. One alternative per C++ type the config structs use.
using field_ref =
    std::variant<std::string*, secret*, bool*, int*, unsigned*, std::uint16_t*, std::size_t*,
                 std::chrono::milliseconds*, double*, tls_mode*, std::vector<listen_address>*>;

/// Finds the field in its owning object. The alternative chosen is the option's scope.
using accessor = std::variant<field_ref (*)(config&), field_ref (*)(backend&), field_ref (*)(user&),
                              field_ref (*)(backend_credentials&), field_ref (*)(business_rule&)>;

/// backends.<old|new>.*, users[].*, users[].<old|new>.*, business_rules[].* or top level; same
/// order as `accessor`.
enum class option_scope : std::uint8_t { root, backend, user, login, rule };

struct option {
  std::string_view name;  ///< key path inside its scope: "limits.max_clients", "host"
  option_kind kind;
  std::string_view default_value;  ///< YAML text applied before the file is read
  bool reloadable;                 ///< a change takes effect on reload, without a restart
  bool required;                   ///< must be given wherever its scope appears
  std::string_view doc;
  accessor field;
  std::int64_t min = 0;  ///< integer, milliseconds and number kinds only
  std::int64_t max = 0;
  std::span<const std::string_view> choices = {};  ///< choice kind; tls_mode in enum order

  [[nodiscard]] option_scope scope() const noexcept {
    return static_cast<option_scope>(field.index());
  }
  /// The last key of the name: "max_clients" for "limits.max_clients".
  [[nodiscard]] std::string_view leaf() const noexcept;
};

/// Every option, in reference-doc order.
[[nodiscard]] std::span<const option> all_options() noexcept;
/// The option called `name` in `where`, or nullptr.
[[nodiscard]] const option* find_option(option_scope where, std::string_view name) noexcept;
/// Full dotted name for docs and reload plans: "backends.<old|new>.host", "users[].name".
[[nodiscard]] std::string display_name(const option& o);

[[nodiscard]] field_ref bind(const option& o, config& c);
[[nodiscard]] field_ref bind(const option& o, backend& b);
[[nodiscard]] field_ref bind(const option& o, user& u);
[[nodiscard]] field_ref bind(const option& o, backend_credentials& c);
[[nodiscard]] field_ref bind(const option& o, business_rule& r);

/// Parses `text` as the option's kind into `field`. Relative paths resolve against base_dir
/// (empty: kept relative to the working directory). Returns "" or a problem message; messages
/// never quote `text`, which may be a secret or hold one after a YAML typo.
[[nodiscard]] std::string assign(const option& o, field_ref field, std::string_view text,
                                 const std::filesystem::path& base_dir);

/// Whether two fields of the same option hold equal values (secrets compared, never shown).
[[nodiscard]] bool same_value(field_ref a, field_ref b);

/// Sets every option of the target's scope to its table default.
void apply_defaults(config& c);
void apply_defaults(backend& b);
void apply_defaults(user& u);
void apply_defaults(backend_credentials& c);
void apply_defaults(business_rule& r);

}  // namespace dw::config
