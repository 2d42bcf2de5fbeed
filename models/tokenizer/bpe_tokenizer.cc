// Byte-level BPE: vocabulary checks, special-token partition, pre-tokenized merging, decoding.
#include "models/tokenizer/bpe_tokenizer.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/tokenizer/byte_unicode.h"
#include "models/tokenizer/unicode.h"

namespace llmw {
namespace {

constexpr size_t kCacheEntries = 1 << 16;
constexpr size_t kCacheMaxWordBytes = 64;
constexpr std::string_view kEndOfTurnTexts[] = {"<|im_end|>", "<|endoftext|>", "<|eot_id|>",
                                                "<|end|>",    "<end_of_turn>", "<|eom_id|>"};

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace

absl::StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::Create(BpeVocab vocab) {
  std::unique_ptr<BpeTokenizer> t(new BpeTokenizer());
  RETURN_IF_ERROR(t->Init(std::move(vocab)));
  return t;
}

absl::Status BpeTokenizer::Init(BpeVocab v) {
  const size_t n = v.tokens.size();
  if (n == 0 || n > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError(absl::StrCat("bad vocabulary size ", n));
  }
  if (!v.types.empty() && v.types.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat(v.types.size(), " token types for ", n, " tokens"));
  }
  for (auto [name, id] : {std::pair{"BOS", v.bos_id},
                          {"EOS", v.eos_id},
                          {"EOT", v.eot_id},
                          {"EOM", v.eom_id},
                          {"padding", v.pad_id},
                          {"unknown", v.unk_id}}) {
    if (id && (*id < 0 || static_cast<size_t>(*id) >= n)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " token id ", *id, " is out of range (vocabulary size ", n, ")"));
    }
  }
  texts_ = std::move(v.tokens);
  AddTokens(v.types);
  for (std::optional<int32_t> id : {v.eos_id, v.eot_id, v.eom_id}) {
    if (id) end_of_generation_[*id] = 1;
  }
  specials_.Index();
  for (int b = 0; b < 256; ++b) {
    std::string mapped;
    const char byte = static_cast<char>(b);
    AppendBytesAsUnicode(std::string_view(&byte, 1), &mapped);
    auto it = ids_.find(mapped);
    byte_ids_[b] = it == ids_.end() ? -1 : it->second;
  }
  RETURN_IF_ERROR(AddMerges(v.merges));
  pre_ = v.pre;
  bos_id_ = v.bos_id;
  eos_id_ = v.eos_id;
  unk_id_ = v.unk_id;
  add_bos_ = v.add_bos;
  add_eos_ = v.add_eos;
  return absl::OkStatus();
}

void BpeTokenizer::AddTokens(const std::vector<TokenType>& types) {
  const size_t n = texts_.size();
  decoded_.resize(n);
  render_.resize(n, Render::kNever);
  end_of_generation_.assign(n, 0);
  ids_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const auto id = static_cast<int32_t>(i);
    const TokenType type = types.empty() ? TokenType::kNormal : types[i];
    const std::string& text = texts_[i];
    ids_.insert_or_assign(text, id);  // on duplicates the last one wins, as in the reference
    switch (type) {
      case TokenType::kControl:
      case TokenType::kUnknown:
        decoded_[i] = text;
        render_[i] = Render::kIfSpecial;
        specials_.Add(id, text, /*control=*/true);
        break;
      case TokenType::kUserDefined:
        decoded_[i] = text;
        render_[i] = Render::kAlways;
        specials_.Add(id, text, /*control=*/false);
        break;
      case TokenType::kUnused:
        break;
      default:
        AppendUnicodeAsBytes(text, &decoded_[i]);
        render_[i] = Render::kAlways;
    }
    if (type == TokenType::kControl &&
        std::find(std::begin(kEndOfTurnTexts), std::end(kEndOfTurnTexts), text) !=
            std::end(kEndOfTurnTexts)) {
      end_of_generation_[i] = 1;
    }
  }
}

absl::Status BpeTokenizer::AddMerges(const std::vector<std::string>& merges) {
  merges_.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const std::string& m = merges[r];
    const size_t space = m.find(' ', 1);
    if (space == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("merge ", r, " '", m, "' is not two tokens separated by a space"));
    }
    const std::string_view left(m.data(), space), right(m.data() + space + 1, m.size() - space - 1);
    const std::string merged = absl::StrCat(AbslView(left), AbslView(right));
    int32_t ids[3];
    for (int k = 0; k < 3; ++k) {
      const std::string_view s = k == 0 ? left : k == 1 ? right : std::string_view(merged);
      auto it = ids_.find(AbslView(s));
      if (it == ids_.end()) {
        return absl::InvalidArgumentError(absl::StrCat("merge ", r, " '", m, "': token '",
                                                       AbslView(s), "' is not in the vocabulary"));
      }
      ids[k] = it->second;
    }
    // A repeated pair keeps its first (lowest) rank.
    merges_.try_emplace(PairKey(ids[0], ids[1]), Merge{static_cast<uint32_t>(r), ids[2]});
  }
  return absl::OkStatus();
}

std::vector<int32_t> BpeTokenizer::Encode(std::string_view text, bool add_bos,
                                          bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos && add_bos_ && bos_id_) out.push_back(*bos_id_);
  specials_.Partition(
      text, parse_special, [&](std::string_view raw) { EncodeRaw(raw, &out); },
      [&](int32_t id) { out.push_back(id); });
  if (add_bos && add_eos_ && eos_id_) out.push_back(*eos_id_);
  return out;
}

void BpeTokenizer::EncodeRaw(std::string_view text, std::vector<int32_t>* out) const {
  std::string cleaned;
  if (CleanUtf8ForEncoding(text, &cleaned)) text = cleaned;
  for (std::string_view word : PreTokenize(pre_, text)) EncodeWord(word, out);
}

void BpeTokenizer::EncodeWord(std::string_view word, std::vector<int32_t>* out) const {
  if (word.size() == 1 && byte_ids_[static_cast<uint8_t>(word[0])] >= 0) {
    out->push_back(byte_ids_[static_cast<uint8_t>(word[0])]);
    return;
  }
  if (pre_ == PreTokenizer::kLlama3) {  // ignore_merges: a piece that is a token is used whole
    std::string mapped;
    AppendBytesAsUnicode(word, &mapped);
    if (auto it = ids_.find(mapped); it != ids_.end()) {
      out->push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= kCacheMaxWordBytes;
  if (cacheable) {
    absl::MutexLock lock(&cache_mu_);
    if (auto it = cache_.find(AbslView(word)); it != cache_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = out->size();
  MergeWord(word, out);
  if (cacheable) {
    std::vector<int32_t> ids(out->begin() + first, out->end());
    absl::MutexLock lock(&cache_mu_);
    if (cache_.size() >= kCacheEntries) cache_.clear();
    cache_.try_emplace(std::string(word), std::move(ids));
  }
}

void BpeTokenizer::MergeWord(std::string_view word, std::vector<int32_t>* out) const {
  // Symbols form a linked list over the word's bytes; merged-away symbols get id -1.
  const auto n = static_cast<int32_t>(word.size());
  std::vector<int32_t> ids(n), prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) {
    ids[i] = byte_ids_[static_cast<uint8_t>(word[i])];
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    uint32_t rank;
    int32_t left, left_id, right_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto consider = [&](int32_t left) {
    if (left < 0 || next[left] < 0 || ids[left] < 0 || ids[next[left]] < 0) return;
    auto it = merges_.find(PairKey(ids[left], ids[next[left]]));
    if (it != merges_.end()) queue.push({it->second.rank, left, ids[left], ids[next[left]]});
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    const int32_t right = next[c.left];
    if (ids[c.left] != c.left_id || right < 0 || ids[right] != c.right_id) continue;  // stale
    ids[c.left] = merges_.find(PairKey(c.left_id, c.right_id))->second.result;
    ids[right] = -1;
    next[c.left] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.left;
    consider(prev[c.left]);
    consider(c.left);
  }
  for (int32_t i = 0; i >= 0 && i < n; i = next[i]) {
    if (ids[i] >= 0) {
      out->push_back(ids[i]);
    } else if (unk_id_) {
      out->push_back(*unk_id_);  // a byte with no token of its own
    }
  }
}

std::string BpeTokenizer::TokenText(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return "";
  return decoded_[id];
}

std::string BpeTokenizer::Decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) continue;
    if (render_[id] == Render::kAlways || (render_[id] == Render::kIfSpecial && render_special)) {
      out += decoded_[id];
    }
  }
  return out;
}

bool BpeTokenizer::IsEndOfGeneration(int32_t id) const {
  return id >= 0 && id < vocab_size() && end_of_generation_[id];
}

std::optional<int32_t> BpeTokenizer::FindToken(std::string_view text) const {
  auto it = ids_.find(AbslView(text));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

}  // namespace llmw
