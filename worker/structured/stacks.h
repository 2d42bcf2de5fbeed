// The matcher's machinery: the parse stacks a grammar can be in after some bytes, and one byte's
// step from one set of stacks to the next. GrammarMatcher and the token mask share it.
//
// A stack is a chain of nodes (position in Grammar::elements(), parent node); the top node's
// element is always a character class to match next, and each parent is where to continue once
// the rule above it ends. Nodes are hash-consed in an append-only store, so equal stacks are the
// same id, a set of stacks is a sorted vector of ids, and copying a state copies only that.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "worker/structured/grammar.h"

namespace llmw::structured {

// The stacks after some bytes, and the character in progress when they end mid-character.
struct MatchState {
  std::vector<uint32_t> tops;   // sorted stack ids; empty with !accepting: nothing can follow
  bool accepting = false;       // the root rule is complete here
  uint8_t pending = 0;          // continuation bytes the current character still needs
  uint32_t partial = 0;         // the current character's bits so far
  uint32_t min_code_point = 0;  // the smallest code point its length may encode
  // Every stack takes any character the pending bytes can complete (partial is then 0).
  bool uniform = false;
};

// The most (position, stack) pairs one byte's step may visit. A grammar so ambiguous that one
// byte leads to more parse stacks than this has the byte refused, so its mask comes out empty
// instead of the step taking unbounded time.
inline constexpr size_t kMaxStepWork = 100'000;

// Bytes that identify `state` among the states of one Stacks store, into `key`.
void StateKey(const MatchState& state, std::string* key);

class Stacks {
 public:
  static constexpr uint32_t kNoParent = UINT32_MAX;

  explicit Stacks(std::shared_ptr<const Grammar> grammar) : grammar_(std::move(grammar)) {}

  const Grammar& grammar() const { return *grammar_; }

  // The state before any byte.
  MatchState Start();
  // The state after `byte` from `from` into `to` (reusing its storage); false when the grammar
  // rejects the byte (invalid UTF-8 included), and `to` is then unspecified.
  bool Step(const MatchState& from, uint8_t byte, MatchState* to);

  // The position in Grammar::elements() of stack `id`'s top.
  uint32_t node_pos(uint32_t id) const { return nodes_[id].pos; }

  // (position, stack) pairs visited by all steps so far: the work done.
  uint64_t work() const { return work_; }

  // Stack `id`: the position in Grammar::elements() of its top (for a parent: where to continue
  // once the rule above it ends), and the stack below it (kNoParent at the bottom).
  uint32_t position(uint32_t id) const { return nodes_[id].pos; }
  uint32_t parent(uint32_t id) const { return nodes_[id].parent; }

  // Nodes are only ever added; a caller that made transient states may drop what it added.
  size_t node_count() const { return nodes_.size(); }
  void Truncate(size_t node_count);

 private:
  struct Node {
    uint32_t pos;
    uint32_t parent;
  };
  static uint64_t Key(uint32_t pos, uint32_t parent) {
    return (static_cast<uint64_t>(pos) << 32) | parent;
  }

  uint32_t Intern(uint32_t pos, uint32_t parent);
  // The stacks after code point `c` (kEveryTop: as if every stack's class contained it).
  void Advance(const MatchState& from, uint32_t c, MatchState* to);
  // Keeps the stacks whose next character may lie in lo..hi.
  static void Filter(const Grammar& g, const std::vector<Node>& nodes, const MatchState& from,
                     uint32_t lo, uint32_t hi, MatchState* to);
  // Adds the stacks reachable from position `pos` under `parent` without a character; false
  // when the step has visited more than kMaxStepWork pairs.
  bool Expand(uint32_t pos, uint32_t parent, MatchState* to);

  std::shared_ptr<const Grammar> grammar_;
  std::vector<Node> nodes_;
  absl::flat_hash_map<uint64_t, uint32_t> index_;
  // Scratch for Expand.
  absl::flat_hash_set<uint64_t> visited_;
  std::vector<std::pair<uint32_t, uint32_t>> pending_work_;
  uint64_t work_ = 0;
};

}  // namespace llmw::structured
