#include "tests/support/data_tools.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/integration_env.hpp"

namespace dw::test {
namespace {

namespace json = boost::json;

json::value parse(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) throw std::runtime_error("not JSON (" + ec.message() + "): " + text.substr(0, 2000));
  return v;
}

std::string as_text(const json::value& v) {
  if (v.is_string()) return std::string{v.get_string()};
  return json::serialize(v);
}

std::string key_text(const json::value& key) {
  std::string s;
  for (const auto& [column, value] : key.as_object())
    s += (s.empty() ? "" : ",") + std::string{column} + "=" + as_text(value);
  return s;
}

}  // namespace

admin_sides::admin_sides(const std::string& db)
    : old_conn{pg_connect(old_cluster().admin_conninfo(db))},
      new_conn{pg_connect(new_cluster().admin_conninfo(db))} {}

std::vector<std::string> backend_flags(const std::string& db) {
  return {"--old", old_cluster().uri("postgres", "postgres", db), "--new",
          new_cluster().uri("postgres", "postgres", db)};
}

command_result run_data_command(const std::string& db, const std::vector<std::string>& args,
                                const command_options& options,
                                const std::function<void(pid_t)>& on_start) {
  auto all = args;
  const auto flags = backend_flags(db);
  all.insert(all.end(), flags.begin(), flags.end());
  return run_command(DW_CTL_BINARY, all, options, on_start);
}

std::string json_at(const std::string& text, std::string_view path) {
  const auto doc = parse(text);
  const json::value* at = &doc;
  std::size_t pos = 0;
  while (pos <= path.size() && !path.empty()) {
    const auto end = std::min(path.find('.', pos), path.size());
    const std::string part{path.substr(pos, end - pos)};
    if (at->is_array()) {
      const auto i = std::stoul(part);
      if (i >= at->get_array().size()) at = nullptr;
      else at = &at->get_array()[i];
    } else if (at->is_object()) {
      at = at->get_object().if_contains(part);
    } else {
      at = nullptr;
    }
    if (at == nullptr)
      throw std::runtime_error("no " + std::string{path} + " in " + text.substr(0, 2000));
    pos = end + 1;
  }
  return as_text(*at);
}

std::set<std::string> listed_rows(const std::string& text) {
  std::set<std::string> out;
  const auto doc = parse(text);
  for (const auto& t : doc.at("tables").as_array()) {
    const auto table = as_text(t.at("table"));
    const auto& o = t.as_object();
    if (const auto* rows = o.if_contains("rows"); rows != nullptr && rows->is_array())
      for (const auto& r : rows->as_array())
        out.insert(table + " " + as_text(r.at("kind")) + " " + key_text(r.at("key")));
    if (const auto* planned = o.if_contains("planned"))
      for (const auto& r : planned->as_array())
        out.insert(table + " " + as_text(r.at("action")) + " " + key_text(r.at("key")));
  }
  return out;
}

std::uint64_t checkpoint_rows(const std::filesystem::path& file) {
  std::ifstream in{file};
  if (!in) return 0;
  std::stringstream content;
  content << in.rdbuf();
  boost::system::error_code ec;
  const auto doc = json::parse(content.str(), ec);
  if (ec || !doc.is_object()) return 0;
  std::uint64_t rows = 0;
  const auto* tables = doc.get_object().if_contains("tables");
  if (tables == nullptr || !tables->is_array()) return 0;
  for (const auto& t : tables->get_array()) {
    const auto* r = t.is_object() ? t.get_object().if_contains("rows") : nullptr;
    if (r != nullptr && r->is_int64()) rows += static_cast<std::uint64_t>(r->get_int64());
    if (r != nullptr && r->is_uint64()) rows += r->get_uint64();
  }
  return rows;
}

std::vector<std::string> read_lines(const std::filesystem::path& file) {
  std::ifstream in{file};
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

}  // namespace dw::test
