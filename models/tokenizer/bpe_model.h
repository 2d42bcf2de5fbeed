// The merge step of BPE, shared by the GGUF byte-level tokenizer and the tokenizer.json ones: a
// word's symbols (its bytes through the byte↦unicode map, or its UTF-8 characters) are merged
// pair by pair, the pair of lowest merge rank first (the leftmost of equal ranks).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "models/tokenizer/token_table.h"

namespace llmw {

struct BpeModelOptions {
  // Symbols are a word's bytes, each as its byte↦unicode character (GPT-2 style); otherwise its
  // UTF-8 characters (SentencePiece style).
  bool byte_level = true;
  // A word that is itself a token is that token, merges or not.
  bool ignore_merges = false;
  // Of a repeated merge pair, the last rank counts (tokenizer.json) rather than the first (GGUF).
  bool last_duplicate_merge_wins = false;
  // Characters only: one missing from the vocabulary is spelled with its `<0xXX>` tokens (when
  // all exist); otherwise it is unknown: `unk_id` (consecutive ones fused into one with
  // `fuse_unk`), or left out without an unknown token.
  bool byte_fallback = false;
  bool fuse_unk = false;
  // Bytes: a byte with no token becomes this token after merging (or is left out).
  std::optional<int32_t> unk_id;
};

class BpeModel {
 public:
  BpeModel() = default;
  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  // `table` (the vocabulary) must outlive the model and stay where it is.
  void Init(const TokenTable* table, BpeModelOptions options);
  // Adds the merge `left` + `right` with the next rank (the first one added has rank 0).
  // INVALID_ARGUMENT naming the token when `left`, `right` or their join is not in the table.
  absl::Status AddMerge(std::string_view left, std::string_view right);
  size_t merge_count() const { return next_rank_; }

  // Appends the tokens of one pre-tokenized word (raw bytes, before any byte mapping).
  void EncodeWord(std::string_view word, std::vector<int32_t>* out) const;

 private:
  struct Merge {
    uint32_t rank;
    int32_t result;
  };

  // The initial symbols of `word`: token ids, -1 for a byte with no token.
  std::vector<int32_t> Symbols(std::string_view word) const;
  void MergeSymbols(std::vector<int32_t> ids, std::vector<int32_t>* out) const;

  const TokenTable* table_ = nullptr;
  BpeModelOptions options_;
  absl::flat_hash_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) → merge
  uint32_t next_rank_ = 0;
  std::array<int32_t, 256> byte_ids_{};  // byte-level: the token of each byte; else <0xXX>

  // Recent words → ids. Bounded: cleared when full.
  // A std::mutex rather than absl::Mutex: ThreadSanitizer sees std::mutex (pthreads) even
  // where Abseil is built without it, as Debian's is.
  mutable std::mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, std::vector<int32_t>> cache_;  // under cache_mu_
};

}  // namespace llmw
