// Golden captures: the exact bytes a PostgreSQL 15 server sends in common exchanges, written out
// by hand from the docs' "Message Formats" and "Message Flow" (lengths included) and checked
// byte for byte against PostgreSQL 15.18 over a raw socket. Each is decoded as a stream split at
// every byte, checked field by field, and re-encoded to the same bytes.
#include <gtest/gtest.h>

#include "protocol/backend_messages.hpp"
#include "tests/protocol/codec_test_util.hpp"

namespace dw::protocol::test {
namespace {

bytes cstr(std::string_view s) { return concat({to_bytes(s), from_hex("00")}); }

std::vector<backend_message> decode_stream(const std::vector<owned_frame>& frames) {
  std::vector<backend_message> out;
  for (const auto& fr : frames) {
    auto m = decode_backend(fr.view());
    EXPECT_TRUE(m.has_value()) << fr.type << ": " << (m ? "" : m.error().message());
    if (m) out.push_back(*m);
  }
  return out;
}

void expect_reencodes(const std::vector<backend_message>& messages, const bytes& wire) {
  bytes again;
  for (const auto& m : messages) write_backend(again, m);
  EXPECT_EQ(again, wire);
}

TEST(golden_capture, simple_query_select_1) {
  // psql> SELECT 1;   (simple query; the server's whole answer)
  const bytes wire = concat({
      // RowDescription: 1 field "?column?", no table, int4 (oid 23, len 4, typmod -1), text.
      from_hex("54 00000021 0001 3f636f6c756d6e3f00 00000000 0000 00000017 0004 ffffffff 0000"),
      from_hex("44 0000000b 0001 00000001 31"),   // DataRow: one column, "1"
      from_hex("43 0000000d 53454c4543542031 00"),  // CommandComplete "SELECT 1"
      from_hex("5a 00000005 49"),                   // ReadyForQuery, idle
  });
  expect_split_invariant(direction::backend, wire);
  feeder f{direction::backend};
  ASSERT_TRUE(f.push(wire));
  const auto msgs = decode_stream(f.frames());
  ASSERT_EQ(msgs.size(), 4u);

  const auto& rd = std::get<row_description>(msgs[0]);
  ASSERT_EQ(rd.fields.size(), 1u);
  EXPECT_EQ(rd.fields[0].name, "?column?");
  EXPECT_EQ(rd.fields[0].table_oid, 0u);
  EXPECT_EQ(rd.fields[0].column_attr, 0);
  EXPECT_EQ(rd.fields[0].type_oid, 23u);
  EXPECT_EQ(rd.fields[0].type_size, 4);
  EXPECT_EQ(rd.fields[0].type_modifier, -1);
  EXPECT_EQ(rd.fields[0].format, 0);

  const auto& row = std::get<data_row>(msgs[1]);
  ASSERT_EQ(row.columns.size(), 1u);
  EXPECT_EQ(as_text(*row.columns[0]), "1");
  EXPECT_EQ(std::get<command_complete>(msgs[2]).tag, "SELECT 1");
  EXPECT_EQ(std::get<ready_for_query>(msgs[3]).status, 'I');
  expect_reencodes(msgs, wire);
}

TEST(golden_capture, startup_answer_with_trust_auth) {
  // PostgreSQL 15.18's whole answer to a StartupMessage {user=postgres, database=app} under
  // trust auth, captured off a Unix socket: AuthenticationOk, the 13 GUC_REPORT parameters in
  // the server's order, BackendKeyData, ReadyForQuery.
  const bytes wire = concat({
      from_hex("52 00000008 00000000"),
      from_hex("53 00000016"), cstr("application_name"), cstr(""),
      from_hex("53 00000019"), cstr("client_encoding"), cstr("UTF8"),
      from_hex("53 00000017"), cstr("DateStyle"), cstr("ISO, MDY"),
      from_hex("53 00000026"), cstr("default_transaction_read_only"), cstr("off"),
      from_hex("53 00000017"), cstr("in_hot_standby"), cstr("off"),
      from_hex("53 00000019"), cstr("integer_datetimes"), cstr("on"),
      from_hex("53 0000001b"), cstr("IntervalStyle"), cstr("postgres"),
      from_hex("53 00000014"), cstr("is_superuser"), cstr("on"),
      from_hex("53 00000019"), cstr("server_encoding"), cstr("UTF8"),
      from_hex("53 00000032"), cstr("server_version"), cstr("15.18 (Debian 15.18-0+deb12u1)"),
      from_hex("53 00000023"), cstr("session_authorization"), cstr("postgres"),
      from_hex("53 00000023"), cstr("standard_conforming_strings"), cstr("on"),
      from_hex("53 00000015"), cstr("TimeZone"), cstr("Etc/UTC"),
      from_hex("4b 0000000c 00005462 c97fc32c"),
      from_hex("5a 00000005 49"),
  });
  expect_split_invariant(direction::backend, wire);
  feeder f{direction::backend};
  ASSERT_TRUE(f.push(wire));
  const auto msgs = decode_stream(f.frames());
  ASSERT_EQ(msgs.size(), 16u);
  EXPECT_EQ(std::get<authentication>(msgs[0]).code, auth_code::ok);
  EXPECT_EQ(std::get<parameter_status>(msgs[1]).name, "application_name");
  EXPECT_EQ(std::get<parameter_status>(msgs[1]).value, "");
  EXPECT_EQ(std::get<parameter_status>(msgs[3]).value, "ISO, MDY");
  EXPECT_EQ(std::get<parameter_status>(msgs[10]).name, "server_version");
  EXPECT_EQ(std::get<parameter_status>(msgs[10]).value, "15.18 (Debian 15.18-0+deb12u1)");
  EXPECT_EQ(std::get<backend_key_data>(msgs[14]).process_id, 0x5462);
  EXPECT_EQ(std::get<backend_key_data>(msgs[14]).secret_key,
            static_cast<std::int32_t>(0xc97fc32cu));
  EXPECT_EQ(std::get<ready_for_query>(msgs[15]).status, 'I');
  expect_reencodes(msgs, wire);
}

TEST(golden_capture, syntax_error) {
  // psql> SELEC 1;   ErrorResponse (both severities, SQLSTATE 42601, position 1, source
  // location fields), then ReadyForQuery idle.
  const bytes wire = concat({
      from_hex("45 0000005d"), cstr("SERROR"), cstr("VERROR"), cstr("C42601"),
      cstr("Msyntax error at or near \"SELEC\""), cstr("P1"), cstr("Fscan.l"), cstr("L1188"),
      cstr("Rscanner_yyerror"), from_hex("00"),
      from_hex("5a 00000005 49"),
  });
  expect_split_invariant(direction::backend, wire);
  feeder f{direction::backend};
  ASSERT_TRUE(f.push(wire));
  const auto msgs = decode_stream(f.frames());
  ASSERT_EQ(msgs.size(), 2u);
  const auto& e = std::get<error_response>(msgs[0]).fields;
  EXPECT_EQ(e.severity(), "ERROR");
  EXPECT_EQ(e.sqlstate(), "42601");
  EXPECT_EQ(e.message(), "syntax error at or near \"SELEC\"");
  EXPECT_EQ(e.get(error_field::position), "1");
  EXPECT_EQ(e.get(error_field::routine), "scanner_yyerror");
  expect_reencodes(msgs, wire);
}

TEST(golden_capture, extended_query_exec_params) {
  // PQexecParams("SELECT $1::int", {"7"}): ParseComplete, BindComplete, RowDescription
  // (Describe portal), DataRow, CommandComplete, ReadyForQuery.
  const bytes wire = concat({
      from_hex("31 00000004"),
      from_hex("32 00000004"),
      from_hex("54 0000001d 0001 696e743400 00000000 0000 00000017 0004 ffffffff 0000"),
      from_hex("44 0000000b 0001 00000001 37"),
      from_hex("43 0000000d 53454c4543542031 00"),
      from_hex("5a 00000005 49"),
  });
  expect_split_invariant(direction::backend, wire);
  feeder f{direction::backend};
  ASSERT_TRUE(f.push(wire));
  const auto msgs = decode_stream(f.frames());
  ASSERT_EQ(msgs.size(), 6u);
  EXPECT_TRUE(std::holds_alternative<parse_complete>(msgs[0]));
  EXPECT_TRUE(std::holds_alternative<bind_complete>(msgs[1]));
  EXPECT_EQ(std::get<row_description>(msgs[2]).fields.at(0).name, "int4");
  EXPECT_EQ(as_text(*std::get<data_row>(msgs[3]).columns.at(0)), "7");
  expect_reencodes(msgs, wire);
}

}  // namespace
}  // namespace dw::protocol::test
