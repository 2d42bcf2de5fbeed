// Building the token trie and walking it with a matcher to compute the mask.
#include "worker/structured/token_trie.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace llmw::structured {

TokenTrie::TokenTrie(const std::vector<std::string>& token_bytes,
                     std::vector<bool> end_of_generation)
    : end_of_generation_(std::move(end_of_generation)) {
  end_of_generation_.resize(token_bytes.size(), false);
  std::vector<int32_t> order;
  for (size_t id = 0; id < token_bytes.size(); ++id) {
    if (end_of_generation_[id]) end_of_generation_ids_.push_back(static_cast<int32_t>(id));
    const size_t length = token_bytes[id].size();
    if (length > 0 && length <= kMaxTokenBytes) order.push_back(static_cast<int32_t>(id));
  }
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return token_bytes[a] != token_bytes[b] ? token_bytes[a] < token_bytes[b] : a < b;
  });
  // Sorted, the tokens arrive in depth-first order: keep the path to the last node and close
  // the subtrees the next token leaves.
  nodes_.push_back({0, 0, 0, 0});
  std::vector<uint32_t> path = {0};
  std::string_view previous;
  for (int32_t id : order) {
    const std::string_view bytes = token_bytes[id];
    size_t common = 0;
    while (common < previous.size() && common < bytes.size() && previous[common] == bytes[common]) {
      ++common;
    }
    while (path.size() > common + 1) {
      nodes_[path.back()].subtree_end = static_cast<uint32_t>(nodes_.size());
      path.pop_back();
    }
    // Tokens come in node order, so a new node's tokens begin where the list stands.
    for (size_t i = common; i < bytes.size(); ++i) {
      const auto depth = static_cast<uint16_t>(i + 1);
      nodes_.push_back(
          {0, static_cast<uint32_t>(token_ids_.size()), depth, static_cast<uint8_t>(bytes[i])});
      path.push_back(static_cast<uint32_t>(nodes_.size() - 1));
      max_depth_ = std::max<uint32_t>(max_depth_, depth);
    }
    token_ids_.push_back(id);
    previous = bytes;
  }
  while (!path.empty()) {
    nodes_[path.back()].subtree_end = static_cast<uint32_t>(nodes_.size());
    path.pop_back();
  }
  nodes_.push_back({0, static_cast<uint32_t>(token_ids_.size()), 0, 0});
}

TokenTrie TokenTrie::FromTokenizer(const Tokenizer& tokenizer) {
  const int32_t n = tokenizer.vocab_size();
  std::vector<std::string> bytes(n);
  std::vector<bool> end_of_generation(n);
  for (int32_t id = 0; id < n; ++id) {
    const int32_t one[] = {id};
    bytes[id] = tokenizer.Decode(one, /*render_special=*/false);
    end_of_generation[id] = tokenizer.IsEndOfGeneration(id);
  }
  return TokenTrie(bytes, std::move(end_of_generation));
}

namespace {

// The states a mask walk meets, each stored once, and the steps between them: inside a JSON
// string nearly every token leads back to the same few states, so most trie nodes cost one
// lookup instead of a step.
class StateCache {
 public:
  static constexpr uint32_t kRejected = UINT32_MAX;

  explicit StateCache(Stacks& stacks) : stacks_(stacks) {}

  uint32_t Add(const MatchState& state) {
    StateKey(state, &key_);
    auto [it, inserted] = ids_.try_emplace(key_, static_cast<uint32_t>(states_.size()));
    if (inserted) states_.push_back(state);
    return it->second;
  }

  // The state after `byte` from state `id`, or kRejected.
  uint32_t Step(uint32_t id, uint8_t byte) {
    if (id < kDenseStates) {
      const size_t slot = static_cast<size_t>(id) * 256 + byte;
      if (slot >= dense_.size()) dense_.resize((static_cast<size_t>(id) + 1) * 256, kUnknown);
      if (dense_[slot] == kUnknown) dense_[slot] = Compute(id, byte);
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
  static constexpr uint32_t kDenseStates = 4096;

  uint32_t Compute(uint32_t id, uint8_t byte) {
    return stacks_.Step(states_[id], byte, &scratch_) ? Add(scratch_) : kRejected;
  }

  Stacks& stacks_;
  std::vector<MatchState> states_;
  absl::flat_hash_map<std::string, uint32_t> ids_;
  std::vector<uint32_t> dense_;
  absl::flat_hash_map<uint64_t, uint32_t> steps_;
  MatchState scratch_;
  std::string key_;
};

}  // namespace

MaskCache::MaskCache(const TokenTrie& trie, size_t capacity) : trie_(trie), capacity_(capacity) {}

absl::StatusOr<const TokenMask*> MaskCache::Mask(const GrammarMatcher& matcher) {
  if (&matcher.stacks() != stacks_) {
    entries_.clear();
    stacks_ = &matcher.stacks();
  }
  StateKey(matcher.state(), &key_);
  ++clock_;
  for (Entry& e : entries_) {
    if (e.key == key_) {
      e.used = clock_;
      ++hits_;
      return &e.mask;
    }
  }
  absl::StatusOr<TokenMask> mask = trie_.Mask(matcher);
  if (!mask.ok()) return mask.status();
  if (entries_.size() < capacity_) {
    entries_.push_back({key_, *std::move(mask), clock_});
    return &entries_.back().mask;
  }
  Entry& oldest = *std::min_element(entries_.begin(), entries_.end(),
                                    [](const Entry& a, const Entry& b) { return a.used < b.used; });
  oldest = {key_, *std::move(mask), clock_};
  return &oldest.mask;
}

absl::StatusOr<TokenMask> TokenTrie::Mask(const GrammarMatcher& matcher) const {
  TokenMask mask((end_of_generation_.size() + 63) / 64, 0);
  auto allow = [&](int32_t id) { mask[id >> 6] |= uint64_t{1} << (id & 63); };
  if (matcher.CanEnd()) {
    for (int32_t id : end_of_generation_ids_) allow(id);
  }
  Stacks& stacks = matcher.stacks();
  const size_t mark = stacks.node_count();
  const uint64_t work_limit = stacks.work() + kMaxMaskWork;
  bool exhausted = false;
  {
    StateCache cache(stacks);
    // at_depth[d]: the state after the first d bytes of the current node's path.
    std::vector<uint32_t> at_depth(max_depth_ + 1);
    at_depth[0] = cache.Add(matcher.state());
    const auto end = static_cast<uint32_t>(nodes_.size() - 1);
    for (uint32_t i = 1; i < end;) {
      const Node& node = nodes_[i];
      const uint32_t next = cache.Step(at_depth[node.depth - 1], node.byte);
      if (stacks.work() > work_limit) {
        exhausted = true;
        break;
      }
      if (next == StateCache::kRejected) {
        i = node.subtree_end;
        continue;
      }
      at_depth[node.depth] = next;
      for (uint32_t t = node.tokens_begin; t < nodes_[i + 1].tokens_begin; ++t) {
        allow(token_ids_[t]);
      }
      ++i;
    }
  }
  stacks.Truncate(mark);
  if (exhausted) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "grammar too ambiguous: the token mask needs more than ", kMaxMaskWork, " steps"));
  }
  return mask;
}

}  // namespace llmw::structured
