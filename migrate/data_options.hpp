// The command line of `dwctl verify|backfill|repair`: which backends, which tables, and how
// hard to push. Pure parsing; data_cli.cpp runs what it describes.
#pragma once

#include <chrono>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "compare/chunk_sizer.hpp"
#include "compare/pg_identifier.hpp"
#include "migrate/endpoints.hpp"

namespace dw::migrate {

/// A bad command line; what() is the message for the operator.
class usage_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

enum class data_command { verify, backfill, repair };

struct data_options {
  data_command command = data_command::verify;
  connection_flags connection;
  std::vector<compare::table_pattern> tables;
  unsigned jobs = 2;
  compare::chunk_limits chunking;
  double max_rate = 0;  ///< rows per second over all workers; 0: unlimited
  int recheck = 3;
  std::chrono::milliseconds lock_timeout{200};
  bool json = false;
  bool quiet = false;         ///< no progress on stderr
  std::size_t max_rows = 20;  ///< differing rows listed per table for people (JSON: 1000)
  bool help = false;
  // verify
  std::string report;  ///< "": gates.verify_report from --config, else none
  // backfill
  std::string checkpoint = "dwctl-backfill.checkpoint.json";
  bool restart = false;
  bool sequences = false;
  bool sequences_only = false;
  // repair
  bool reverse = false;  ///< NEW -> OLD (phase 3, NEW is the primary)
  bool apply = false;
  std::string log = "dwctl-repair.jsonl";
};

/// Parses dwctl's argv (without the program name) for a data command; dwctl's own --json may
/// come before the command word. Throws usage_error.
[[nodiscard]] data_options parse_data_options(std::span<const std::string_view> args);

/// "a, sales.\"Big, Table\",b" -> three patterns; commas inside quotes belong to the name.
/// Throws usage_error naming a malformed entry.
[[nodiscard]] std::vector<compare::table_pattern> parse_table_list(std::string_view list);

/// The help text of one data command.
[[nodiscard]] std::string data_usage(data_command c);

}  // namespace dw::migrate
