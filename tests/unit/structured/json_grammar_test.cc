// The JSON grammar against an independent JSON parser (nlohmann::json::accept) on random JSON
// documents and on single-character mutations of them, most of which are not JSON.
#include "worker/structured/json_grammar.h"

#include <random>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/unit/structured/parse.h"
#include "worker/structured/matcher.h"

namespace llmw::structured {
namespace {

nlohmann::json RandomValue(std::mt19937& rng, int depth) {
  const int kind = static_cast<int>(rng() % (depth > 3 ? 5 : 7));
  switch (kind) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<int>(rng() % 2001) - 1000;
    case 3:
      return std::ldexp(static_cast<double>(rng() % 100000) - 50000.0, -(int)(rng() % 40));
    case 4: {
      static const char* const kPieces[] = {"a",  "key", " ",    "\"", "\\",
                                            "\n", "é",   "日本", "😀",  "/"};
      std::string s;
      for (int n = static_cast<int>(rng() % 5); n > 0; --n) s += kPieces[rng() % 10];
      return s;
    }
    case 5: {
      nlohmann::json a = nlohmann::json::array();
      for (int n = static_cast<int>(rng() % 4); n > 0; --n)
        a.push_back(RandomValue(rng, depth + 1));
      return a;
    }
    default: {
      nlohmann::json o = nlohmann::json::object();
      for (int n = static_cast<int>(rng() % 4); n > 0; --n) {
        o[std::string(1, static_cast<char>('k' + rng() % 10))] = RandomValue(rng, depth + 1);
      }
      return o;
    }
  }
}

TEST(JsonGrammar, AgreesWithAJsonParser) {
  std::shared_ptr<const Grammar> g = Parse(kJsonValueGrammar);
  ASSERT_NE(g, nullptr);
  std::mt19937 rng(42);
  // No exponent letters: the parser refuses exponents past a double's range, which JSON allows.
  const std::string kInserted = "{}[],:\" 0a-.+\\\t\xC3";
  int accepted = 0, rejected = 0;
  for (int doc = 0; doc < 400; ++doc) {
    const nlohmann::json value = RandomValue(rng, 0);
    const std::string text = rng() % 2 ? value.dump() : value.dump(static_cast<int>(rng() % 3));
    std::vector<std::string> variants = {text};
    for (int m = 0; m < 6; ++m) {
      std::string v = text;
      const size_t at = rng() % (v.size() + 1);
      if (m % 2 == 0 && at < v.size()) {
        v.erase(at, 1);
      } else {
        v.insert(at, 1, kInserted[rng() % kInserted.size()]);
      }
      variants.push_back(v);
    }
    for (const std::string& v : variants) {
      const bool expected = nlohmann::json::accept(v);
      GrammarMatcher m(g);
      const bool got = m.Accept(v) && m.CanEnd();
      ASSERT_EQ(got, expected) << v;
      (expected ? accepted : rejected)++;
    }
  }
  EXPECT_GT(accepted, 400);
  EXPECT_GT(rejected, 400);
}

}  // namespace
}  // namespace llmw::structured
