// Redaction rules: what each mode keeps of parameter values, statement literals and messages.
#include "shadow/redaction.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/shadow/shadow_test_support.hpp"

namespace dw::shadow {
namespace {

using testing::to_bytes;

TEST(redaction, modes_parse_and_print) {
  for (const auto mode : {redaction_mode::none, redaction_mode::values, redaction_mode::values_and_literals})
    EXPECT_EQ(parse_redaction_mode(to_string(mode)), mode);
  EXPECT_EQ(parse_redaction_mode("all"), std::nullopt);
}

TEST(redaction, none_keeps_text_and_encodes_binary_or_invalid_utf8) {
  const std::vector<std::optional<bytes>> values{to_bytes("héllo"), std::nullopt, to_bytes("\x01\x02\x03"),
                                                 to_bytes("\xff\xfe")};
  const std::vector<std::int16_t> formats{0, 0, 1, 0};
  const auto out = redact_parameters(values, formats, redaction_mode::none);
  ASSERT_EQ(out.size(), 4U);
  EXPECT_EQ(out[0].kind, redacted_parameter::encoding::text);
  EXPECT_EQ(out[0].value, "héllo");
  EXPECT_EQ(out[1].kind, redacted_parameter::encoding::null);
  EXPECT_EQ(out[2].kind, redacted_parameter::encoding::base64);
  EXPECT_EQ(out[2].format, 1);
  EXPECT_EQ(out[2].value, "AQID");
  EXPECT_EQ(out[3].kind, redacted_parameter::encoding::base64);  // text format, but not UTF-8
  EXPECT_EQ(out[3].value, "//4=");
}

TEST(redaction, single_format_code_applies_to_all_values) {
  const std::vector<std::optional<bytes>> values{to_bytes("ab"), to_bytes("cd")};
  const std::vector<std::int16_t> formats{1};
  for (const auto& p : redact_parameters(values, formats, redaction_mode::none)) {
    EXPECT_EQ(p.format, 1);
    EXPECT_EQ(p.kind, redacted_parameter::encoding::base64);
  }
}

TEST(redaction, values_mode_hides_every_value_but_keeps_nulls_and_lengths) {
  const std::vector<std::optional<bytes>> values{to_bytes("s3cr3t-pa55word"), std::nullopt, to_bytes("")};
  const auto out = redact_parameters(values, {}, redaction_mode::values);
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[0].kind, redacted_parameter::encoding::redacted);
  EXPECT_EQ(out[0].value, "<redacted len=15>");
  EXPECT_EQ(out[1].kind, redacted_parameter::encoding::null);
  EXPECT_EQ(out[2].value, "<redacted len=0>");
}

TEST(redaction, none_mode_truncates_long_values) {
  const std::vector<std::optional<bytes>> values{to_bytes(std::string(100, 'x'))};
  const auto out = redact_parameters(values, {}, redaction_mode::none, 10);
  EXPECT_EQ(out[0].value, std::string(10, 'x'));
  EXPECT_TRUE(out[0].truncated);
  EXPECT_EQ(out[0].length, 100U);
}

TEST(redaction, statement_kept_unless_literals_mode) {
  const std::string sql = "UPDATE users SET password = 'hunter2' WHERE id = 42";
  EXPECT_EQ(redact_statement(sql, redaction_mode::none), sql);
  EXPECT_EQ(redact_statement(sql, redaction_mode::values), sql);
}

TEST(redaction, literals_become_redacted_and_own_parameters_stay) {
  EXPECT_EQ(redact_statement("UPDATE users SET password = 'hunter2' WHERE id = 42",
                             redaction_mode::values_and_literals),
            "UPDATE users SET password = $redacted WHERE id = $redacted");
  EXPECT_EQ(redact_statement("UPDATE t SET a = $1, b = 'x' WHERE id = $2 AND c > 1.5e3",
                             redaction_mode::values_and_literals),
            "UPDATE t SET a = $1, b = $redacted WHERE id = $2 AND c > $redacted");
}

TEST(redaction, literals_mode_catches_what_normalize_leaves) {
  for (const std::string sql :
       {"CREATE ROLE app LOGIN PASSWORD 'hunter2'", "ALTER USER app PASSWORD 'hunter2'",
        "SELECT $$hunter2$$, E'hunter2\\'s', \"col\" FROM t -- hunter2", "SELECT 1 /* hunter2 /* nested */ */"}) {
    const std::string out = redact_statement(sql, redaction_mode::values_and_literals);
    EXPECT_EQ(out.find("hunter2"), std::string::npos) << sql << " -> " << out;
  }
  EXPECT_NE(redact_statement("SELECT \"col\" FROM t", redaction_mode::values_and_literals).find("\"col\""),
            std::string::npos);
}

TEST(redaction, unparseable_statement_is_replaced_whole) {
  const std::string out = redact_statement("SELEC 'hunter2' FRM", redaction_mode::values_and_literals);
  EXPECT_EQ(out.find("hunter2"), std::string::npos);
  EXPECT_EQ(out.rfind("<statement redacted", 0), 0U) << out;
  EXPECT_EQ(redact_statement("SELECT 'hunter2", redaction_mode::values_and_literals).find("hunter2"),
            std::string::npos);
}

TEST(redaction, messages_lose_echoed_values) {
  const std::vector<std::optional<bytes>> values{to_bytes("hunter2"), to_bytes("ab")};
  const std::string message = "invalid input syntax for type integer: \"hunter2\" (ab)";
  EXPECT_EQ(redact_message(message, values, redaction_mode::none), message);
  EXPECT_EQ(redact_message(message, values, redaction_mode::values),
            "invalid input syntax for type integer: \"<redacted>\" (ab)");
  EXPECT_EQ(redact_message(message, values, redaction_mode::values_and_literals).find("hunter2"),
            std::string::npos);
}

}  // namespace
}  // namespace dw::shadow
