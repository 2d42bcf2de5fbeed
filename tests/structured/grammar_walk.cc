// grammar_walk: prints random strings that a grammar accepts, to check a grammar's strings with
// an independent validator (check_walk.py validates those of JSON schemas with jsonschema).
//
//   grammar_walk [--count N] [--seed S] [--budget BYTES] SCHEMA.json
//   grammar_walk --grammar [...] GRAMMAR.gbnf
//   grammar_walk --print-grammar SCHEMA.json     (the compiled grammar instead)
//
// Each string is one line, written as a JSON string. A walk picks each next byte at random
// among those the matcher accepts (mostly ASCII ones, where there are some), and ends where the
// grammar can end with some chance, or when nothing can follow. Past the byte budget it steers
// toward an end: it takes the byte after which the shortest completion is shortest, computed from
// each rule's shortest string, so every walk ends.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "nlohmann/json.hpp"
#include "worker/structured/grammar.h"
#include "worker/structured/json_schema.h"
#include "worker/structured/matcher.h"

namespace llmw::structured {
namespace {

constexpr uint64_t kInfinite = std::numeric_limits<uint64_t>::max() / 4;

int Utf8Length(uint32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

// The fewest bytes that finish each element's alternative from that element on.
class CompletionCosts {
 public:
  explicit CompletionCosts(const Grammar& g) : g_(g) {
    const std::vector<Element>& e = g.elements();
    rule_cost_.assign(g.rule_count(), kInfinite);
    rest_.assign(e.size(), kInfinite);
    // Shortest strings of the rules, to a fixed point.
    for (bool changed = true; changed;) {
      changed = false;
      Suffixes();
      for (uint32_t r = 0; r < g.rule_count(); ++r) {
        for (uint32_t start : g.alternatives(r)) {
          if (rest_[start] < rule_cost_[r]) {
            rule_cost_[r] = rest_[start];
            changed = true;
          }
        }
      }
    }
  }

  // Forgets the stacks of the last matcher (ids are per matcher).
  void NewMatcher() { memo_.clear(); }

  // Bytes to finish from stack `id` of `stacks` (the top's character included).
  uint64_t Stack(const Stacks& stacks, uint32_t id) {
    uint64_t total = 0;
    for (uint32_t n = id; n != Stacks::kNoParent; n = stacks.parent(n)) {
      auto it = memo_.find(n);
      if (it != memo_.end()) {
        total += it->second;
        break;
      }
      total += rest_[stacks.position(n)];
    }
    memo_[id] = total;
    return total;
  }

  // Bytes to finish from the matcher's state.
  uint64_t State(const GrammarMatcher& m) {
    const MatchState& s = m.state();
    uint64_t best = s.accepting && s.pending == 0 ? 0 : kInfinite;
    for (uint32_t top : s.tops) {
      uint64_t c = Stack(m.stacks(), top);
      // Mid-character, the top's character needs only its remaining bytes.
      if (s.pending > 0) c = c - FirstCharBytes(m.stacks().position(top)) + s.pending;
      best = std::min(best, c);
    }
    return best;
  }

 private:
  uint64_t FirstCharBytes(uint32_t pos) const {
    return Utf8Length(g_.ranges()[g_.elements()[pos].value].first);
  }

  void Suffixes() {
    const std::vector<Element>& e = g_.elements();
    for (size_t p = e.size(); p-- > 0;) {
      switch (e[p].kind) {
        case Element::Kind::kEnd:
          rest_[p] = 0;
          break;
        case Element::Kind::kChars:
          rest_[p] =
              e[p].count == 0 ? kInfinite : std::min(kInfinite, FirstCharBytes(p) + rest_[p + 1]);
          break;
        case Element::Kind::kRule:
          rest_[p] = std::min(kInfinite, rule_cost_[e[p].value] + rest_[p + 1]);
          break;
      }
    }
  }

  const Grammar& g_;
  std::vector<uint64_t> rule_cost_;
  std::vector<uint64_t> rest_;
  std::unordered_map<uint32_t, uint64_t> memo_;
};

bool Walk(std::shared_ptr<const Grammar> g, CompletionCosts& costs, std::mt19937_64& rng,
          size_t budget, std::string* out) {
  GrammarMatcher m(g);
  costs.NewMatcher();
  out->clear();
  while (true) {
    std::vector<std::pair<uint8_t, uint64_t>> next;  // byte, completion cost after it
    for (int b = 0; b < 256; ++b) {
      if (!m.Accept(static_cast<uint8_t>(b))) continue;
      next.push_back({static_cast<uint8_t>(b), costs.State(m)});
      m.Rewind(1);
    }
    if (m.CanEnd() && (next.empty() || out->size() >= budget || rng() % 8 == 0)) return true;
    if (next.empty()) return false;  // a dead end: the grammar is broken
    if (out->size() > 100 * budget + 10000) return false;
    std::vector<std::pair<uint8_t, uint64_t>> pool;
    if (out->size() >= budget) {
      uint64_t best = kInfinite;
      for (const auto& n : next) best = std::min(best, n.second);
      for (const auto& n : next) {
        if (n.second == best) pool.push_back(n);
      }
    } else {
      for (const auto& n : next) {
        if (n.first < 0x80 && n.second < kInfinite) pool.push_back(n);
      }
      if (pool.empty() || rng() % 10 == 0) pool = next;
    }
    const uint8_t b = pool[rng() % pool.size()].first;
    m.Accept(b);
    out->push_back(static_cast<char>(b));
  }
}

int Main(int argc, char** argv) {
  bool grammar_file = false, print_grammar = false;
  int count = 20;
  uint64_t seed = 1;
  size_t budget = 200;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--grammar") {
      grammar_file = true;
    } else if (a == "--print-grammar") {
      print_grammar = true;
    } else if (a == "--count" && i + 1 < argc) {
      count = std::stoi(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::stoull(argv[++i]);
    } else if (a == "--budget" && i + 1 < argc) {
      budget = std::stoul(argv[++i]);
    } else if (path.empty() && a.rfind("--", 0) != 0) {
      path = a;
    } else {
      std::cerr << "usage: grammar_walk [--grammar | --print-grammar] [--count N] [--seed S] "
                   "[--budget BYTES] FILE\n";
      return 2;
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << path << ": cannot read\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string grammar_text = text.str();
  if (!grammar_file) {
    absl::StatusOr<std::string> compiled = JsonSchemaToGrammar(grammar_text);
    if (!compiled.ok()) {
      std::cerr << path << ": " << compiled.status().message() << "\n";
      return 1;
    }
    grammar_text = *compiled;
  }
  if (print_grammar) {
    std::cout << grammar_text;
    return 0;
  }
  absl::StatusOr<std::shared_ptr<const Grammar>> g = ParseGrammar(grammar_text);
  if (!g.ok()) {
    std::cerr << path << ": " << g.status().message() << "\n";
    return 1;
  }
  CompletionCosts costs(**g);
  std::mt19937_64 rng(seed);
  std::string out;
  for (int i = 0; i < count; ++i) {
    if (!Walk(*g, costs, rng, budget, &out)) {
      std::cerr << path << ": walk " << i << " reached a dead end after "
                << nlohmann::json(out).dump(-1, ' ', false,
                                            nlohmann::json::error_handler_t::replace)
                << "\n";
      return 1;
    }
    std::cout << nlohmann::json(out).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace llmw::structured

int main(int argc, char** argv) { return llmw::structured::Main(argc, argv); }
