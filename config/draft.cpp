// Bookkeeping for a config under construction, and the last step that freezes it.
#include "config/draft.hpp"

#include <algorithm>

#include "config/options.hpp"

namespace dw::config {
namespace {

std::string_view parent_of(std::string_view path) {
  const auto cut = path.find_last_of(".[");
  return cut == std::string_view::npos ? std::string_view{} : path.substr(0, cut);
}

// Problems in file order, files in the order first seen, so output reads top to bottom even
// though cross-field checks run after parsing.
void sort_by_position(std::vector<problem>& all) {
  std::vector<std::string> files;
  for (const auto& p : all)
    if (std::find(files.begin(), files.end(), p.file) == files.end()) files.push_back(p.file);
  auto rank = [&files](const problem& p) {
    return std::find(files.begin(), files.end(), p.file) - files.begin();
  };
  std::stable_sort(all.begin(), all.end(), [&rank](const problem& a, const problem& b) {
    return std::tuple{rank(a), a.line, a.column} < std::tuple{rank(b), b.line, b.column};
  });
}

// No users configured: the OLD backend's login is the one client-facing user, which is what
// the command-line quick start promises and a minimal file expects.
void derive_user(draft& d) {
  if (!d.cfg.users.empty() || !d.has("backends.old")) return;
  const auto& creds = d.cfg.old_backend.credentials;
  if (creds.user.empty()) return;
  user u;
  apply_defaults(u);
  u.name = creds.user;
  u.password = creds.password;
  d.cfg.users.push_back(std::move(u));
  d.set_origin("users[0]", d.where("backends.old.user"));
}

}  // namespace

draft::draft(std::string source) {
  apply_defaults(cfg);
  apply_defaults(cfg.old_backend);
  cfg.old_backend.name = "old";
  cfg.source = std::move(source);
}

void draft::set_origin(const std::string& path, origin o) { origins_[path] = std::move(o); }

void draft::forget(std::string_view path) {
  std::erase_if(origins_, [path](const auto& entry) {
    const std::string_view k = entry.first;
    return k.starts_with(path) &&
           (k.size() == path.size() || k[path.size()] == '.' || k[path.size()] == '[');
  });
}

bool draft::has(std::string_view path) const { return origins_.find(path) != origins_.end(); }

origin draft::where(std::string_view path) const {
  for (std::string_view p = path; !p.empty(); p = parent_of(p)) {
    auto it = origins_.find(p);
    if (it == origins_.end()) continue;
    origin o = it->second;
    if (o.key == p) o.key = std::string{path};
    return o;
  }
  return origin{cfg.source, 0, 0, std::string{path}};
}

void draft::report(const origin& at, std::string message) {
  problems.push_back(problem{at.file, at.line, at.column, at.key, std::move(message)});
}

void draft::warn(std::string_view path, std::string message) {
  const auto at = where(path);
  cfg.warnings.push_back(problem{at.file, at.line, at.column, at.key, std::move(message)});
}

config finish(draft d) {
  derive_user(d);
  validate(d);
  if (!d.problems.empty()) {
    sort_by_position(d.problems);
    throw config_error{std::move(d.problems)};
  }
  sort_by_position(d.cfg.warnings);
  return std::move(d.cfg);
}

}  // namespace dw::config
