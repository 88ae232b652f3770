// Walks the YAML tree against the option table. Marks are yaml-cpp's 0-based line/column,
// reported 1-based. Value problems point at the value; missing or conflicting keys at the key.
#include "config/yaml_reader.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <map>
#include <span>
#include <sstream>
#include <vector>

#include "config/options.hpp"
#include "config/suggest.hpp"

namespace dw::config {
namespace {

namespace fs = std::filesystem;

/// A key that is not an option but a nested structure (backends, users, users[].old, ...).
struct section {
  std::string_view name;
  std::function<void(const YAML::Node& key, const YAML::Node& value)> read;
};

// yaml-cpp messages are constants, except these three which append the offending text;
// inside a quoted password that text would be part of the password.
std::string redact_yaml_message(std::string msg) {
  for (std::string_view prefix : {YAML::ErrorMsg::INVALID_ESCAPE, YAML::ErrorMsg::INVALID_UNICODE,
                                  YAML::ErrorMsg::YAML_VERSION})
    if (msg.starts_with(prefix))
      return std::string{prefix.substr(0, prefix.find_last_not_of(": ") + 1)};
  return msg;
}

// An unknown key is echoed, but a key like "password:hunter2" (no space after the colon, so
// YAML reads one plain scalar) carries a value: cut it at the first ':', '=' or blank.
std::pair<std::string, bool> describe_key(const std::string& key) {
  constexpr std::size_t max_shown = 40;
  const auto cut = key.find_first_of(":= \t");
  if (cut == std::string::npos && key.size() <= max_shown) return {key, false};
  return {key.substr(0, std::min(cut, max_shown)) + "...", cut != std::string::npos};
}

std::string kind_of(const YAML::Node& n) {
  return n.IsMap() ? "a mapping" : n.IsSequence() ? "a list" : "a single value";
}

class yaml_reader {
 public:
  yaml_reader(draft& d, std::string file, fs::path base)
      : d_{d}, file_{std::move(file)}, base_{std::move(base)} {}

  void read_root(const YAML::Node& root);

 private:
  origin at(const YAML::Node& n, const std::string& path) const {
    const auto m = n.Mark();
    if (m.is_null()) return origin{file_, 0, 0, path};
    return origin{file_, m.line + 1, m.column + 1, path};
  }
  void report(const YAML::Node& n, const std::string& path, std::string msg) {
    d_.report(at(n, path), std::move(msg));
  }

  template <class Fn>
  void for_each_entry(const YAML::Node& map, const std::string& path, Fn&& fn);
  template <class Target>
  void read_options(const YAML::Node& map, Target& t, option_scope scope, const std::string& inner,
                    const std::string& path, std::span<const section> sections);
  template <class Target>
  void read_value(const option& o, Target& t, const YAML::Node& key, const YAML::Node& value,
                  const std::string& path);
  void read_listen(const option& o, field_ref f, const YAML::Node& value, const std::string& path);
  void check_required(option_scope scope, const std::string& path);
  bool expect_mapping(const YAML::Node& value, const std::string& path, std::string_view what);
  void read_backends(const YAML::Node& key, const YAML::Node& value);
  void read_users(const YAML::Node& key, const YAML::Node& value);
  void read_rules(const YAML::Node& key, const YAML::Node& value);
  void read_user(const YAML::Node& item, const std::string& path);
  void read_login(const YAML::Node& key, const YAML::Node& value, const std::string& path,
                  std::optional<backend_credentials>& out);

  draft& d_;
  std::string file_;
  fs::path base_;
};

template <class Fn>
void yaml_reader::for_each_entry(const YAML::Node& map, const std::string& path, Fn&& fn) {
  std::map<std::string, int> seen;
  // Range-for keeps each entry alive for the body; yaml-cpp's it->first would point into a
  // temporary proxy that dies at the end of the statement.
  for (const auto& entry : map) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar()) {
      report(key, path, "keys must be plain names, not " + kind_of(key));
      continue;
    }
    const auto line = at(key, path).line;
    if (auto [prev, fresh] = seen.emplace(key.Scalar(), line); !fresh) {
      report(key, path + describe_key(key.Scalar()).first,
             "given twice (first at line " + std::to_string(prev->second) + ")");
      continue;
    }
    fn(key.Scalar(), key, entry.second);
  }
}

// Keys valid directly inside `inner` of `scope`, plus the section names, for suggestions.
std::vector<std::string> keys_at(option_scope scope, const std::string& inner,
                                 std::span<const section> sections) {
  std::vector<std::string> out;
  for (const auto& o : all_options()) {
    if (o.scope() != scope || !o.name.starts_with(inner)) continue;
    auto rest = o.name.substr(inner.size());
    std::string first{rest.substr(0, rest.find('.'))};
    if (std::find(out.begin(), out.end(), first) == out.end()) out.push_back(std::move(first));
  }
  for (const auto& s : sections) out.emplace_back(s.name);
  return out;
}

bool is_group(option_scope scope, const std::string& name) {
  return std::any_of(all_options().begin(), all_options().end(), [&](const option& o) {
    return o.scope() == scope && o.name.starts_with(name) && o.name.size() > name.size() &&
           o.name[name.size()] == '.';
  });
}

template <class Target>
void yaml_reader::read_options(const YAML::Node& map, Target& t, option_scope scope,
                               const std::string& inner, const std::string& path,
                               std::span<const section> sections) {
  // password and password_file fill one field: giving both is a conflict, not an override.
  std::vector<std::pair<field_ref, std::string>> filled;
  for_each_entry(map, path, [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
    const std::string name = inner + key, full = path + key;
    if (const option* o = find_option(scope, name)) {
      const field_ref f = bind(*o, t);
      for (const auto& [other, other_key] : filled)
        if (other == f)
          return report(k, full, "give either " + other_key + " or " + key + ", not both");
      filled.emplace_back(f, key);
      return read_value(*o, t, k, v, full);
    }
    if (is_group(scope, name)) {
      d_.set_origin(full, at(k, full));
      if (expect_mapping(v, full, "options")) read_options(v, t, scope, name + ".", full + ".", {});
      return;
    }
    for (const auto& s : sections)
      if (inner.empty() && s.name == key) return s.read(k, v);
    const auto [shown, glued] = describe_key(key);
    report(k, path + shown,
           glued ? "unknown key (a space must follow ':' between a key and its value)"
                 : "unknown key" + did_you_mean(key, keys_at(scope, inner, sections)));
  });
}

template <class Target>
void yaml_reader::read_value(const option& o, Target& t, const YAML::Node& key,
                             const YAML::Node& value, const std::string& path) {
  d_.set_origin(path, at(key, path));
  const field_ref f = bind(o, t);
  if (o.kind == option_kind::listen_list) return read_listen(o, f, value, path);
  if (value.IsMap() || value.IsSequence())
    return report(value, path, "expected a single value, not " + kind_of(value));
  const std::string text = value.IsScalar() ? value.Scalar() : std::string{};
  if (auto msg = assign(o, f, text, base_); !msg.empty())
    report(value.IsNull() ? key : value, path, std::move(msg));
}

void yaml_reader::read_listen(const option& o, field_ref f, const YAML::Node& value,
                              const std::string& path) {
  std::get<std::vector<listen_address>*>(f)->clear();
  std::vector<YAML::Node> items;
  if (value.IsScalar())
    items.push_back(value);
  else if (value.IsSequence())
    for (const auto& item : value) items.push_back(item);
  if (items.empty()) return report(value, path, "expected one address or a list of addresses");
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto item_path = path + "[" + std::to_string(i) + "]";
    d_.set_origin(item_path, at(items[i], item_path));
    if (!items[i].IsScalar()) {
      report(items[i], item_path, "expected an address, not " + kind_of(items[i]));
      continue;
    }
    if (auto msg = assign(o, f, items[i].Scalar(), base_); !msg.empty())
      report(items[i], item_path, std::move(msg));
  }
}

bool yaml_reader::expect_mapping(const YAML::Node& value, const std::string& path,
                                 std::string_view what) {
  if (value.IsMap() || value.IsNull()) return true;
  report(value, path, "expected a mapping of " + std::string{what} + ", not " + kind_of(value));
  return false;
}

void yaml_reader::check_required(option_scope scope, const std::string& path) {
  for (const auto& o : all_options())
    if (o.scope() == scope && o.required && !d_.has(path + "." + std::string{o.name}))
      d_.report(path + "." + std::string{o.name}, "is required");
}

void yaml_reader::read_root(const YAML::Node& root) {
  if (root.IsNull()) return;
  if (!root.IsMap()) return report(root, "", "expected a mapping of options at the top level");
  const section sections[] = {
      {"backends", [this](const YAML::Node& k, const YAML::Node& v) { read_backends(k, v); }},
      {"users", [this](const YAML::Node& k, const YAML::Node& v) { read_users(k, v); }},
      {"business_rules", [this](const YAML::Node& k, const YAML::Node& v) { read_rules(k, v); }},
  };
  read_options(root, d_.cfg, option_scope::root, "", "", sections);
}

void yaml_reader::read_backends(const YAML::Node& key, const YAML::Node& value) {
  d_.set_origin("backends", at(key, "backends"));
  if (!expect_mapping(value, "backends", "backends (old, new)")) return;
  for_each_entry(value, "backends.",
                 [&](const std::string& name, const YAML::Node& k, const YAML::Node& v) {
                   const std::string path = "backends." + name;
                   if (name != "old" && name != "new") {
                     const std::vector<std::string> known{"old", "new"};
                     return report(k, "backends." + describe_key(name).first,
                                   "unknown backend" + did_you_mean(name, known));
                   }
                   d_.set_origin(path, at(k, path));
                   backend b;
                   apply_defaults(b);
                   b.name = name;
                   if (expect_mapping(v, path, "backend options")) {
                     read_options(v, b, option_scope::backend, "", path + ".", {});
                     check_required(option_scope::backend, path);
                   }
                   if (name == "old")
                     d_.cfg.old_backend = std::move(b);
                   else
                     d_.cfg.new_backend = std::move(b);
                 });
}

void yaml_reader::read_users(const YAML::Node& key, const YAML::Node& value) {
  d_.set_origin("users", at(key, "users"));
  if (value.IsNull()) return;
  if (!value.IsSequence())
    return report(value, "users", "expected a list of users, not " + kind_of(value));
  std::size_t index = 0;
  for (const auto& item : value) read_user(item, "users[" + std::to_string(index++) + "]");
}

void yaml_reader::read_user(const YAML::Node& item, const std::string& path) {
  d_.set_origin(path, at(item, path));
  user u;
  apply_defaults(u);
  if (!item.IsMap()) {
    report(item, path, "expected a mapping with name and password, not " + kind_of(item));
  } else {
    const section logins[] = {
        {"old", [&](const YAML::Node& k,
                    const YAML::Node& v) { read_login(k, v, path + ".old", u.old_login); }},
        {"new", [&](const YAML::Node& k,
                    const YAML::Node& v) { read_login(k, v, path + ".new", u.new_login); }},
    };
    read_options(item, u, option_scope::user, "", path + ".", logins);
    check_required(option_scope::user, path);
  }
  // Mapped logins default to the client's own name; known only once the whole item is read.
  for (auto* login : {&u.old_login, &u.new_login})
    if (*login && (*login)->user.empty()) (*login)->user = u.name;
  // Kept even when broken so users[i] in messages matches the i-th item of the file.
  d_.cfg.users.push_back(std::move(u));
}

void yaml_reader::read_rules(const YAML::Node& key, const YAML::Node& value) {
  d_.set_origin("business_rules", at(key, "business_rules"));
  if (value.IsNull()) return;
  if (!value.IsSequence())
    return report(value, "business_rules",
                  "expected a list of rules (name, sql), not " + kind_of(value));
  std::size_t index = 0;
  for (const auto& item : value) {
    const auto path = "business_rules[" + std::to_string(index++) + "]";
    d_.set_origin(path, at(item, path));
    business_rule r;
    apply_defaults(r);
    if (!item.IsMap()) {
      report(item, path, "expected a mapping with name and sql, not " + kind_of(item));
    } else {
      read_options(item, r, option_scope::rule, "", path + ".", {});
      check_required(option_scope::rule, path);
    }
    d_.cfg.business_rules.push_back(std::move(r));
  }
}

void yaml_reader::read_login(const YAML::Node& key, const YAML::Node& value,
                             const std::string& path, std::optional<backend_credentials>& out) {
  d_.set_origin(path, at(key, path));
  backend_credentials c;
  apply_defaults(c);
  if (expect_mapping(value, path, "login options (user, password)"))
    read_options(value, c, option_scope::login, "", path + ".", {});
  out = std::move(c);
}

// Where each document of a YAML stream starts (its first token), and where its content does.
class document_starts final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  std::vector<YAML::Mark> contents;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { content(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { content(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    content(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    content(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    content(m);
  }
  void OnMapEnd() override {}

 private:
  void content(const YAML::Mark& m) {
    if (contents.size() < starts.size()) contents.push_back(m);
  }
};

origin origin_at(const std::string& file, const YAML::Mark& m) {
  return origin{file, m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1, ""};
}

}  // namespace

bool read_yaml(draft& d, std::string_view text, const std::string& file, const fs::path& base_dir) {
  // Not YAML::LoadAll: in yaml-cpp 0.7 it never returns on some malformed input (a lone ','),
  // because the parser stops consuming tokens and yields empty documents forever, each one
  // allocating (yaml-cpp#1040, found by fuzz_config). Only the first four documents are
  // looked at; one starting where the one before did means the parser is stuck.
  YAML::Node root;
  try {
    const std::string owned{text};
    std::istringstream in{owned};
    YAML::Parser parser{in};
    document_starts docs;
    while (docs.starts.size() < 4 && parser.HandleNextDocument(docs)) {
    }
    for (std::size_t i = 1; i < docs.starts.size(); ++i) {
      if (docs.starts[i].pos == docs.starts[i - 1].pos) {
        d.report(origin_at(file, docs.starts[i]), "invalid YAML: the parser cannot go on from here");
        return false;
      }
    }
    if (docs.starts.size() > 1) {
      d.report(origin_at(file, docs.contents.size() > 1 ? docs.contents[1] : docs.starts[1]),
               "only one YAML document is allowed");
    }
    root = YAML::Load(owned);
  } catch (const YAML::Exception& e) {
    d.report(origin_at(file, e.mark), "invalid YAML: " + redact_yaml_message(e.msg));
    return false;
  }
  yaml_reader{d, file, base_dir}.read_root(root);
  return true;
}

}  // namespace dw::config
