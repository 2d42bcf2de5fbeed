// Building a trie's class runs (TokenTrie::ClassRuns): one backward pass over each token's
// characters, marking the trie nodes where its characters start.
#include <algorithm>
#include <mutex>

#include "worker/structured/token_trie.h"

namespace llmw::structured {

namespace {

bool IsContinuation(uint8_t byte) { return (byte & 0xC0) == 0x80; }

// The code point of the UTF-8 character that is exactly `bytes[0, n)`, or false.
bool DecodeOne(const uint8_t* bytes, size_t n, uint32_t* c) {
  const uint8_t lead = bytes[0];
  size_t want;
  uint32_t value, min;
  if (lead < 0x80) {
    want = 1, value = lead, min = 0;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    want = 2, value = lead & 0x1F, min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    want = 3, value = lead & 0x0F, min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    want = 4, value = lead & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (n != want) return false;
  for (size_t i = 1; i < n; ++i) {
    if (!IsContinuation(bytes[i])) return false;
    value = (value << 6) | (bytes[i] & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return false;
  *c = value;
  return true;
}

bool InRanges(const std::vector<Grammar::Range>& ranges, uint32_t c) {
  const auto it =
      std::lower_bound(ranges.begin(), ranges.end(), c,
                       [](const Grammar::Range& r, uint32_t v) { return r.second < v; });
  return it != ranges.end() && it->first <= c;
}

}  // namespace

const TokenTrie::ClassRuns* TokenTrie::RunsOf(const Grammar::Range* ranges, size_t count) const {
  std::lock_guard<std::mutex> lock(runs_->mu);
  for (const auto& r : runs_->runs) {
    if (std::equal(r->ranges.begin(), r->ranges.end(), ranges, ranges + count)) return r.get();
  }
  if (runs_->runs.size() >= kMaxClassRuns) return nullptr;
  runs_->runs.push_back(std::make_unique<const ClassRuns>(BuildRuns(ranges, count)));
  return runs_->runs.back().get();
}

TokenTrie::ClassRuns TokenTrie::BuildRuns(const Grammar::Range* ranges, size_t count) const {
  ClassRuns runs;
  runs.ranges.assign(ranges, ranges + count);
  runs.subtree_chars.assign(nodes_.size(), kUnset);
  runs.token_chars.assign(token_nodes_.size(), 0);
  for (size_t id = 0; id < token_nodes_.size(); ++id) {
    uint32_t node = token_nodes_[id];
    if (node == 0) continue;
    const auto* bytes = reinterpret_cast<const uint8_t*>(token_bytes_[id].data());
    size_t end = token_bytes_[id].size();  // `node` is at depth `end`
    int chars = 0;
    bool pure = true;
    while (end > 0) {
      size_t start = end - 1;
      while (start > 0 && end - start < 4 && IsContinuation(bytes[start])) --start;
      for (size_t depth = end; depth > start + 1; --depth) node = parents_[node];
      uint32_t c;
      ++chars;
      // Runs are counted up to kMaxRunChars: a longer token is never taken in bulk.
      pure = pure && chars < kMaxRunChars && DecodeOne(bytes + start, end - start, &c) &&
             InRanges(runs.ranges, c);
      uint8_t& mark = runs.subtree_chars[node];
      if (pure) {
        if (mark != kMixed) mark = std::max(mark, static_cast<uint8_t>(chars));
      } else {
        // Every character start above a mixed node is mixed already.
        if (mark == kMixed) break;
        mark = kMixed;
      }
      end = start;
      node = parents_[node];
    }
    if (pure) runs.token_chars[id] = static_cast<uint8_t>(chars);
  }
  MarkPrefixes(&runs);
  return runs;
}

void TokenTrie::MarkPrefixes(ClassRuns* runs) const {
  // Parents come before their children: decode each path one byte further than its parent's.
  struct Decoding {
    uint8_t chars = 0;    // whole characters so far, or kMixed
    uint8_t pending = 0;  // continuation bytes the current character still needs
    uint32_t partial = 0;
    uint32_t min = 0;  // the smallest code point its length may encode
  };
  std::vector<Decoding> at(nodes_.size());
  runs->prefix_chars.assign(nodes_.size(), kMixed);
  runs->prefix_chars[0] = 0;
  for (size_t i = 1; i + 1 < nodes_.size(); ++i) {
    const Decoding& up = at[parents_[i]];
    Decoding& d = at[i];
    const uint8_t b = nodes_[i].byte;
    d = up;
    if (up.chars == kMixed) continue;
    if (up.pending == 0) {
      if (b < 0x80) {
        d.partial = b, d.pending = 0, d.min = 0;
      } else if (b >= 0xC2 && b <= 0xDF) {
        d.partial = b & 0x1F, d.pending = 1, d.min = 0x80;
      } else if (b >= 0xE0 && b <= 0xEF) {
        d.partial = b & 0x0F, d.pending = 2, d.min = 0x800;
      } else if (b >= 0xF0 && b <= 0xF4) {
        d.partial = b & 0x07, d.pending = 3, d.min = 0x10000;
      } else {
        d.chars = kMixed;
        continue;
      }
    } else if (IsContinuation(b)) {
      d.partial = (up.partial << 6) | (b & 0x3F);
      --d.pending;
    } else {
      d.chars = kMixed;
      continue;
    }
    if (d.pending > 0) continue;
    const uint32_t c = d.partial;
    const bool valid = c >= d.min && c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF);
    d.chars =
        valid && InRanges(runs->ranges, c) && d.chars + 1 < kMaxRunChars ? d.chars + 1 : kMixed;
    runs->prefix_chars[i] = d.chars;
  }
}

}  // namespace llmw::structured
