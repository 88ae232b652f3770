// Secrets never reach problem messages or exception text, whatever the mistake around them:
// YAML typos that fold a password into another value or key, bad connection strings, stray
// arguments. Each case plants "hunter2" and checks the whole error text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "tests/config/config_test_support.hpp"

namespace dw::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view planted = "hunter2";

std::string yaml_error(const std::string& yaml) {
  return testing::error_text([&] { return load_yaml_string(yaml, "leak.yaml"); });
}

std::string args_error(std::vector<std::string> args) {
  return testing::error_text([&] { return build(testing::parse_args(std::move(args))); });
}

TEST(secrets, yaml_mistakes_next_to_a_password) {
  const std::vector<std::string> cases = {
      // No space after ':' in a block mapping: the password folds into the port's scalar.
      "backends:\n  old:\n    user: a\n    port: 5432\n      password:hunter2\n",
      // No space after ':' in a flow mapping: "password:hunter2" becomes a key.
      "backends:\n  old: {user: a, password:hunter2}\n",
      "backends:\n  old: {user: a, password:hunter2, password:hunter2}\n",
      // The right key with the wrong shape.
      "backends:\n  old: { user: a, password: [hunter2] }\n",
      "backends:\n  old: { user: a, password: { hunter2: 1 } }\n",
      // A bad escape inside a quoted password: yaml-cpp would name the character.
      "backends:\n  old: { user: a, password: \"hunter2\\q\" }\n",
      // A verifier that is not one.
      "backends:\n  old: { user: a }\nusers: [{ name: b, scram_verifier: \"SCRAM-SHA-256$hunter2\" "
      "}]\n",
      // A password in a place for something else.
      "backends:\n  old: { user: a, tls: hunter2 }\n",
      "threads: hunter2\nbackends:\n  old: { user: a }\n",
      "listen: [\"hunter2\"]\nbackends:\n  old: { user: a }\n",
  };
  for (const auto& yaml : cases) {
    const auto text = yaml_error(yaml);
    EXPECT_FALSE(text.empty()) << yaml;
    EXPECT_THAT(text, Not(HasSubstr(planted))) << yaml;
  }
}

TEST(secrets, glued_key_is_reported_without_its_value) {
  EXPECT_EQ(yaml_error("backends:\n  old: {user: a, password:hunter2}\n"),
            "leak.yaml:2:18: backends.old.password...: unknown key (a space must follow ':' "
            "between a key and its value)");
}

TEST(secrets, bad_connection_strings) {
  const std::vector<std::string> uris = {
      "postgresql://u:p%zzhunter2@h/db",   // libpq quotes the bad percent token
      "postgresql://u:hunter2%00@h/db",    // ... and the forbidden %00 value
      "postgresql://u:hunter2@[::1/db",    // ... and the whole URI for a bad IPv6 host
      "host=h user=u password=x hunter2",  // ... and the word missing its '='
      "host=h user=u password='hunter2",   // unterminated quote
      "postgresql://u:hunter2@h:port/db",  // bad port
      "postgresql://u:hunter2@h/db?sslcert=/x",
  };
  for (const auto& uri : uris) {
    for (const auto* flag : {"--old", "--new"}) {
      const auto text = args_error({flag, uri});
      EXPECT_FALSE(text.empty()) << uri;
      EXPECT_THAT(text, Not(HasSubstr(planted))) << uri;
    }
  }
  EXPECT_EQ(args_error({"--old", "postgresql://u:p%zzhunter2@h/db"}),
            "command line: --old: invalid percent-encoded token: \"***\"");
}

TEST(secrets, stray_arguments_are_not_echoed) {
  // A connection string whose --old was forgotten, or a password typed as its own argument.
  EXPECT_EQ(args_error({"--listen", "*:1", "postgresql://u:hunter2@h/db"}),
            "command line: argument 3: unexpected; flags start with --");
  EXPECT_THAT(args_error({"--password=hunter2"}), Not(HasSubstr(planted)));
}

TEST(secrets, secrets_format_as_a_mask) {
  const config c = load_yaml_string("backends:\n  old: { user: a, password: hunter2 }\n", "t");
  std::ostringstream os;
  os << c.old_backend.credentials.password;
  EXPECT_EQ(os.str(), "***");
  EXPECT_EQ(fmt::format("{}", c.users.at(0).password), "***");
  for (const auto& w : c.warnings) EXPECT_THAT(to_string(w), Not(HasSubstr(planted)));
}

}  // namespace
}  // namespace dw::config
