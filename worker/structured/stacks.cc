// Stepping a set of grammar stacks over UTF-8 bytes.
#include "worker/structured/stacks.h"

#include <algorithm>

namespace llmw::structured {
namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr uint32_t kEveryTop = UINT32_MAX;  // Advance as if every stack's class matched

// Bits of the code point still to come when `pending` continuation bytes are missing.
uint32_t LowMask(uint8_t pending) { return (uint32_t{1} << (6 * pending)) - 1; }

}  // namespace

void StateKey(const MatchState& state, std::string* key) {
  key->assign(reinterpret_cast<const char*>(state.tops.data()),
              state.tops.size() * sizeof(uint32_t));
  const uint32_t tail[] = {state.accepting, state.pending, state.partial, state.min_code_point,
                           state.uniform};
  key->append(reinterpret_cast<const char*>(tail), sizeof(tail));
}

uint32_t Stacks::Intern(uint32_t pos, uint32_t parent) {
  auto [it, inserted] = index_.try_emplace(Key(pos, parent), static_cast<uint32_t>(nodes_.size()));
  if (inserted) nodes_.push_back({pos, parent});
  return it->second;
}

void Stacks::Truncate(size_t node_count) {
  for (size_t i = node_count; i < nodes_.size(); ++i) {
    index_.erase(Key(nodes_[i].pos, nodes_[i].parent));
  }
  nodes_.resize(std::min(node_count, nodes_.size()));
}

bool Stacks::Expand(uint32_t pos, uint32_t parent, MatchState* to) {
  const std::vector<Element>& elements = grammar_->elements();
  pending_work_.clear();
  pending_work_.push_back({pos, parent});
  while (!pending_work_.empty()) {
    auto [p, up] = pending_work_.back();
    pending_work_.pop_back();
    if (!visited_.insert(Key(p, up)).second) continue;
    ++work_;
    if (visited_.size() > kMaxStepWork) return false;
    const Element& e = elements[p];
    switch (e.kind) {
      case Element::Kind::kEnd:
        if (up == kNoParent) {
          to->accepting = true;
        } else {
          pending_work_.push_back({nodes_[up].pos, nodes_[up].parent});
        }
        break;
      case Element::Kind::kChars:
        to->tops.push_back(Intern(p, up));
        break;
      case Element::Kind::kRule: {
        // A reference last in its alternative returns straight to the parent, so repetition
        // (right recursion) does not deepen the stack.
        const uint32_t back = elements[p + 1].kind == Element::Kind::kEnd ? up : Intern(p + 1, up);
        for (uint32_t start : grammar_->alternatives(e.value))
          pending_work_.push_back({start, back});
        break;
      }
    }
  }
  return true;
}

MatchState Stacks::Start() {
  MatchState state;
  visited_.clear();
  for (uint32_t start : grammar_->alternatives(grammar_->root())) {
    if (!Expand(start, kNoParent, &state)) return MatchState();  // nothing is allowed
  }
  std::sort(state.tops.begin(), state.tops.end());
  state.tops.erase(std::unique(state.tops.begin(), state.tops.end()), state.tops.end());
  return state;
}

void Stacks::Advance(const MatchState& from, uint32_t c, MatchState* to) {
  to->tops.clear();
  to->accepting = false;
  to->pending = 0;
  to->uniform = false;
  to->partial = 0;
  to->min_code_point = 0;
  visited_.clear();
  for (uint32_t id : from.tops) {
    const Node node = nodes_[id];
    const bool match = c == kEveryTop || grammar_->CharsIntersect(node.pos, c, c);
    if (match && !Expand(node.pos + 1, node.parent, to)) {
      to->tops.clear();
      to->accepting = false;
      return;
    }
  }
  std::sort(to->tops.begin(), to->tops.end());
  to->tops.erase(std::unique(to->tops.begin(), to->tops.end()), to->tops.end());
}

void Stacks::Filter(const Grammar& g, const std::vector<Node>& nodes, const MatchState& from,
                    uint32_t lo, uint32_t hi, MatchState* to) {
  to->tops.clear();
  to->accepting = false;
  for (uint32_t id : from.tops) {
    if (g.CharsIntersect(nodes[id].pos, lo, hi)) to->tops.push_back(id);
  }
}

bool Stacks::Step(const MatchState& from, uint8_t byte, MatchState* to) {
  if (from.pending == 0 && byte < 0x80) {
    Advance(from, byte, to);
    return !to->tops.empty() || to->accepting;
  }
  uint8_t pending;
  uint32_t partial, min_code_point;
  bool any_continuation;  // whether every continuation byte from here on is valid
  if (from.pending == 0) {
    // The lead byte of a multi-byte character (C0, C1 and F5..FF never are).
    if (byte >= 0xC2 && byte <= 0xDF) {
      pending = 1;
      min_code_point = 0x80;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      pending = 2;
      min_code_point = 0x800;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      pending = 3;
      min_code_point = 0x10000;
    } else {
      return false;
    }
    partial = byte & (0x3F >> pending);
    any_continuation = byte != 0xE0 && byte != 0xED && byte != 0xF0 && byte != 0xF4;
  } else {
    if ((byte & 0xC0) != 0x80) return false;
    if (from.uniform) {
      if (from.pending == 1) {
        Advance(from, kEveryTop, to);
        return !to->tops.empty() || to->accepting;
      }
      *to = from;
      --to->pending;
      return true;
    }
    pending = from.pending - 1;
    partial = (from.partial << 6) | (byte & 0x3F);
    min_code_point = from.min_code_point;
    any_continuation = true;
  }
  // The code points this character can still become: lo..hi, less overlong forms, surrogates
  // and values past U+10FFFF.
  const uint32_t lo = std::max(partial << (6 * pending), min_code_point);
  const uint32_t hi = std::min((partial << (6 * pending)) | LowMask(pending), kMaxCodePoint);
  if (lo > hi || (lo >= 0xD800 && hi <= 0xDFFF)) return false;
  if (pending == 0) {
    Advance(from, partial, to);
    return !to->tops.empty() || to->accepting;
  }
  Filter(*grammar_, nodes_, from, lo, hi, to);
  to->pending = pending;
  // When every stack left takes every character the bytes can still make, which one it becomes
  // no longer matters: forget the bits, so that all such states are one.
  to->uniform = any_continuation && std::all_of(to->tops.begin(), to->tops.end(), [&](uint32_t id) {
                  return grammar_->CharsContain(nodes_[id].pos, lo, hi);
                });
  to->partial = to->uniform ? 0 : partial;
  to->min_code_point = to->uniform ? 0 : min_code_point;
  return !to->tops.empty();
}

}  // namespace llmw::structured
