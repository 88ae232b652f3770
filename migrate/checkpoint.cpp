#include "migrate/checkpoint.hpp"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "compare/verify_report.hpp"

namespace dw::migrate {
namespace {

namespace json = boost::json;

constexpr std::string_view checkpoint_format = "dwctl-backfill/1";

[[noreturn]] void corrupt(const std::string& why) {
  throw std::runtime_error{"not a backfill checkpoint (" + why + ")"};
}

const json::value& member(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (v == nullptr) corrupt("no " + std::string{name});
  return *v;
}

std::string text(const json::object& o, std::string_view name) {
  const auto& v = member(o, name);
  if (!v.is_string()) corrupt(std::string{name} + " is not a string");
  return std::string{v.get_string()};
}

std::uint64_t count(const json::object& o, std::string_view name) {
  const auto& v = member(o, name);
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  corrupt(std::string{name} + " is not a count");
}

table_progress progress_of(const json::object& t) {
  table_progress p;
  p.rows = count(t, "rows");
  p.bytes = count(t, "bytes");
  const auto& done = member(t, "done");
  if (!done.is_bool()) corrupt("done is not a boolean");
  p.done = done.get_bool();
  const auto& after = member(t, "after");
  if (after.is_array()) {
    p.after = compare::key_value{};
    for (const auto& k : after.get_array()) {
      if (!k.is_string()) corrupt("a key part is not a string");
      p.after->emplace_back(k.get_string());
    }
  } else if (!after.is_null()) {
    corrupt("after is neither a key nor null");
  }
  return p;
}

}  // namespace

std::string checkpoint_json(const checkpoint_state& s) {
  json::array tables;
  for (const auto& [name, p] : s.tables) {
    json::value after = nullptr;
    if (p.after) {
      json::array key;
      for (const auto& k : *p.after) key.emplace_back(k);
      after = std::move(key);
    }
    tables.push_back(json::object{{"schema", name.schema},
                                  {"name", name.name},
                                  {"after", std::move(after)},
                                  {"rows", p.rows},
                                  {"bytes", p.bytes},
                                  {"done", p.done}});
  }
  return json::serialize(json::object{{"format", checkpoint_format},
                                      {"old", s.old_endpoint},
                                      {"new", s.new_endpoint},
                                      {"tables", std::move(tables)}});
}

checkpoint_state parse_checkpoint(std::string_view text_json) {
  boost::system::error_code ec;
  const auto v = json::parse(text_json, ec);
  if (ec || !v.is_object()) corrupt("not JSON");
  const auto& o = v.get_object();
  if (text(o, "format") != checkpoint_format) corrupt("unknown format");
  checkpoint_state s;
  s.old_endpoint = text(o, "old");
  s.new_endpoint = text(o, "new");
  const auto& tables = member(o, "tables");
  if (!tables.is_array()) corrupt("tables is not a list");
  for (const auto& t : tables.get_array()) {
    if (!t.is_object()) corrupt("a table is not an object");
    const auto& to = t.get_object();
    s.tables[{text(to, "schema"), text(to, "name")}] = progress_of(to);
  }
  return s;
}

checkpoint::checkpoint(std::filesystem::path file, std::string old_endpoint,
                       std::string new_endpoint, bool fresh)
    : file_{std::move(file)} {
  state_.old_endpoint = std::move(old_endpoint);
  state_.new_endpoint = std::move(new_endpoint);
  if (fresh || !std::filesystem::exists(file_)) return;
  // A bound before reading: one entry per table is a few hundred bytes, so anything this large
  // is not a checkpoint dwctl wrote, and must not be read into memory whole.
  std::error_code size_error;
  const auto size = std::filesystem::file_size(file_, size_error);
  if (!size_error && size > max_checkpoint_bytes)
    throw std::runtime_error{"checkpoint " + file_.string() + " is larger than " +
                             std::to_string(max_checkpoint_bytes >> 20) +
                             " MiB, so not one dwctl wrote; remove it or use --restart"};
  std::ifstream in{file_, std::ios::binary};
  std::stringstream content;
  content << in.rdbuf();
  if (!in) throw std::runtime_error{"cannot read checkpoint " + file_.string()};
  checkpoint_state saved;
  try {
    saved = parse_checkpoint(content.str());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error{file_.string() + ": " + e.what() + "; remove it or use --restart"};
  }
  if (saved.old_endpoint != state_.old_endpoint || saved.new_endpoint != state_.new_endpoint)
    throw std::runtime_error{"checkpoint " + file_.string() + " is for OLD " +
                             saved.old_endpoint + " and NEW " + saved.new_endpoint +
                             "; use --restart to start over, or another --checkpoint"};
  state_.tables = std::move(saved.tables);
  resumed_ = true;
}

table_progress checkpoint::get(const compare::table_name& t) const {
  const std::lock_guard lock{mutex_};
  const auto it = state_.tables.find(t);
  return it == state_.tables.end() ? table_progress{} : it->second;
}

void checkpoint::record(const compare::table_name& t, const table_progress& p) {
  const std::lock_guard lock{mutex_};
  state_.tables[t] = p;
  compare::write_file_atomically(file_, checkpoint_json(state_));
}

void checkpoint::remove() {
  const std::lock_guard lock{mutex_};
  std::error_code ec;
  std::filesystem::remove(file_, ec);
}

}  // namespace dw::migrate
