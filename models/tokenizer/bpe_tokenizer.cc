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
  RETURN_IF_ERROR(table_.Build({std::move(v.tokens),
                                std::move(v.types),
                                {{"BOS", v.bos_id},
                                 {"EOS", v.eos_id},
                                 {"EOT", v.eot_id},
                                 {"EOM", v.eom_id},
                                 {"padding", v.pad_id},
                                 {"unknown", v.unk_id}},
                                {v.eos_id, v.eot_id, v.eom_id},
                                [](TokenType, std::string_view text) {
                                  std::string bytes;
                                  AppendUnicodeAsBytes(text, &bytes);
                                  return std::optional<std::string>(std::move(bytes));
                                }}));
  for (int b = 0; b < 256; ++b) {
    std::string mapped;
    const char byte = static_cast<char>(b);
    AppendBytesAsUnicode(std::string_view(&byte, 1), &mapped);
    byte_ids_[b] = table_.Find(mapped).value_or(-1);
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
      std::optional<int32_t> id = table_.Find(s);
      if (!id) {
        return absl::InvalidArgumentError(absl::StrCat("merge ", r, " '", m, "': token '",
                                                       AbslView(s), "' is not in the vocabulary"));
      }
      ids[k] = *id;
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
  table_.specials().Partition(
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
    if (std::optional<int32_t> id = table_.Find(mapped)) {
      out->push_back(*id);
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

}  // namespace llmw
