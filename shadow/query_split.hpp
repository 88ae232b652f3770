// Ordered mode's cuts in a multi-statement Query text (docs/dual-write.md, "Ordering across
// sessions"). PostgreSQL runs such a text in one go, so the proxy could neither hold a COMMIT
// inside it until the shadow caught up, nor take a serialised table's write order for one
// INSERT without holding it across every other statement of the text (a deadlock PostgreSQL
// cannot see, when one of those waits for a row lock). Inside an explicit transaction block
// the text can instead run as several Query texts with the same effect: this decides where.
// Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "shadow/statement_plan.hpp"

namespace dw::shadow {

struct query_piece {
  /// The piece's statements, after one blank for each character of the text before them,
  /// so that an error position PostgreSQL reports is that of the whole text.
  std::string text;
  /// The transaction status the piece leaves when it succeeds: 'T' inside the block, 'I'
  /// after a COMMIT. Any other status means it failed, and PostgreSQL would have skipped
  /// the rest of the text.
  char status_after = 'T';
};

/// Texts longer than this run whole: every piece repeats the text's length in blanks.
inline constexpr std::size_t max_split_text = 64u << 10;

/// The pieces `sql` runs as when the session's transaction status before it is
/// `transaction_status`; empty: run it whole. Cuts are made only where the text is inside
/// an explicit transaction block (or just after its COMMIT, where a new Query text starts a
/// new implicit transaction just as the rest of the text would have):
///   - before a COMMIT/END that follows a write, and after it;
///   - around every run of statements with serialize_keys.
[[nodiscard]] std::vector<query_piece> split_for_order(std::string_view sql,
                                                       const statement_plan& plan,
                                                       char transaction_status);

}  // namespace dw::shadow
