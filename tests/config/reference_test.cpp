// The option table is the single source: docs/configuration.md must equal its rendering,
// config.hpp's initializers must equal its defaults, and the reference's example must load.
#include "config/reference.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/options.hpp"
#include "tests/config/config_test_support.hpp"

namespace dw::config {
namespace {

using ::testing::HasSubstr;

// tests/config/<this file> -> repo root. config_tests has no DW_SOURCE_DIR define.
std::filesystem::path doc_path() {
  return std::filesystem::path{__FILE__}.parent_path().parent_path().parent_path() / "docs" /
         "configuration.md";
}

TEST(reference, docs_configuration_md_is_current) {
  const auto rendered = render_reference_markdown();
  // Regenerate with: DW_UPDATE_DOCS=1 build/<preset>/tests/config_tests --gtest_filter=reference.*
  if (std::getenv("DW_UPDATE_DOCS") != nullptr) std::ofstream{doc_path()} << rendered;
  std::ifstream in{doc_path()};
  ASSERT_TRUE(in) << "cannot open " << doc_path();
  std::stringstream on_disk;
  on_disk << in.rdbuf();
  EXPECT_EQ(on_disk.str(), rendered)
      << "docs/configuration.md is stale: run `dwproxy --print-config-reference > "
         "docs/configuration.md` or DW_UPDATE_DOCS=1 config_tests";
}

TEST(reference, documents_every_option) {
  const auto doc = render_reference_markdown();
  for (const auto& o : all_options()) {
    std::string name = display_name(o);
    for (std::size_t at = name.find('|'); at != std::string::npos; at = name.find('|', at + 2))
      name.insert(at, "\\");
    EXPECT_THAT(doc, HasSubstr("| `" + name + "` |")) << name;
    EXPECT_FALSE(o.doc.empty()) << name;
  }
}

TEST(reference, example_is_a_valid_config) {
  testing::temp_dir dir;
  std::string yaml{example_yaml()};
  const std::string prefix = "/etc/dwproxy/";
  for (auto at = yaml.find(prefix); at != std::string::npos; at = yaml.find(prefix, at))
    yaml.replace(at, prefix.size(), dir.path().string() + "/");
  for (const auto* f : {"old.pw", "new.pw", "new-ca.crt", "reporting.pw", "reporting-old.pw",
                        "server.crt", "server.key"})
    dir.write(f, "x\n");
  const config c = load_yaml_string(yaml, "example.yaml");
  EXPECT_EQ(c.users.size(), 2u);
  EXPECT_TRUE(c.new_backend);
  EXPECT_TRUE(c.warnings.empty());
  ASSERT_EQ(c.business_rules.size(), 1u);
  EXPECT_EQ(c.business_rules[0].name, "order totals");
  EXPECT_EQ(c.gates.verify_max_age_minutes, 60u);
}

template <class Target>
void expect_defaults_agree(option_scope scope) {
  Target from_table{}, from_header{};
  apply_defaults(from_table);
  for (const auto& o : all_options()) {
    if (o.scope() != scope || o.name == "listen") continue;  // listen: empty until loaded
    EXPECT_TRUE(same_value(bind(o, from_table), bind(o, from_header))) << display_name(o);
  }
}

TEST(reference, config_hpp_initializers_match_the_table_defaults) {
  expect_defaults_agree<config>(option_scope::root);
  expect_defaults_agree<backend>(option_scope::backend);
  expect_defaults_agree<user>(option_scope::user);
  expect_defaults_agree<backend_credentials>(option_scope::login);
  expect_defaults_agree<business_rule>(option_scope::rule);
}

TEST(reference, user_options_are_all_reloadable) {
  // plan_reload reports the user list as one reloadable unit; that is only true if so.
  for (const auto& o : all_options()) {
    if (o.scope() == option_scope::user || o.scope() == option_scope::login) {
      EXPECT_TRUE(o.reloadable) << display_name(o);
    }
  }
}

}  // namespace
}  // namespace dw::config
