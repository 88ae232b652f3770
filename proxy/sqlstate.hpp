// SQLSTATE codes the proxy answers with, and the one table mapping codec errors to them
// (STYLE.md 15). Codes and condition names follow PostgreSQL's errcodes.txt.
#pragma once

#include <string_view>

#include <boost/system/error_code.hpp>

namespace dw::proxy::sqlstate {

inline constexpr std::string_view protocol_violation = "08P01";
inline constexpr std::string_view connection_failure = "08006";
inline constexpr std::string_view sqlclient_unable_to_establish_connection = "08001";
inline constexpr std::string_view program_limit_exceeded = "54000";
inline constexpr std::string_view feature_not_supported = "0A000";
inline constexpr std::string_view invalid_authorization_specification = "28000";
inline constexpr std::string_view invalid_password = "28P01";
inline constexpr std::string_view invalid_catalog_name = "3D000";
inline constexpr std::string_view too_many_connections = "53300";
inline constexpr std::string_view admin_shutdown = "57P01";
inline constexpr std::string_view cannot_connect_now = "57P03";
inline constexpr std::string_view idle_session_timeout = "57P05";
inline constexpr std::string_view internal_error = "XX000";

struct mapped {
  std::string_view code;
  std::string_view message;
};

/// Maps a codec or transport error to what the client is told.
[[nodiscard]] mapped for_error(const boost::system::error_code& ec) noexcept;

}  // namespace dw::proxy::sqlstate
