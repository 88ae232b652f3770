// Follows one backend's answers to a unit of client messages (one Query, or an extended batch
// up to Sync): which message each answer belongs to, every statement's CommandComplete tag and
// a hash of its rows, the first error and the message it hit, and the final transaction
// status. The same tracker reads the primary (to decide what the shadow gets) and the shadow
// (to compare). Pure: fed message by message, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dw::shadow {

struct statement_result {
  std::size_t message = 0;  ///< index of the client message (Query or Execute) it answers
  std::string tag;          ///< CommandComplete tag; "" for EmptyQueryResponse or PortalSuspended
  std::uint64_t row_hash = 0;  ///< order-insensitive hash of the DataRows
  std::uint64_t rows = 0;
  bool rows_hashed = true;  ///< false: a row was too large to look at, so rows are not compared
};

struct reply_error {
  std::size_t message = 0;  ///< index of the client message that failed
  std::string sqlstate;
  std::string text;
};

class reply_tracker {
 public:
  /// Registers the next client message of the unit (its type byte), in the order sent.
  void expect(char client_type);
  /// Feeds one whole backend message. True when it ended the unit (its last ReadyForQuery).
  bool on_message(char type, std::span<const std::byte> body);
  /// A DataRow that streamed through unread (too large to inspect).
  void on_unread_row() noexcept;

  [[nodiscard]] bool done() const noexcept { return ready_seen_ == ready_expected_ && ready_expected_ > 0; }
  [[nodiscard]] bool copy_in() const noexcept { return copy_in_; }
  /// Extended messages without Sync are waiting for a Flush-triggered answer only.
  [[nodiscard]] std::uint32_t ready_expected() const noexcept { return ready_expected_; }
  [[nodiscard]] char status() const noexcept { return status_; }
  [[nodiscard]] const std::vector<statement_result>& results() const noexcept { return results_; }
  [[nodiscard]] const std::optional<reply_error>& error() const noexcept { return error_; }
  [[nodiscard]] std::span<const char> messages() const noexcept { return types_; }

 private:
  void skip_silent() noexcept;
  void advance() noexcept;
  void finish_result(std::string tag);

  std::vector<char> types_;
  std::size_t current_ = 0;
  std::uint32_t ready_expected_ = 0;
  std::uint32_t ready_seen_ = 0;
  bool skipping_to_sync_ = false;
  bool copy_in_ = false;
  char status_ = 'I';
  statement_result open_{};
  std::vector<statement_result> results_;
  std::optional<reply_error> error_;
};

/// "INSERT 0 1" etc., as the backend wrote it (without the NUL).
[[nodiscard]] std::string command_tag(std::span<const std::byte> body);

/// The same write (UPDATE, DELETE, INSERT, MERGE) changed no row on the primary and some
/// on the shadow: "UPDATE 0" against "UPDATE 1". An UPDATE or DELETE does so when the row's
/// INSERT, by another session, was still in flight on the primary but had committed on the
/// shadow by the time the shadow ran it (finding nothing takes no lock to order it by).
[[nodiscard]] bool only_shadow_changed_rows(std::string_view primary_tag,
                                            std::string_view shadow_tag);

}  // namespace dw::shadow
