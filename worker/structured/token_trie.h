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
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "models/tokenizer/tokenizer.h"
#include "worker/structured/matcher.h"

namespace llmw::structured {

class StateCache;

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
  TokenTrie(std::vector<std::string> token_bytes, std::vector<bool> end_of_generation);

  static TokenTrie FromTokenizer(const Tokenizer& tokenizer);
  TokenTrie(TokenTrie&&) noexcept;
  TokenTrie& operator=(TokenTrie&&) noexcept;
  ~TokenTrie();

  int32_t vocab_size() const { return static_cast<int32_t>(end_of_generation_.size()); }
  // What token `id` decodes to on its own: the bytes a matcher must accept for it.
  std::string_view token_bytes(int32_t id) const { return token_bytes_[id]; }
  bool ends_generation(int32_t id) const { return end_of_generation_[id]; }
  size_t node_count() const { return nodes_.size() - 1; }

  // The tokens whose bytes `matcher` accepts from its current state (a token may end inside a
  // character), plus the end-of-generation tokens where matcher.CanEnd(). RESOURCE_EXHAUSTED
  // when the grammar is so ambiguous that the mask would take more than kMaxMaskWork stack
  // visits (on the order of a second).
  // `memory` (mask_walk.h) is what the walk works in, kept from walk to walk by whoever computes
  // masks one after another; null: fresh memory for this walk.
  absl::StatusOr<TokenMask> Mask(const GrammarMatcher& matcher, StateCache* memory = nullptr) const;

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

  // The tokens, and the trie subtrees below a character's first byte, made only of characters of
  // one character class of a grammar. Inside a run of that class (a JSON string's characters,
  // up to its maxLength) the mask takes them in bulk instead of walking them.
  struct ClassRuns {
    std::vector<Grammar::Range> ranges;
    // Per node whose byte starts a character: kUnset for none; the most characters from that
    // byte to the end of a token below it, when all of them are of the class; else kMixed.
    std::vector<uint8_t> subtree_chars;
    // Per node: the characters of the bytes from the root to it when they are whole characters
    // all of the class, else kMixed.
    std::vector<uint8_t> prefix_chars;
    // Per token id: its length in characters when all of them are of the class, else 0.
    std::vector<uint8_t> token_chars;
  };
  static constexpr uint8_t kUnset = 0;
  static constexpr uint8_t kMixed = 255;
  static constexpr uint8_t kMaxRunChars = 254;
  // At most this many classes per trie keep their runs (about 1.5 MB each for 262k tokens);
  // past them, masks are walked in full.
  static constexpr size_t kMaxClassRuns = 32;
  struct RunStore {
    std::mutex mu;
    std::vector<std::unique_ptr<const ClassRuns>> runs;
  };
  friend class RunLengths;

  // The runs of the class `ranges` (built at the first request), or null past kMaxClassRuns.
  const ClassRuns* RunsOf(const Grammar::Range* ranges, size_t count) const;
  ClassRuns BuildRuns(const Grammar::Range* ranges, size_t count) const;
  void MarkPrefixes(ClassRuns* runs) const;
  // Allows the tokens made only of `runs`' characters, at most `length` of them.
  static void AllowRunTokens(const ClassRuns& runs, uint8_t length, TokenMask* mask);
  // Whether the walk may skip the subtree of `node` (a character's first byte) because the start
  // state's run decides every token in it: they are all of the run's class from the start, and
  // either all within its length (AllowRunTokens took them) or the run is closed (the longer ones
  // are refused).
  bool InStartRun(const ClassRuns* runs, uint8_t length, bool closed, uint32_t node) const;

  std::vector<Node> nodes_;
  std::vector<uint32_t> parents_;      // per node; the root's is 0
  std::vector<uint32_t> token_nodes_;  // per token id: the node it ends at, 0 when left out
  std::unique_ptr<RunStore> runs_;
  std::vector<int32_t> token_ids_;
  std::vector<int32_t> end_of_generation_ids_;
  std::vector<std::string> token_bytes_;
  std::vector<bool> end_of_generation_;
  uint32_t max_depth_ = 0;
};

// The masks of the last few states one matcher and its copies were in: inside a long string,
// or wherever a grammar comes back to the same state, a step's mask is a lookup instead of a
// walk. One cache per matcher; the trie must outlive it.
class MaskCache {
 public:
  // `memory`, when given, is the walks' memory (shared by the caches of one thread); it must
  // outlive the cache.
  explicit MaskCache(const TokenTrie& trie, StateCache* memory = nullptr, size_t capacity = 8);

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
  StateCache* const memory_;
  const size_t capacity_;
  const Stacks* stacks_ = nullptr;  // the store the keys' stack ids belong to
  std::vector<Entry> entries_;
  std::string key_;
  uint64_t clock_ = 0;
  size_t hits_ = 0;
};

}  // namespace llmw::structured
