// BPE merging: initial symbols of a word, the rank-ordered merge queue, the word cache.
#include "models/tokenizer/bpe_model.h"

#include <cstdio>
#include <functional>
#include <queue>
#include <utility>

#include "absl/strings/str_cat.h"
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

void BpeModel::Init(const TokenTable* table, BpeModelOptions options) {
  table_ = table;
  options_ = options;
  for (int b = 0; b < 256; ++b) {
    std::string name;
    if (options_.byte_level) {
      const char byte = static_cast<char>(b);
      AppendBytesAsUnicode(std::string_view(&byte, 1), &name);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "<0x%02X>", b);
      name = hex;
    }
    byte_ids_[b] = table_->Find(name).value_or(-1);
  }
}

absl::Status BpeModel::AddMerge(std::string_view left, std::string_view right) {
  const std::string merged = absl::StrCat(AbslView(left), AbslView(right));
  int32_t ids[3];
  for (int k = 0; k < 3; ++k) {
    const std::string_view s = k == 0 ? left : k == 1 ? right : std::string_view(merged);
    std::optional<int32_t> id = table_->Find(s);
    if (!id) {
      return absl::InvalidArgumentError(
          absl::StrCat("token '", AbslView(s), "' is not in the vocabulary"));
    }
    ids[k] = *id;
  }
  const Merge merge{next_rank_++, ids[2]};
  if (options_.last_duplicate_merge_wins) {
    merges_.insert_or_assign(PairKey(ids[0], ids[1]), merge);
  } else {
    merges_.try_emplace(PairKey(ids[0], ids[1]), merge);
  }
  return absl::OkStatus();
}

void BpeModel::EncodeWord(std::string_view word, std::vector<int32_t>* out) const {
  if (word.empty()) return;
  if (options_.byte_level && word.size() == 1 && byte_ids_[static_cast<uint8_t>(word[0])] >= 0) {
    out->push_back(byte_ids_[static_cast<uint8_t>(word[0])]);
    return;
  }
  if (options_.ignore_merges) {
    std::string mapped;
    if (options_.byte_level) AppendBytesAsUnicode(word, &mapped);
    if (std::optional<int32_t> id = table_->Find(options_.byte_level ? mapped : word)) {
      out->push_back(*id);
      return;
    }
  }
  const bool cacheable = word.size() <= kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (auto it = cache_.find(AbslView(word)); it != cache_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = out->size();
  MergeSymbols(Symbols(word), out);
  if (cacheable) {
    std::vector<int32_t> ids(out->begin() + first, out->end());
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() >= kCacheEntries) cache_.clear();
    cache_.try_emplace(std::string(word), std::move(ids));
  }
}

std::vector<int32_t> BpeModel::Symbols(std::string_view word) const {
  std::vector<int32_t> ids;
  ids.reserve(word.size());
  if (options_.byte_level) {
    for (char c : word) ids.push_back(byte_ids_[static_cast<uint8_t>(c)]);
    return ids;
  }
  // An unknown character waits as `pending_unk` so that the next one can join it; as in the
  // reference, only a known character (or the end) puts it in place, after any byte fallback.
  bool pending_unk = false;
  for (size_t i = 0; i < word.size();) {
    size_t len;
    DecodeUtf8Lenient(word.substr(i), &len);
    const std::string_view ch = word.substr(i, len);
    i += len;
    if (std::optional<int32_t> id = table_->Find(ch)) {
      if (pending_unk) ids.push_back(*options_.unk_id);
      pending_unk = false;
      ids.push_back(*id);
      continue;
    }
    bool all_bytes = options_.byte_fallback;
    for (char c : ch) all_bytes = all_bytes && byte_ids_[static_cast<uint8_t>(c)] >= 0;
    if (all_bytes) {
      for (char c : ch) ids.push_back(byte_ids_[static_cast<uint8_t>(c)]);
      continue;
    }
    if (!options_.unk_id) continue;
    if (pending_unk && !options_.fuse_unk) ids.push_back(*options_.unk_id);
    pending_unk = true;
  }
  if (pending_unk) ids.push_back(*options_.unk_id);
  return ids;
}

void BpeModel::MergeSymbols(std::vector<int32_t> ids, std::vector<int32_t>* out) const {
  // Symbols form a linked list; merged-away symbols get id -2, bytes with no token are -1.
  constexpr int32_t kGone = -2;
  const auto n = static_cast<int32_t>(ids.size());
  std::vector<int32_t> prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) {
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
    ids[right] = kGone;
    next[c.left] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.left;
    consider(prev[c.left]);
    consider(c.left);
  }
  for (int32_t i = n > 0 ? 0 : -1; i >= 0; i = next[i]) {
    if (ids[i] >= 0) {
      out->push_back(ids[i]);
    } else if (options_.unk_id) {
      out->push_back(*options_.unk_id);  // a byte with no token of its own
    }
  }
}

}  // namespace llmw
