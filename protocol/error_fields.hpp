// ErrorResponse and NoticeResponse bodies: (field code byte, string) pairs ended by a zero byte
// (PostgreSQL docs, "Error and Notice Message Fields"). Values view the frame body. Unknown field
// codes are kept, because the docs tell clients to ignore them, not to fail; no field is
// required by the decoder (policy belongs to the caller).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/errc.hpp"
#include "protocol/message_writer.hpp"

namespace dw::protocol {

/// Field codes from the docs' "Error and Notice Message Fields".
namespace error_field {
inline constexpr char severity = 'S';      ///< localized
inline constexpr char severity_raw = 'V';  ///< never localized (PostgreSQL 9.6+)
inline constexpr char sqlstate = 'C';
inline constexpr char message = 'M';
inline constexpr char detail = 'D';
inline constexpr char hint = 'H';
inline constexpr char position = 'P';
inline constexpr char internal_position = 'p';
inline constexpr char internal_query = 'q';
inline constexpr char where = 'W';
inline constexpr char schema_name = 's';
inline constexpr char table_name = 't';
inline constexpr char column_name = 'c';
inline constexpr char data_type_name = 'd';
inline constexpr char constraint_name = 'n';
inline constexpr char file = 'F';
inline constexpr char line = 'L';
inline constexpr char routine = 'R';
}  // namespace error_field

struct error_fields {
  /// In wire order; codes are never '\0' (that byte ends the list).
  std::vector<std::pair<char, std::string_view>> entries;

  /// The value of field `code`, "" if absent. Like libpq, a repeated code's last value wins.
  [[nodiscard]] std::string_view get(char code) const noexcept;
  /// The non-localized severity ('V') when present, else the localized one ('S').
  [[nodiscard]] std::string_view severity() const noexcept;
  [[nodiscard]] std::string_view sqlstate() const noexcept { return get(error_field::sqlstate); }
  [[nodiscard]] std::string_view message() const noexcept { return get(error_field::message); }
  [[nodiscard]] std::string_view detail() const noexcept { return get(error_field::detail); }
  [[nodiscard]] std::string_view hint() const noexcept { return get(error_field::hint); }
};

/// Decodes a whole ErrorResponse/NoticeResponse body: the terminator must be its last byte.
[[nodiscard]] result<error_fields> parse_error_fields(std::span<const std::byte> body);

/// Appends the entries and the terminating zero byte to a message begun on `w`.
void write_error_fields(message_writer& w, const error_fields& fields);

}  // namespace dw::protocol
