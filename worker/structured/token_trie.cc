// Building the token trie and walking it with a matcher to compute the mask.
#include "worker/structured/token_trie.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "worker/structured/mask_walk.h"

namespace llmw::structured {

TokenTrie::TokenTrie(std::vector<std::string> token_bytes_in, std::vector<bool> end_of_generation)
    : token_bytes_(std::move(token_bytes_in)), end_of_generation_(std::move(end_of_generation)) {
  const std::vector<std::string>& token_bytes = token_bytes_;
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
  runs_ = std::make_unique<RunStore>();
  token_nodes_.assign(token_bytes.size(), 0);
  nodes_.push_back({0, 0, 0, 0});
  parents_.push_back(0);
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
      parents_.push_back(path.back());
      path.push_back(static_cast<uint32_t>(nodes_.size() - 1));
      max_depth_ = std::max<uint32_t>(max_depth_, depth);
    }
    token_ids_.push_back(id);
    token_nodes_[id] = path.back();
    previous = bytes;
  }
  while (!path.empty()) {
    nodes_[path.back()].subtree_end = static_cast<uint32_t>(nodes_.size());
    path.pop_back();
  }
  nodes_.push_back({0, static_cast<uint32_t>(token_ids_.size()), 0, 0});
}

bool TokenTrie::InStartRun(const ClassRuns* runs, uint8_t length, bool closed,
                           uint32_t node) const {
  if (runs == nullptr) return false;
  const uint8_t prefix = runs->prefix_chars[parents_[node]];
  const uint8_t below = runs->subtree_chars[node];
  if (prefix == kMixed || below == kUnset || below == kMixed) return false;
  return closed || prefix + below <= length;
}

void TokenTrie::AllowRunTokens(const ClassRuns& runs, uint8_t length, TokenMask* mask) {
  const size_t n = runs.token_chars.size();
  for (size_t word = 0; word * 64 < n; ++word) {
    const size_t begin = word * 64;
    const size_t count = std::min<size_t>(64, n - begin);
    uint64_t bits = 0;
    for (size_t j = 0; j < count; ++j) {
      const uint8_t chars = runs.token_chars[begin + j];
      bits |= static_cast<uint64_t>(chars != 0 && chars <= length) << j;
    }
    (*mask)[word] |= bits;
  }
}

TokenTrie::TokenTrie(TokenTrie&&) noexcept = default;
TokenTrie& TokenTrie::operator=(TokenTrie&&) noexcept = default;
TokenTrie::~TokenTrie() = default;

TokenTrie TokenTrie::FromTokenizer(const Tokenizer& tokenizer) {
  const int32_t n = tokenizer.vocab_size();
  std::vector<std::string> bytes(n);
  std::vector<bool> end_of_generation(n);
  for (int32_t id = 0; id < n; ++id) {
    const int32_t one[] = {id};
    bytes[id] = tokenizer.Decode(one, /*render_special=*/false);
    end_of_generation[id] = tokenizer.IsEndOfGeneration(id);
  }
  return TokenTrie(std::move(bytes), std::move(end_of_generation));
}

MaskCache::MaskCache(const TokenTrie& trie, StateCache* memory, size_t capacity)
    : trie_(trie), memory_(memory), capacity_(capacity) {}

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
  absl::StatusOr<TokenMask> mask = trie_.Mask(matcher, memory_);
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

absl::StatusOr<TokenMask> TokenTrie::Mask(const GrammarMatcher& matcher, StateCache* memory) const {
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
    StateCache own_memory;
    StateCache& cache = memory != nullptr ? *memory : own_memory;
    cache.Reset(stacks);
    RunLengths runs(*this, cache);
    // at_depth[d]: the state after the first d bytes of the current node's path.
    std::vector<uint32_t> at_depth(max_depth_ + 1);
    at_depth[0] = cache.Add(matcher.state());
    // The tokens made only of the start state's run class, as many characters as it runs, in
    // bulk; below, the subtrees of them are skipped.
    // run_at_depth[d]: the run of at_depth[d].
    std::vector<RunLengths::Run> run_at_depth(max_depth_ + 1);
    run_at_depth[0] = runs.Of(at_depth[0]);
    const RunLengths::Run start_run = run_at_depth[0];
    if (start_run.length > 0) AllowRunTokens(*start_run.runs, start_run.length, &mask);
    const auto end = static_cast<uint32_t>(nodes_.size() - 1);
    for (uint32_t i = 1; i < end;) {
      const Node& node = nodes_[i];
      if ((node.byte & 0xC0) != 0x80) {  // a character starts here
        if (InStartRun(start_run.runs, start_run.length, start_run.closed, i)) {
          i = node.subtree_end;
          continue;
        }
        const RunLengths::Run& run = run_at_depth[node.depth - 1];
        const uint8_t chars = run.length > 0 ? run.runs->subtree_chars[i] : kUnset;
        if (chars != kUnset && chars != kMixed && chars <= run.length) {
          for (uint32_t t = node.tokens_begin; t < nodes_[node.subtree_end].tokens_begin; ++t) {
            allow(token_ids_[t]);
          }
          i = node.subtree_end;
          continue;
        }
      }
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
      run_at_depth[node.depth] = runs.Of(next);
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
