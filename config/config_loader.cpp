// Order of a load: table defaults, the YAML file, flags (each replacing what the file said),
// derived values, cross-field validation. A file that is not YAML at all stops there: checking
// further would only report every section as missing.
#include "config/config_loader.hpp"

#include <filesystem>

#include "config/draft.hpp"
#include "config/file_io.hpp"
#include "config/options.hpp"
#include "config/yaml_reader.hpp"

namespace dw::config {
namespace {

constexpr std::string_view command_line_source = "command line";

bool read_file(draft& d, const std::string& path) {
  std::string text;
  if (auto err = read_text_file(path, text); !err.empty()) {
    d.report(origin{path, 0, 0, ""}, std::move(err));
    return false;
  }
  return read_yaml(d, text, path, std::filesystem::path{path}.parent_path());
}

void apply_settings(const command_line& cl, draft& d) {
  bool listen_replaced = false;
  for (const auto& s : cl.settings) {
    const option* o = find_option(option_scope::root, s.option);
    const origin here{std::string{command_line_source}, 0, 0, s.flag};
    std::string path = s.option;
    if (o->kind == option_kind::listen_list) {
      if (!listen_replaced) {
        d.cfg.listen.clear();
        d.forget("listen");
        d.set_origin("listen", here);
        listen_replaced = true;
      }
      path = "listen[" + std::to_string(d.cfg.listen.size()) + "]";
    }
    d.set_origin(path, here);
    if (auto msg = assign(*o, bind(*o, d.cfg), s.value, {}); !msg.empty()) d.report(here, msg);
  }
}

void apply_backends(const command_line& cl, draft& d) {
  for (const auto* b : {&cl.old_backend, &cl.new_backend}) {
    if (!*b) continue;
    const auto path = "backends." + (*b)->name;
    d.forget(path);
    d.set_origin(path, origin{std::string{command_line_source}, 0, 0, "--" + (*b)->name});
    if ((*b)->name == "old")
      d.cfg.old_backend = **b;
    else
      d.cfg.new_backend = **b;
  }
}

}  // namespace

config load_file(const std::string& path) {
  command_line cl;
  cl.config_file = path;
  return build(cl);
}

config load_yaml_string(std::string_view yaml, std::string source_name) {
  draft d{source_name};
  if (!read_yaml(d, yaml, source_name, {})) throw config_error{std::move(d.problems)};
  return finish(std::move(d));
}

config build(const command_line& cl) {
  const bool from_file = !cl.config_file.empty();
  draft d{from_file ? cl.config_file : std::string{command_line_source}};
  if (from_file && !read_file(d, cl.config_file)) throw config_error{std::move(d.problems)};
  apply_settings(cl, d);
  apply_backends(cl, d);
  return finish(std::move(d));
}

}  // namespace dw::config
