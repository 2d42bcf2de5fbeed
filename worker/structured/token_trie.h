// TokenTrie: a vocabulary's token bytes as a prefix tree, built once per tokenizer, and the
// per-step mask of the tokens a grammar allows next.
//
// A token stands for the bytes it decodes to on its own (Tokenizer::Decode of that id without
// special tokens: a byte-level BPE piece's bytes, a SentencePiece piece with '▁' as a space, a
// byte-fallback token's byte). Tokens that decode to nothing (control, unknown and unused
// tokens) are never allowed, except those that end generation, which are allowed exactly where
// the grammar can end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/tokenizer/tokenizer.h"
#include "worker/structured/matcher.h"

namespace llmw::structured {

// One bit per token id; bit id of word id / 64.
using TokenMask = std::vector<uint64_t>;

inline bool MaskAllows(const TokenMask& mask, int32_t id) {
  return (mask[static_cast<size_t>(id) >> 6] >> (id & 63)) & 1;
}

class TokenTrie {
 public:
  static constexpr size_t kMaxTokenBytes = 1024;
  static constexpr uint64_t kMaxMaskWork = 20'000'000;

  // `token_bytes[id]` is what token id decodes to; `end_of_generation[id]` whether it ends
  // generation (an empty vector: none does). Tokens longer than kMaxTokenBytes are left out.
  TokenTrie(const std::vector<std::string>& token_bytes, std::vector<bool> end_of_generation);

  static TokenTrie FromTokenizer(const Tokenizer& tokenizer);

  int32_t vocab_size() const { return static_cast<int32_t>(end_of_generation_.size()); }
  size_t node_count() const { return nodes_.size() - 1; }

  // The tokens whose bytes `matcher` accepts from its current state (a token may end inside a
  // character), plus the end-of-generation tokens where matcher.CanEnd(). RESOURCE_EXHAUSTED
  // when the grammar is so ambiguous that the mask would take more than kMaxMaskWork stack
  // visits (on the order of a second).
  absl::StatusOr<TokenMask> Mask(const GrammarMatcher& matcher) const;

 private:
  // Nodes in depth-first order; node 0 is the root (the empty prefix), and a last node with
  // only tokens_begin set closes the list. The tokens ending at node i are
  // token_ids_[nodes_[i].tokens_begin, nodes_[i + 1].tokens_begin).
  struct Node {
    uint32_t subtree_end;  // the first node after this one's subtree
    uint32_t tokens_begin;
    uint16_t depth;  // bytes from the root
    uint8_t byte;    // the edge from the parent
  };

  std::vector<Node> nodes_;
  std::vector<int32_t> token_ids_;
  std::vector<int32_t> end_of_generation_ids_;
  std::vector<bool> end_of_generation_;
  uint32_t max_depth_ = 0;
};

// The masks of the last few states one matcher and its copies were in: inside a long string,
// or wherever a grammar comes back to the same state, a step's mask is a lookup instead of a
// walk. One cache per matcher; the trie must outlive it.
class MaskCache {
 public:
  explicit MaskCache(const TokenTrie& trie, size_t capacity = 8);

  // As TokenTrie::Mask; the mask stays valid until the next call.
  absl::StatusOr<const TokenMask*> Mask(const GrammarMatcher& matcher);

  size_t hits() const { return hits_; }

 private:
  struct Entry {
    std::string key;  // StateKey of the state
    TokenMask mask;
    uint64_t used;  // clock_ at the last use
  };

  const TokenTrie& trie_;
  const size_t capacity_;
  const Stacks* stacks_ = nullptr;  // the store the keys' stack ids belong to
  std::vector<Entry> entries_;
  std::string key_;
  uint64_t clock_ = 0;
  size_t hits_ = 0;
};

}  // namespace llmw::structured
