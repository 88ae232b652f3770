// Formatting of configuration problems for humans: the compiler-style prefix lets editors and
// CI logs jump straight to the offending line.
#include "config/problem.hpp"

namespace dw::config {
namespace {

std::string join_lines(const std::vector<problem>& all) {
  std::string out;
  for (const auto& p : all) {
    if (!out.empty()) out += '\n';
    out += to_string(p);
  }
  return out;
}

}  // namespace

std::string to_string(const problem& p) {
  std::string out = p.file;
  if (p.line > 0) out += ':' + std::to_string(p.line) + ':' + std::to_string(p.column);
  out += ": ";
  if (!p.key.empty()) out += p.key + ": ";
  out += p.message;
  return out;
}

config_error::config_error(std::vector<problem> all)
    : std::runtime_error{join_lines(all)}, problems{std::move(all)} {}

}  // namespace dw::config
