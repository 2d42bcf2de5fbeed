// Building the token trie and walking it with a matcher to compute the mask.
#include "worker/structured/token_trie.h"

#include <algorithm>
#include <numeric>
#include <span>

namespace llmw::structured {

TokenTrie::TokenTrie(const std::vector<std::string>& token_bytes,
                     std::vector<bool> end_of_generation)
    : end_of_generation_(std::move(end_of_generation)) {
  end_of_generation_.resize(token_bytes.size(), false);
  std::vector<int32_t> order;
  for (size_t id = 0; id < token_bytes.size(); ++id) {
    if (end_of_generation_[id]) end_of_generation_ids_.push_back(static_cast<int32_t>(id));
    if (!token_bytes[id].empty()) order.push_back(static_cast<int32_t>(id));
  }
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return token_bytes[a] != token_bytes[b] ? token_bytes[a] < token_bytes[b] : a < b;
  });
  // Sorted, the tokens arrive in depth-first order: keep the path to the last node and close
  // the subtrees the next token leaves.
  nodes_.push_back({0, 0, 0, 0, 0});
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
    for (size_t i = common; i < bytes.size(); ++i) {
      const auto depth = static_cast<uint32_t>(i + 1);
      const auto begin = static_cast<uint32_t>(token_ids_.size());
      nodes_.push_back({static_cast<uint8_t>(bytes[i]), depth, 0, begin, begin});
      path.push_back(static_cast<uint32_t>(nodes_.size() - 1));
      max_depth_ = std::max(max_depth_, depth);
    }
    Node& end = nodes_[path.back()];
    if (end.tokens_begin == end.tokens_end) end.tokens_begin = end.tokens_end = token_ids_.size();
    token_ids_.push_back(id);
    ++end.tokens_end;
    previous = bytes;
  }
  while (!path.empty()) {
    nodes_[path.back()].subtree_end = static_cast<uint32_t>(nodes_.size());
    path.pop_back();
  }
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

TokenMask TokenTrie::Mask(const GrammarMatcher& matcher) const {
  TokenMask mask((end_of_generation_.size() + 63) / 64, 0);
  auto allow = [&](int32_t id) { mask[id >> 6] |= uint64_t{1} << (id & 63); };
  if (matcher.CanEnd()) {
    for (int32_t id : end_of_generation_ids_) allow(id);
  }
  Stacks& stacks = matcher.stacks();
  const size_t mark = stacks.node_count();
  // states[d]: the state after the first d bytes of the current node's path.
  std::vector<MatchState> states(max_depth_ + 1);
  states[0] = matcher.state();
  for (uint32_t i = 1; i < nodes_.size();) {
    const Node& node = nodes_[i];
    if (!stacks.Step(states[node.depth - 1], node.byte, &states[node.depth])) {
      i = node.subtree_end;
      continue;
    }
    for (uint32_t t = node.tokens_begin; t < node.tokens_end; ++t) allow(token_ids_[t]);
    ++i;
  }
  stacks.Truncate(mark);
  return mask;
}

}  // namespace llmw::structured
