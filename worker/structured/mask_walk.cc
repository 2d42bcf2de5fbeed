// Run lengths of the states a mask walk meets.
#include "worker/structured/mask_walk.h"

#include <algorithm>

namespace llmw::structured {
namespace {

uint64_t CodePoints(const Grammar& g, const Element& e) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < e.count; ++i) {
    const Grammar::Range& r = g.ranges()[e.value + i];
    n += r.second - r.first + 1;
  }
  return n;
}

}  // namespace

void StateCache::Reset(Stacks& stacks) {
  stacks_ = &stacks;
  const size_t dense_used = std::min<size_t>(count_, kDenseStates) * 256;
  std::fill(dense_.begin(), dense_.begin() + static_cast<ptrdiff_t>(dense_used), kUnknown);
  count_ = 0;
  ids_.clear();
  steps_.clear();
}

uint32_t StateCache::Add(const MatchState& state) {
  StateKey(state, &key_);
  const auto [it, inserted] = ids_.try_emplace(key_, count_);
  if (!inserted) return it->second;
  if (count_ < states_.size()) {
    states_[count_] = state;  // reuses the stack vector's memory
  } else {
    states_.push_back(state);
  }
  if (count_ < kDenseStates && dense_.size() < (static_cast<size_t>(count_) + 1) * 256) {
    dense_.resize((static_cast<size_t>(count_) + 1) * 256, kUnknown);
  }
  return count_++;
}

RunLengths::Run RunLengths::Of(uint32_t state) {
  if (state < known_.size() && known_[state]) return memo_[state];
  Run run;
  const Grammar& g = cache_.grammar();
  const MatchState& s = cache_.state(state);
  const Element* widest = nullptr;
  uint64_t widest_size = kMinRunCodePoints - 1;
  if (s.pending == 0) {
    for (uint32_t top : s.tops) {
      const Element& e = g.elements()[cache_.stacks().node_pos(top)];
      const uint64_t size = CodePoints(g, e);
      if (size > widest_size) {
        widest = &e;
        widest_size = size;
      }
    }
  }
  if (widest != nullptr) {
    run.runs = trie_.RunsOf(g.ranges().data() + widest->value, widest->count);
  }
  if (run.runs != nullptr) {
    uint32_t at = state;
    while (run.length < TokenTrie::kMaxRunChars && RunsOn(at, *run.runs)) {
      at = StepOne(at, *run.runs);
      if (at == StateCache::kRejected) break;
      ++run.length;
    }
    run.closed = at != StateCache::kRejected && Closed(at, *run.runs);
  }
  if (state >= known_.size()) {
    known_.resize(state + 1, false);
    memo_.resize(state + 1);
  }
  known_[state] = true;
  memo_[state] = run;
  return run;
}

bool RunLengths::RunsOn(uint32_t state, const TokenTrie::ClassRuns& runs) const {
  const MatchState& s = cache_.state(state);
  if (s.pending != 0) return false;
  const Grammar& g = cache_.grammar();
  bool any_whole = false;
  for (uint32_t top : s.tops) {
    const uint32_t pos = cache_.stacks().node_pos(top);
    bool all = true, none = true;
    for (const Grammar::Range& r : runs.ranges) {
      all = all && g.CharsContain(pos, r.first, r.second);
      none = none && !g.CharsIntersect(pos, r.first, r.second);
    }
    if (!all && !none) return false;
    any_whole = any_whole || all;
  }
  return any_whole;
}

bool RunLengths::Closed(uint32_t state, const TokenTrie::ClassRuns& runs) const {
  const MatchState& s = cache_.state(state);
  if (s.pending != 0) return false;
  const Grammar& g = cache_.grammar();
  for (uint32_t top : s.tops) {
    const uint32_t pos = cache_.stacks().node_pos(top);
    for (const Grammar::Range& r : runs.ranges) {
      if (g.CharsIntersect(pos, r.first, r.second)) return false;
    }
  }
  return true;
}

uint32_t RunLengths::StepOne(uint32_t state, const TokenTrie::ClassRuns& runs) {
  // Any character of the class leads to the same state (RunsOn): take the first one.
  const uint32_t c = runs.ranges.front().first;
  uint8_t bytes[4];
  int n;
  if (c < 0x80) {
    bytes[0] = static_cast<uint8_t>(c);
    n = 1;
  } else if (c < 0x800) {
    bytes[0] = static_cast<uint8_t>(0xC0 | (c >> 6));
    bytes[1] = static_cast<uint8_t>(0x80 | (c & 0x3F));
    n = 2;
  } else if (c < 0x10000) {
    bytes[0] = static_cast<uint8_t>(0xE0 | (c >> 12));
    bytes[1] = static_cast<uint8_t>(0x80 | ((c >> 6) & 0x3F));
    bytes[2] = static_cast<uint8_t>(0x80 | (c & 0x3F));
    n = 3;
  } else {
    bytes[0] = static_cast<uint8_t>(0xF0 | (c >> 18));
    bytes[1] = static_cast<uint8_t>(0x80 | ((c >> 12) & 0x3F));
    bytes[2] = static_cast<uint8_t>(0x80 | ((c >> 6) & 0x3F));
    bytes[3] = static_cast<uint8_t>(0x80 | (c & 0x3F));
    n = 4;
  }
  for (int i = 0; i < n && state != StateCache::kRejected; ++i)
    state = cache_.Step(state, bytes[i]);
  return state;
}

}  // namespace llmw::structured
