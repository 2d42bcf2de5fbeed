// The machinery of one mask walk over the token trie (token_trie.cc): the states it meets with
// the steps between them, and how far each state runs on through characters of one class.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "worker/structured/stacks.h"
#include "worker/structured/token_trie.h"

namespace llmw::structured {

// The states a mask walk meets, each stored once, and the steps between them: inside a JSON
// string nearly every token leads back to the same few states, so most trie nodes cost one
// lookup instead of a step. One cache serves walk after walk (Reset between them) and keeps its
// memory, so that a walk touches no fresh pages; one walk at a time.
class StateCache {
 public:
  static constexpr uint32_t kRejected = UINT32_MAX;

  // Forgets the states of the last walk; the next one steps `stacks`.
  void Reset(Stacks& stacks);

  // The id of `state`, added when new. Ids count from 0 in the order states are met.
  uint32_t Add(const MatchState& state);

  // Valid until the next Add or Step.
  const MatchState& state(uint32_t id) const { return states_[id]; }
  const Grammar& grammar() const { return stacks_->grammar(); }
  const Stacks& stacks() const { return *stacks_; }

  // The state after `byte` from state `id`, or kRejected.
  uint32_t Step(uint32_t id, uint8_t byte) {
    if (id < kDenseStates) {
      const size_t slot = static_cast<size_t>(id) * 256 + byte;
      if (dense_[slot] == kUnknown) {
        const uint32_t next = Compute(id, byte);  // may grow dense_: index it again after
        dense_[slot] = next;
      }
      return dense_[slot];
    }
    const uint64_t key = (static_cast<uint64_t>(id) << 8) | byte;
    if (auto it = steps_.find(key); it != steps_.end()) return it->second;
    const uint32_t next = Compute(id, byte);
    steps_.emplace(key, next);
    return next;
  }

 private:
  static constexpr uint32_t kUnknown = UINT32_MAX - 1;
  // The first states keep their steps in a table of 256 per state, the rest in a hash map.
  static constexpr uint32_t kDenseStates = 1024;

  uint32_t Compute(uint32_t id, uint8_t byte) {
    return stacks_->Step(states_[id], byte, &scratch_) ? Add(scratch_) : kRejected;
  }

  Stacks* stacks_ = nullptr;
  // states_[0, count_) are this walk's; the rest keep their memory for the next walks.
  std::vector<MatchState> states_;
  uint32_t count_ = 0;
  absl::flat_hash_map<std::string, uint32_t> ids_;
  std::vector<uint32_t> dense_;  // the steps of states [0, min(count_, kDenseStates))
  absl::flat_hash_map<uint64_t, uint32_t> steps_;
  MatchState scratch_;
  std::string key_;
};

// How many characters of one class every string may go on with from a state: inside a JSON
// string with n characters left, n of the string's character class. Such a state accepts every
// token made only of that class's characters and at most that long, whichever they are, so the
// walk takes those tokens (and whole trie subtrees of them) without stepping through them.
//
// The class is the widest one (at least kMinRunCodePoints code points) that the state's stacks
// match next. A state runs on for one character when no character is half-written, every stack
// matches either all of the class or none of it, and at least one matches all of it: then every
// character of the class leads to the same next state, which must not be dead.
class RunLengths {
 public:
  static constexpr uint64_t kMinRunCodePoints = 16;

  struct Run {
    const TokenTrie::ClassRuns* runs = nullptr;
    uint8_t length = 0;  // characters; 0: no run
    // Whether the state after `length` characters matches no character of the class: a string
    // of more characters of it is refused.
    bool closed = false;
  };

  RunLengths(const TokenTrie& trie, StateCache& cache) : trie_(trie), cache_(cache) {}

  Run Of(uint32_t state);

 private:
  // Whether `state` runs on for one character of `runs`' class: with no character half-written,
  // each stack matches all of the class or none of it, and at least one matches all of it.
  bool RunsOn(uint32_t state, const TokenTrie::ClassRuns& runs) const;
  // Whether no stack of `state` matches any character of the class (and none is half-written).
  bool Closed(uint32_t state, const TokenTrie::ClassRuns& runs) const;
  // The state after the class's first character, or StateCache::kRejected.
  uint32_t StepOne(uint32_t state, const TokenTrie::ClassRuns& runs);

  const TokenTrie& trie_;
  StateCache& cache_;
  std::vector<Run> memo_;    // by state id
  std::vector<bool> known_;  // whether memo_[id] is computed
};

}  // namespace llmw::structured
