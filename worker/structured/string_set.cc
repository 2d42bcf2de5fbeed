// Prefix trees over code points, written as rules without recursion in C++.
#include "worker/structured/string_set.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "models/tokenizer/unicode.h"

namespace llmw::structured {
namespace {

std::string Utf8(std::u32string_view s) {
  std::string out;
  for (char32_t c : s) AppendUtf8(c, &out);
  return out;
}

}  // namespace

void AddStringSet(GrammarBuilder& builder, uint32_t rule, std::vector<std::string> strings) {
  std::vector<std::u32string> s;
  for (const std::string& text : strings) s.push_back(DecodeUtf8(text));
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
  // (rule, begin, end, depth): strings [begin, end) share their first `depth` code points, and
  // `rule` matches what follows those.
  std::vector<std::tuple<uint32_t, size_t, size_t, size_t>> work = {{rule, 0, s.size(), 0}};
  while (!work.empty()) {
    auto [r, begin, end, depth] = work.back();
    work.pop_back();
    size_t i = begin;
    if (i < end && s[i].size() == depth) {
      builder.Add(r, {});
      ++i;
    }
    while (i < end) {
      size_t j = i + 1;
      while (j < end && s[j][depth] == s[i][depth]) ++j;
      if (j - i == 1) {
        builder.Add(r, {GrammarItem::Literal(Utf8(std::u32string_view(s[i]).substr(depth)))});
      } else {
        // Sorted: the group's common prefix is that of its first and last strings.
        size_t common = depth + 1;
        while (common < s[i].size() && common < s[j - 1].size() &&
               s[i][common] == s[j - 1][common]) {
          ++common;
        }
        const uint32_t rest = builder.NewRule("value");
        builder.Add(
            r, {GrammarItem::Literal(Utf8(std::u32string_view(s[i]).substr(depth, common - depth))),
                GrammarItem::Rule(rest)});
        work.push_back({rest, i, j, common});
      }
      i = j;
    }
  }
}

uint32_t JsonStringExcept(GrammarBuilder& builder, JsonCharItems& chars,
                          const std::vector<std::string>& names) {
  struct Node {
    std::map<char32_t, uint32_t> children;
    bool is_name = false;
  };
  std::vector<Node> trie(1);
  for (const std::string& name : names) {
    uint32_t at = 0;
    for (char32_t c : DecodeUtf8(name)) {
      auto it = trie[at].children.find(c);
      if (it == trie[at].children.end()) {
        trie.emplace_back();
        it = trie[at].children.emplace(c, static_cast<uint32_t>(trie.size() - 1)).first;
      }
      at = it->second;
    }
    trie[at].is_name = true;
  }
  std::vector<uint32_t> rules(trie.size());
  for (uint32_t& r : rules) r = builder.NewRule("name");
  for (size_t n = 0; n < trie.size(); ++n) {
    // Ending here is fine unless a name ends here; another character departs from the names.
    if (!trie[n].is_name) builder.Add(rules[n], {});
    std::vector<CodePointSet::Range> next;
    for (const auto& [c, child] : trie[n].children) {
      builder.Add(rules[n], {chars.Of(CodePointSet::Of(c)), GrammarItem::Rule(rules[child])});
      next.push_back({c, c});
    }
    const CodePointSet other = CodePointSet(std::move(next)).Complement();
    if (!other.empty()) {
      builder.Add(rules[n],
                  {chars.Of(other), GrammarItem::Named(kJsonCharRule).Repeat(0, kUnboundedRepeat)});
    }
  }
  const uint32_t key = builder.NewRule("other-name");
  builder.Add(
      key, {GrammarItem::Literal("\""), GrammarItem::Rule(rules[0]), GrammarItem::Literal("\"")});
  return key;
}

}  // namespace llmw::structured
