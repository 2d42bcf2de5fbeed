// The grammar token mask's cost: microseconds to compute the allowed tokens for one step, with
// the JSON grammar, at SmolLM2's vocabulary (49,152) and Gemma 3's (262,144), in several states.
// When Gemma 3's checkpoint is absent, a synthetic vocabulary of its size stands in: SmolLM2's
// tokens plus random UTF-8 strings. Reports numbers; never fails on them.
//
//   grammar_mask_bench [smollm2.gguf] [gemma3.gguf]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "models/formats/gguf_file.h"
#include "models/tokenizer/gguf_tokenizer.h"
#include "worker/structured/json_grammar.h"
#include "worker/structured/token_trie.h"

namespace llmw::structured {
namespace {

using Clock = std::chrono::steady_clock;

std::string CachedModel(const char* file) {
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/root") + "/.cache/llm-worker/models/" + file;
}

struct Vocabulary {
  std::vector<std::string> bytes;
  std::vector<bool> end_of_generation;
};

bool Load(const std::string& path, Vocabulary* v) {
  absl::StatusOr<std::unique_ptr<GgufFile>> file = GgufFile::Open(path);
  if (!file.ok()) return false;
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = TokenizerFromGguf(**file);
  if (!tokenizer.ok()) return false;
  for (int32_t id = 0; id < (*tokenizer)->vocab_size(); ++id) {
    const int32_t one[] = {id};
    v->bytes.push_back((*tokenizer)->Decode(one, /*render_special=*/false));
    v->end_of_generation.push_back((*tokenizer)->IsEndOfGeneration(id));
  }
  return true;
}

// `base` grown to `size` tokens with random strings of 1..8 code points, mostly ASCII.
Vocabulary Synthetic(const Vocabulary& base, size_t size) {
  Vocabulary v = base;
  std::mt19937 rng(7);
  auto append = [](std::string* s, uint32_t c) {
    if (c < 0x80) {
      *s += static_cast<char>(c);
    } else if (c < 0x800) {
      *s += static_cast<char>(0xC0 | (c >> 6));
      *s += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      *s += static_cast<char>(0xE0 | (c >> 12));
      *s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      *s += static_cast<char>(0x80 | (c & 0x3F));
    }
  };
  while (v.bytes.size() < size) {
    std::string s = rng() % 2 ? " " : "";
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) {
      const uint32_t kind = rng() % 10;
      append(&s, kind < 7   ? 0x21 + rng() % 94
                 : kind < 9 ? 0xA0 + rng() % 0x500
                            : 0x4E00 + rng() % 0x5000);
    }
    v.bytes.push_back(std::move(s));
    v.end_of_generation.push_back(false);
  }
  return v;
}

// Median microseconds of one mask, over about half a second.
double MaskUs(const TokenTrie& trie, const GrammarMatcher& m, size_t* allowed) {
  TokenMask mask = *trie.Mask(m);
  *allowed = 0;
  for (uint64_t w : mask) *allowed += __builtin_popcountll(w);
  std::vector<double> us;
  const auto begin = Clock::now();
  while (us.size() < 5 ||
         (Clock::now() - begin < std::chrono::milliseconds(500) && us.size() < 1000)) {
    const auto start = Clock::now();
    mask = *trie.Mask(m);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  std::nth_element(us.begin(), us.begin() + us.size() / 2, us.end());
  return us[us.size() / 2];
}

// The matcher alone: a long JSON document fed byte by byte.
void ReportMatcher() {
  std::string doc = "[";
  for (int i = 0; i < 2000; ++i) {
    doc += (i ? ", " : "") + std::string("{\"id\": ") + std::to_string(i) +
           ", \"name\": \"caf\xC3\xA9 \xE6\x97\xA5\", \"tags\": [true, null, -1.5e3]}";
  }
  doc += "]";
  std::shared_ptr<const Grammar> grammar = *ParseGrammar(kJsonValueGrammar);
  GrammarMatcher m(grammar);
  const auto start = Clock::now();
  const bool ok = m.Accept(doc);
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  std::printf("matcher: %zu bytes of JSON %s in %.0f us (%.0f ns per byte), %zu stack nodes\n",
              doc.size(), ok && m.CanEnd() ? "accepted" : "REFUSED", us,
              1000.0 * us / static_cast<double>(doc.size()), m.stacks().node_count());
}

void Report(const char* name, const Vocabulary& v) {
  const auto build_start = Clock::now();
  const TokenTrie trie(v.bytes, v.end_of_generation);
  const double build_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - build_start).count();
  std::printf("%s: %zu tokens, trie of %zu nodes built in %.1f ms\n", name, v.bytes.size(),
              trie.node_count(), build_ms);
  std::shared_ptr<const Grammar> grammar = *ParseGrammar(kJsonValueGrammar);
  const std::pair<const char*, const char*> states[] = {
      {"start", ""},
      {"between keys", "{\"name\": \"x\", "},
      {"inside a string", "{\"name\": \"Jo"},
      {"at a number", "{\"age\": 4"},
      {"after a value", "{\"tags\": [true, null]"},
  };
  for (const auto& [label, prefix] : states) {
    GrammarMatcher m(grammar);
    if (!m.Accept(prefix)) {
      std::printf("  %-16s prefix refused\n", label);
      continue;
    }
    size_t allowed = 0;
    const double us = MaskUs(trie, m, &allowed);
    std::printf("  %-16s %9.0f us per mask  %7zu tokens allowed  %.1f ns per vocabulary token\n",
                label, us, allowed, 1000.0 * us / static_cast<double>(v.bytes.size()));
  }
  // A schema's string has a maxLength: every character is a new state, so no cache helps, and
  // the string's character class runs on for the characters left.
  std::shared_ptr<const Grammar> bounded =
      *ParseGrammar(R"(root ::= "{\"name\": \"" ([^"\\\x00-\x1f] | "\\" ["\\/bfnrt]){0,40} "\"}")");
  for (const auto& [label, prefix] :
       {std::pair{"maxLength 40, 38 left", "{\"name\": \"Jo"},
        std::pair{"maxLength 40, 4 left", "{\"name\": \"Jonathan Jonathan Jonathan Jonathan"}}) {
    GrammarMatcher m(bounded);
    if (!m.Accept(prefix)) {
      std::printf("  %-16s prefix refused\n", label);
      continue;
    }
    size_t allowed = 0;
    const double us = MaskUs(trie, m, &allowed);
    std::printf("  %-22s %9.0f us per mask  %7zu tokens allowed\n", label, us, allowed);
  }
  // A string goes on for many tokens in the same state: MaskCache answers those from memory.
  GrammarMatcher m(grammar);
  m.Accept("{\"name\": \"Jo");
  MaskCache cache(trie);
  (void)cache.Mask(m);
  const int reps = 1000;
  const auto start = Clock::now();
  for (int i = 0; i < reps; ++i) (void)cache.Mask(m);
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count() / reps;
  std::printf("  %-16s %9.3f us per mask (MaskCache, the state seen before: a lookup)\n",
              "inside a string", us);
}

}  // namespace
}  // namespace llmw::structured

int main(int argc, char** argv) {
  using namespace llmw::structured;
  const std::string smollm2 = argc > 1 ? argv[1] : CachedModel("SmolLM2-135M-Instruct.Q4_1.gguf");
  const std::string gemma3 = argc > 2 ? argv[2] : CachedModel("gemma-3-270m-q4_k_m.gguf");
  std::printf("grammar mask, JSON grammar, one thread\n");
  ReportMatcher();
  Vocabulary small;
  if (!Load(smollm2, &small)) {
    std::printf("SmolLM2 tokenizer not found at %s; nothing to measure\n", smollm2.c_str());
    return 0;
  }
  Report("SmolLM2 (byte-level BPE)", small);
  Vocabulary large;
  if (Load(gemma3, &large)) {
    Report("Gemma 3 (SentencePiece, byte fallback)", large);
  } else {
    std::printf("Gemma 3 tokenizer not found at %s: a synthetic vocabulary of its size\n",
                gemma3.c_str());
    Report("synthetic", Synthetic(small, 262'144));
  }
  return 0;
}
