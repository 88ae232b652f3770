#include "shadow/query_split.hpp"

#include <algorithm>

namespace dw::shadow {
namespace {

// Characters of UTF-8 text (bytes that do not continue a sequence); for text in another
// encoding this counts too few for its multi-byte characters, never too many for ASCII.
std::size_t utf8_characters(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char ch) {
    return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  }));
}

}  // namespace

std::vector<query_piece> split_for_order(std::string_view sql, const statement_plan& plan,
                                         char transaction_status) {
  const auto& parts = plan.parts;
  if (transaction_status == 'E' || parts.size() < 2 || sql.size() > max_split_text) return {};
  struct cut {
    std::size_t at;
    char status_before;  // what the piece that ends here leaves
  };
  std::vector<cut> cuts;
  bool in_block = transaction_status == 'T';
  // Writes since the block began; one opened before this text may have written already.
  bool wrote = transaction_status == 'T';
  bool held_commit = false;  // the previous statement was a COMMIT cut before
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const auto& part = parts[k];
    bool cut_here = false;
    if (k > 0) {
      cut_here = held_commit ||
                 (in_block && part.commits && wrote) ||
                 (in_block && part.serialized != parts[k - 1].serialized);
    }
    if (cut_here && part.location < sql.size()) cuts.push_back({part.location, in_block ? 'T' : 'I'});
    held_commit = cut_here && in_block && part.commits && wrote;
    if (part.begins) in_block = true;
    if (part.ends_transaction) {
      in_block = part.chain;
      wrote = false;
    }
    wrote = wrote || (in_block && part.needs_order);
  }
  if (cuts.empty()) return {};
  std::vector<query_piece> pieces;
  std::size_t begin = 0, blanks = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i].at : sql.size();
    const std::string_view statements = sql.substr(begin, end - begin);
    query_piece piece;
    piece.text.assign(blanks, ' ');
    piece.text += statements;
    piece.status_after = i < cuts.size() ? cuts[i].status_before : 'I';
    pieces.push_back(std::move(piece));
    blanks += utf8_characters(statements);
    begin = end;
  }
  return pieces;
}

}  // namespace dw::shadow
