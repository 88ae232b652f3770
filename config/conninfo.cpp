// Maps the libpq keywords a backend needs onto the backend options, so a URI value goes
// through the same checks as the YAML key it stands for. Other keywords are refused rather
// than silently dropped: a user who writes sslcert=... expects it to be used.
#include "config/conninfo.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <string>

#include "config/options.hpp"

namespace dw::config {
namespace {

constexpr std::pair<std::string_view, std::string_view> keyword_options[] = {
    {"host", "host"},
    {"port", "port"},
    {"dbname", "dbname"},
    {"user", "user"},
    {"password", "password"},
    {"sslmode", "tls"},
    {"sslrootcert", "tls_root_cert"},
    {"connect_timeout", "connect_timeout_ms"},
};

struct conninfo_free {
  void operator()(PQconninfoOption* o) const noexcept { PQconninfoFree(o); }
};
using conninfo_ptr = std::unique_ptr<PQconninfoOption, conninfo_free>;

// Every libpq keyword: parsing an empty string lists them all, with no values.
std::vector<std::string> libpq_keywords() {
  std::vector<std::string> out;
  const conninfo_ptr all{PQconninfoParse("", nullptr)};
  for (const auto* o = all.get(); o != nullptr && o->keyword != nullptr; ++o)
    out.emplace_back(o->keyword);
  return out;
}

// Security: libpq quotes the offending token in its parse errors, and for URIs that can be
// the password (invalid percent-encoded token: "<password>") or the whole URI. Keep quoted
// text only when it is a libpq keyword or one punctuation character.
std::string redact_libpq_message(std::string_view msg) {
  const auto keywords = libpq_keywords();
  auto harmless = [&keywords](std::string_view s) {
    if (s.size() == 1) return !std::isalnum(static_cast<unsigned char>(s[0]));
    return std::find(keywords.begin(), keywords.end(), s) != keywords.end();
  };
  std::string out;
  for (;;) {
    const auto open = msg.find('"');
    const auto close = open == std::string_view::npos ? open : msg.find('"', open + 1);
    if (close == std::string_view::npos) {
      out.append(msg.substr(0, open));
      if (open != std::string_view::npos) out += "\"***";
      break;
    }
    const auto inner = msg.substr(open + 1, close - open - 1);
    out.append(msg.substr(0, open + 1)).append(harmless(inner) ? inner : "***").append("\"");
    msg.remove_prefix(close + 1);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// libpq counts seconds and treats 0 as "wait forever"; every wait here has a deadline.
bool seconds_to_ms(std::string_view text, std::string& ms) {
  int seconds = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc{} || ptr != text.data() + text.size() || seconds < 1 || seconds > 3600)
    return false;
  ms = std::to_string(seconds * 1000);
  return true;
}

}  // namespace

void read_conninfo(const secret& text, std::string_view flag, backend& b,
                   std::vector<problem>& out) {
  auto report = [&out](std::string key, std::string msg) {
    out.push_back(problem{"command line", 0, 0, std::move(key), std::move(msg)});
  };
  char* error = nullptr;
  const conninfo_ptr parsed{PQconninfoParse(std::string{text.reveal()}.c_str(), &error)};
  if (!parsed) {
    report(std::string{flag}, error ? redact_libpq_message(error) : "out of memory");
    PQfreemem(error);
    return;
  }
  for (const auto* o = parsed.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view keyword = o->keyword;
    const std::string key = std::string{flag} + " " + std::string{keyword};
    const auto* mapping = std::find_if(std::begin(keyword_options), std::end(keyword_options),
                                       [keyword](const auto& m) { return m.first == keyword; });
    if (mapping == std::end(keyword_options)) {
      report(key,
             "not supported here (use host, port, dbname, user, password, sslmode, "
             "sslrootcert, connect_timeout)");
      continue;
    }
    std::string value = o->val;
    if (keyword == "host" && value.find(',') != std::string::npos) {
      report(key, "give one host: dwproxy does not fail over between hosts");
      continue;
    }
    if (keyword == "connect_timeout" && !seconds_to_ms(o->val, value)) {
      report(key, "connect_timeout must be 1-3600 (seconds)");
      continue;
    }
    const option* opt = find_option(option_scope::backend, mapping->second);
    if (auto msg = assign(*opt, bind(*opt, b), value, {}); !msg.empty()) report(key, msg);
  }
  if (b.credentials.user.empty()) report(std::string{flag}, "the connection string names no user");
}

}  // namespace dw::config
