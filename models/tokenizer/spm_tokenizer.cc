// SentencePiece-style BPE: vocabulary checks, special-token partition, score-ordered merging of
// UTF-8 characters with byte fallback, decoding.
#include "models/tokenizer/spm_tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <queue>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"

namespace llmw {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, how pieces spell a space

// The length of the UTF-8 character that starts with `byte`, read from its high bits only (a
// stray continuation byte counts as one), as the reference splits text.
size_t Utf8LengthFromFirstByte(uint8_t byte) {
  static constexpr uint8_t kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengths[byte >> 4];
}

std::string Unescape(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  for (size_t i = 0; i < piece.size();) {
    if (piece.substr(i, kSpace.size()) == kSpace) {
      out.push_back(' ');
      i += kSpace.size();
    } else {
      out.push_back(piece[i++]);
    }
  }
  return out;
}

// The byte a `<0xXX>` token stands for.
std::optional<uint8_t> ByteOfToken(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return std::nullopt;
  int value = 0;
  for (char c : text.substr(3, 2)) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    value = value * 16 + digit;
  }
  return static_cast<uint8_t>(value);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SpmTokenizer>> SpmTokenizer::Create(SpmVocab vocab) {
  std::unique_ptr<SpmTokenizer> t(new SpmTokenizer());
  RETURN_IF_ERROR(t->Init(std::move(vocab)));
  return t;
}

absl::Status SpmTokenizer::Init(SpmVocab v) {
  const size_t n = v.tokens.size();
  if (!v.scores.empty() && v.scores.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat(v.scores.size(), " token scores for ", n, " tokens"));
  }
  RETURN_IF_ERROR(table_.Build({std::move(v.tokens),
                                std::move(v.types),
                                {{"BOS", v.bos_id},
                                 {"EOS", v.eos_id},
                                 {"EOT", v.eot_id},
                                 {"EOM", v.eom_id},
                                 {"padding", v.pad_id},
                                 {"unknown", v.unk_id}},
                                {v.eos_id, v.eot_id, v.eom_id},
                                [](TokenType type, std::string_view text) {
                                  if (type != TokenType::kByte) {
                                    return std::optional<std::string>(Unescape(text));
                                  }
                                  std::optional<uint8_t> b = ByteOfToken(text);
                                  if (!b) return std::optional<std::string>();
                                  return std::optional<std::string>(
                                      std::string(1, static_cast<char>(*b)));
                                }}));
  scores_ = std::move(v.scores);
  scores_.resize(n, 0.0f);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    std::optional<int32_t> id = table_.Find(name);
    if (!id) id = table_.Find(std::string(1, static_cast<char>(b)));  // the byte as a piece
    byte_ids_[b] = id.value_or(-1);
  }
  bos_id_ = v.bos_id;
  eos_id_ = v.eos_id;
  unk_id_ = v.unk_id;
  add_bos_ = v.add_bos;
  add_eos_ = v.add_eos;
  add_space_prefix_ = v.add_space_prefix;
  return absl::OkStatus();
}

std::vector<int32_t> SpmTokenizer::Encode(std::string_view text, bool add_bos,
                                          bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos && add_bos_ && bos_id_) out.push_back(*bos_id_);
  bool after_special = true;  // the text's start counts as following a special token
  std::string escaped;
  table_.specials().Partition(
      text, parse_special,
      [&](std::string_view raw) {
        escaped.clear();
        if (add_space_prefix_ && after_special) escaped.append(kSpace);
        for (char c : raw) {
          if (c == ' ') {
            escaped.append(kSpace);
          } else {
            escaped.push_back(c);
          }
        }
        EncodeRun(escaped, &out);
        after_special = false;
      },
      [&](int32_t id) {
        out.push_back(id);
        after_special = true;
      });
  if (add_bos && add_eos_ && eos_id_) out.push_back(*eos_id_);
  return out;
}

void SpmTokenizer::EncodeRun(std::string_view text, std::vector<int32_t>* out) const {
  // Symbols are adjacent byte ranges of `text` in a linked list; a merged-away one has len 0.
  struct Symbol {
    size_t start, len;
    int32_t prev, next;
  };
  std::vector<Symbol> symbols;
  for (size_t i = 0; i < text.size();) {
    const size_t len =
        std::min(Utf8LengthFromFirstByte(static_cast<uint8_t>(text[i])), text.size() - i);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({i, len, index - 1, -1});
    if (index > 0) symbols[index - 1].next = index;
    i += len;
  }
  struct Pair {
    float score;
    int32_t left, right;
    size_t len;  // of the joined text, to recognise pairs made stale by other merges
    bool operator<(const Pair& o) const {  // the queue's top: highest score, then leftmost
      return score != o.score ? score < o.score : left > o.left;
    }
  };
  std::priority_queue<Pair> queue;
  auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const size_t len = symbols[left].len + symbols[right].len;
    if (std::optional<int32_t> id = table_.Find(text.substr(symbols[left].start, len))) {
      queue.push({scores_[*id], left, right, len});
    }
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) consider(i - 1, i);
  while (!queue.empty()) {
    const Pair p = queue.top();
    queue.pop();
    Symbol& left = symbols[p.left];
    Symbol& right = symbols[p.right];
    if (left.len == 0 || right.len == 0 || left.len + right.len != p.len) continue;  // stale
    left.len = p.len;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = p.left;
    consider(left.prev, p.left);
    consider(p.left, left.next);
  }
  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
    AppendSymbol(text.substr(symbols[i].start, symbols[i].len), out);
  }
}

void SpmTokenizer::AppendSymbol(std::string_view symbol, std::vector<int32_t>* out) const {
  if (std::optional<int32_t> id = table_.Find(symbol)) {
    out->push_back(*id);
    return;
  }
  // Only single characters can be missing (every merge makes a token): spell out their bytes.
  for (char c : symbol) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
    if (id >= 0) {
      out->push_back(id);
    } else if (unk_id_) {
      out->push_back(*unk_id_);
    }
  }
}

}  // namespace llmw
