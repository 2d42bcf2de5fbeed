// The token mask against brute force (each token's bytes fed to a copy of the matcher) on a toy
// vocabulary and on real ones: SmolLM2's byte-level BPE, the tiny Gemma 3 fixture and Gemma 3
// 270M's SentencePiece with byte fallback, for several grammars and states.
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "models/formats/gguf_file.h"
#include "models/tokenizer/gguf_tokenizer.h"
#include "tests/test_models.h"
#include "tests/unit/structured/parse.h"
#include "worker/structured/json_grammar.h"
#include "worker/structured/token_trie.h"

namespace llmw::structured {
namespace {

// What the mask must be, token by token.
TokenMask BruteForce(const GrammarMatcher& m, const std::vector<std::string>& bytes,
                     const std::vector<bool>& end_of_generation) {
  TokenMask mask((bytes.size() + 63) / 64, 0);
  for (size_t id = 0; id < bytes.size(); ++id) {
    bool allowed;
    if (bytes[id].empty()) {
      allowed = end_of_generation[id] && m.CanEnd();
    } else {
      GrammarMatcher copy = m;
      allowed = copy.Accept(bytes[id]);
    }
    if (allowed) mask[id >> 6] |= uint64_t{1} << (id & 63);
  }
  return mask;
}

size_t Count(const TokenMask& mask) {
  size_t n = 0;
  for (uint64_t w : mask) n += __builtin_popcountll(w);
  return n;
}

// For each prefix: the mask after it equals brute force, and is neither empty nor everything.
void ExpectMasksMatch(const TokenTrie& trie, const std::vector<std::string>& bytes,
                      const std::vector<bool>& end_of_generation, std::string_view grammar,
                      const std::vector<std::string>& prefixes) {
  std::shared_ptr<const Grammar> g = Parse(grammar);
  ASSERT_NE(g, nullptr);
  for (const std::string& prefix : prefixes) {
    GrammarMatcher m(g);
    ASSERT_TRUE(m.Accept(prefix)) << prefix;
    absl::StatusOr<TokenMask> computed = trie.Mask(m);
    ASSERT_TRUE(computed.ok()) << computed.status();
    const TokenMask& mask = *computed;
    const TokenMask expected = BruteForce(m, bytes, end_of_generation);
    EXPECT_EQ(Count(mask), Count(expected)) << prefix;
    for (size_t id = 0; id < bytes.size(); ++id) {
      ASSERT_EQ(MaskAllows(mask, static_cast<int32_t>(id)),
                MaskAllows(expected, static_cast<int32_t>(id)))
          << "prefix " << ::testing::PrintToString(prefix) << ", token " << id << " "
          << ::testing::PrintToString(bytes[id]);
    }
    EXPECT_GT(Count(mask), 0u) << prefix;
    EXPECT_LT(Count(mask), bytes.size()) << prefix;
    EXPECT_EQ(m.consumed(), prefix.size()) << "computing the mask leaves the matcher as it was";
  }
}

TEST(TokenMask, ToyVocabulary) {
  const std::vector<std::string> bytes = {"",   "a",          "b",    "ab",   "{",
                                          "\"", "\xC3",       "\xA9", "é",    "\xC3\xA9\"",
                                          "",   "aé\xE6\x97", "\xA5", "abab", "b}"};
  const std::vector<bool> eog = {true,  false, false, false, false, false, false, false,
                                 false, false, false, false, false, false, false};
  const TokenTrie trie(bytes, eog);
  const char* grammar = R"(root ::= "{" [aé]* ("b" | "日")? "}" | "\"" [^"]* "\"")";
  ExpectMasksMatch(trie, bytes, eog, grammar, {"", "{", "{a", "{\xC3", "\"a", "\"\xC3", "{é"});
  // Where the grammar can end, the end-of-generation token (0) is allowed; the special one
  // (10) never.
  std::shared_ptr<const Grammar> g = Parse(grammar);
  GrammarMatcher m(g);
  ASSERT_TRUE(m.Accept("{ab}"));
  absl::StatusOr<TokenMask> computed = trie.Mask(m);
  ASSERT_TRUE(computed.ok()) << computed.status();
  const TokenMask& mask = *computed;
  EXPECT_TRUE(MaskAllows(mask, 0));
  EXPECT_FALSE(MaskAllows(mask, 10));
  EXPECT_EQ(Count(mask), 1u);
}

// A grammar with thousands of parse stacks after each character (each step within
// kMaxStepWork) that also remembers what it read (palindromes), so the walk's states never
// repeat: the mask stops at kMaxMaskWork instead of taking minutes.
TEST(TokenMask, AmbiguousGrammarIsRefusedQuickly) {
  std::string grammar = "root ::= r0\n";
  for (int i = 0; i < 12; ++i) {
    absl::StrAppend(&grammar, "r", i, " ::= r", i + 1, " r", i + 1, "\n");
  }
  grammar += "r12 ::= [a-m] r12 [a-m] | [n-z] r12 [n-z] | \"\"\n";
  std::vector<std::string> bytes;
  std::mt19937 rng(1);
  for (int i = 0; i < 20'000; ++i) {
    std::string token;
    for (int n = 1 + static_cast<int>(rng() % 6); n > 0; --n)
      token += static_cast<char>('a' + rng() % 26);
    bytes.push_back(token);
  }
  const TokenTrie trie(bytes, {});
  std::shared_ptr<const Grammar> g = Parse(grammar);
  ASSERT_NE(g, nullptr);
  const auto start = std::chrono::steady_clock::now();
  GrammarMatcher m(g);
  ASSERT_GT(m.state().tops.size(), 1000u);
  absl::StatusOr<TokenMask> mask = trie.Mask(m);
  EXPECT_EQ(mask.status().code(), absl::StatusCode::kResourceExhausted);
  // About 1.5 s in a release build on 2 cores, 10 s under AddressSanitizer: the bound only
  // tells a refusal from a hang.
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 60.0);
  EXPECT_EQ(m.consumed(), 0u);
}

struct Vocabulary {
  std::vector<std::string> bytes;
  std::vector<bool> end_of_generation;
  std::unique_ptr<TokenTrie> trie;
};

Vocabulary LoadVocabulary(const std::string& path) {
  Vocabulary v;
  absl::StatusOr<std::unique_ptr<GgufFile>> file = GgufFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return v;
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = TokenizerFromGguf(**file);
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  if (!tokenizer.ok()) return v;
  const Tokenizer& t = **tokenizer;
  for (int32_t id = 0; id < t.vocab_size(); ++id) {
    const int32_t one[] = {id};
    v.bytes.push_back(t.Decode(one, /*render_special=*/false));
    v.end_of_generation.push_back(t.IsEndOfGeneration(id));
  }
  v.trie = std::make_unique<TokenTrie>(TokenTrie::FromTokenizer(t));
  EXPECT_EQ(v.trie->vocab_size(), t.vocab_size());
  return v;
}

// JSON states: start, inside a key, after a key, in a number, inside a string after half a
// character, after a complete value (end allowed); a grammar of identifiers with non-ASCII.
void CheckRealVocabulary(const Vocabulary& v) {
  ASSERT_NE(v.trie, nullptr);
  ExpectMasksMatch(*v.trie, v.bytes, v.end_of_generation, kJsonValueGrammar,
                   {"", "{\"na", "{\"name\"", "{\"name\": 12", "[\"\xE6\x97", "[true, {}]",
                    "{\"a\": [1, \"x\\"});
  ExpectMasksMatch(*v.trie, v.bytes, v.end_of_generation,
                   "root ::= (word \" \")* word\nword ::= [a-zà-ÿ]+ | \"日本\"{1,2}",
                   {"", "caf", "café ", "日本", "\xE6\x97\xA5"});
  // Bounded runs (a schema's maxLength), where the mask takes whole tokens of one class in bulk:
  // every count left, a class that shares characters with what follows it, non-ASCII classes.
  ExpectMasksMatch(*v.trie, v.bytes, v.end_of_generation,
                   R"(root ::= "\"" [^"\\\x00-\x1f]{0,6} "\", " [a-z]{2,5} [a-f0-9]{0,3} tail
tail ::= "." [a-zà-ÿ ]{1,4} | "!")",
                   {"", "\"", "\"ab", "\"abcde", "\"abcdef", "\"ab\", ", "\"ab\", xy",
                    "\"ab\", xyzuv", "\"ab\", xyzuvab", "\"\", ab.", "\"\", ab.é "});
}

TEST(TokenMask, SmolLm2ByteLevelBpe) {
  LLMW_TEST_MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf", "LLMW_SMOLLM2_GGUF");
  CheckRealVocabulary(LoadVocabulary(path));
}

TEST(TokenMask, Gemma3SentencePieceWithByteFallback) {
  LLMW_TEST_MODEL_OR_SKIP(path, "gemma-3-270m-q4_k_m.gguf", "LLMW_GEMMA3_GGUF");
  CheckRealVocabulary(LoadVocabulary(path));
}

// A JSON document as a tokenizer splits it: each of its tokens is in the mask of the state
// before it, the cached masks equal the computed ones, and a long string's steps hit the cache.
void CheckTokenizedDocument(const std::string& path) {
  absl::StatusOr<std::unique_ptr<GgufFile>> file = GgufFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = TokenizerFromGguf(**file);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  const Tokenizer& t = **tokenizer;
  const TokenTrie trie = TokenTrie::FromTokenizer(t);
  MaskCache cache(trie, nullptr, 4);
  const std::string doc =
      "{\"name\": \"a rather long string, long enough to take many tokens of plain words in "
      "a row\", \"n\": [1, -2.5e3, true, null], \"caf\xC3\xA9\": {\"\xE6\x97\xA5\": \"\"}}";
  std::shared_ptr<const Grammar> g = Parse(kJsonValueGrammar);
  ASSERT_NE(g, nullptr);
  GrammarMatcher m(g);
  const std::vector<int32_t> ids = t.Encode(doc, /*add_bos=*/false, /*parse_special=*/false);
  for (int32_t id : ids) {
    absl::StatusOr<const TokenMask*> cached = cache.Mask(m);
    ASSERT_TRUE(cached.ok()) << cached.status();
    absl::StatusOr<TokenMask> computed = trie.Mask(m);
    ASSERT_TRUE(computed.ok()) << computed.status();
    ASSERT_EQ(**cached, *computed) << "after " << m.consumed() << " bytes";
    ASSERT_TRUE(MaskAllows(*computed, id)) << "token " << id << " after " << m.consumed();
    const int32_t one[] = {id};
    ASSERT_TRUE(m.Accept(t.Decode(one, /*render_special=*/false)));
  }
  EXPECT_TRUE(m.CanEnd());
  absl::StatusOr<TokenMask> end = trie.Mask(m);
  ASSERT_TRUE(end.ok());
  ASSERT_TRUE(t.eos_id().has_value());
  EXPECT_TRUE(MaskAllows(*end, *t.eos_id()));
  EXPECT_GT(cache.hits(), 3u);
}

TEST(TokenMask, TokenizedDocumentsAreAllowed) {
  const char* source = std::getenv("LLMW_SOURCE_DIR");
  ASSERT_NE(source, nullptr);
  CheckTokenizedDocument(std::string(source) + "/tests/fixtures/hf_tiny/gemma3-F16.gguf");
  LLMW_TEST_MODEL_OR_SKIP(path, "SmolLM2-135M-Instruct.Q4_1.gguf", "LLMW_SMOLLM2_GGUF");
  CheckTokenizedDocument(path);
}

TEST(TokenMask, TinyGemma3Fixture) {
  const char* source = std::getenv("LLMW_SOURCE_DIR");
  ASSERT_NE(source, nullptr);
  CheckRealVocabulary(
      LoadVocabulary(std::string(source) + "/tests/fixtures/hf_tiny/gemma3-F16.gguf"));
}

}  // namespace
}  // namespace llmw::structured
