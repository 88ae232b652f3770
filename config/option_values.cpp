// Turning one option's text into its typed field: the single-value half of validation.
// Security: no message here quotes the text. It may be a password, or (after a YAML typo
// such as "port: 5432\n  password:x", which folds into one scalar) contain one.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "config/file_io.hpp"
#include "config/listen_address.hpp"
#include "config/options.hpp"
#include "config/suggest.hpp"
#include "protocol/scram_verifier.hpp"

namespace dw::config {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void kind_mismatch(const option& o) {
  throw std::logic_error{"option " + std::string{o.name} + " has a field of the wrong type"};
}

template <class T>
T& field_as(const option& o, field_ref f) {
  auto* const* p = std::get_if<T*>(&f);
  if (p == nullptr) kind_mismatch(o);
  return **p;
}

std::string resolve(const fs::path& base, std::string_view text) {
  fs::path p{std::string{text}};
  if (text.empty() || p.is_absolute() || base.empty()) return std::string{text};
  return (base / p).lexically_normal().string();
}

std::string set_integer(const option& o, field_ref f, std::string_view text) {
  std::int64_t v = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc{} && ptr == end && (v < o.min || v > o.max)))
    return std::string{o.leaf()} + " must be " + std::to_string(o.min) + "-" +
           std::to_string(o.max);
  if (ec != std::errc{} || ptr != end)
    return o.kind == option_kind::milliseconds ? "expected a whole number of milliseconds"
                                               : "expected an integer";
  std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::chrono::milliseconds>)
          *p = T{v};
        else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
          *p = static_cast<T>(v);
        else
          kind_mismatch(o);
      },
      f);
  return {};
}

std::string set_number(const option& o, field_ref f, std::string_view text) {
  double v = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc{} || ptr != end || !std::isfinite(v)) return "expected a number such as 0.25";
  if (v < static_cast<double>(o.min) || v > static_cast<double>(o.max))
    return std::string{o.leaf()} + " must be " + std::to_string(o.min) + "-" +
           std::to_string(o.max);
  field_as<double>(o, f) = v;
  return {};
}

std::string lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

std::string set_boolean(const option& o, field_ref f, std::string_view text) {
  const auto t = lower(text);
  bool& b = field_as<bool>(o, f);
  if (t == "true" || t == "yes" || t == "on")
    b = true;
  else if (t == "false" || t == "no" || t == "off")
    b = false;
  else
    return "expected true or false";
  return {};
}

std::string set_choice(const option& o, field_ref f, std::string_view text) {
  const auto it = std::find(o.choices.begin(), o.choices.end(), text);
  if (it == o.choices.end()) {
    std::vector<std::string> names(o.choices.begin(), o.choices.end());
    std::string msg = std::string{o.leaf()} + " must be one of:";
    for (std::size_t i = 0; i < names.size(); ++i) msg += (i ? ", " : " ") + names[i];
    return msg + did_you_mean(lower(text), names);
  }
  const auto index = it - o.choices.begin();
  if (auto* mode = std::get_if<tls_mode*>(&f))
    **mode = static_cast<tls_mode>(index);
  else
    field_as<std::string>(o, f) = std::string{text};
  return {};
}

std::string set_secret_file(const option& o, field_ref f, std::string_view text,
                            const fs::path& base) {
  if (text.empty()) return {};
  const auto path = resolve(base, text);
  std::string content;
  if (auto err = read_text_file(path, content); !err.empty()) return err;
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
  if (content.empty()) return path + " is empty";
  field_as<secret>(o, f) = secret{std::move(content)};
  return {};
}

std::string check_socket_length(const std::string& path) {
  if (path.size() <= max_socket_path) return {};
  return "socket path " + path + " is longer than " + std::to_string(max_socket_path) + " bytes";
}

std::string add_listen(const option& o, field_ref f, std::string_view text, const fs::path& base) {
  auto parsed = parse_listen_address(text);
  if (auto* err = std::get_if<std::string>(&parsed)) return *err;
  auto a = std::get<listen_address>(std::move(parsed));
  if (a.type == listen_address::kind::unix_socket) {
    a.unix_dir = resolve(base, a.unix_dir);
    if (auto err = check_socket_length(socket_file(a)); !err.empty()) return err;
  }
  field_as<std::vector<listen_address>>(o, f).push_back(std::move(a));
  return {};
}

std::string set_tcp_address(const option& o, field_ref f, std::string_view text) {
  auto& out = field_as<std::string>(o, f);
  if (text.empty()) {
    out.clear();
    return {};
  }
  auto parsed = parse_listen_address(text);
  if (auto* err = std::get_if<std::string>(&parsed)) return *err;
  const auto& a = std::get<listen_address>(parsed);
  if (a.type != listen_address::kind::tcp) return "expected a TCP address (host:port)";
  out = to_string(a);
  return {};
}

}  // namespace

std::string assign(const option& o, field_ref f, std::string_view text, const fs::path& base) {
  switch (o.kind) {
    case option_kind::string:
      field_as<std::string>(o, f) = std::string{text};
      return {};
    case option_kind::path:
      field_as<std::string>(o, f) = resolve(base, text);
      return {};
    case option_kind::readable_file: {
      auto path = resolve(base, text);
      if (!path.empty())
        if (auto err = check_readable(path); !err.empty()) return err;
      field_as<std::string>(o, f) = std::move(path);
      return {};
    }
    case option_kind::socket_path: {
      auto path = resolve(base, text);
      if (auto err = check_socket_length(path); !err.empty()) return err;
      field_as<std::string>(o, f) = std::move(path);
      return {};
    }
    case option_kind::secret:
      field_as<secret>(o, f) = secret{std::string{text}};
      return {};
    case option_kind::secret_file:
      return set_secret_file(o, f, text, base);
    case option_kind::scram_verifier:
      // The proxy's own parser decides, so whatever loads here also works at login.
      if (!text.empty() && !protocol::scram::parse_verifier(text))
        return "expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> "
               "(base64 salt and 32-byte keys, as in pg_authid)";
      field_as<secret>(o, f) = secret{std::string{text}};
      return {};
    case option_kind::integer:
    case option_kind::milliseconds:
      return set_integer(o, f, text);
    case option_kind::number:
      return set_number(o, f, text);
    case option_kind::boolean:
      return set_boolean(o, f, text);
    case option_kind::choice:
      return set_choice(o, f, text);
    case option_kind::listen_list:
      return add_listen(o, f, text, base);
    case option_kind::tcp_address:
      return set_tcp_address(o, f, text);
  }
  kind_mismatch(o);
}

}  // namespace dw::config
