// Writing a built grammar: folding unit cycles, pruning what cannot complete, inlining rules used
// once, and spelling items in the grammar notation.
#include "worker/structured/grammar_builder.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/tokenizer/unicode.h"

namespace llmw::structured {
namespace {

// Groups written inline nest at most this deep (the notation allows kMaxNesting); deeper rules
// are written by name.
constexpr int kMaxInlineDepth = 40;

bool IsUnit(const GrammarSequence& alternative) {
  return alternative.size() == 1 && alternative[0].kind == GrammarItem::Kind::kRule &&
         alternative[0].min == 1 && alternative[0].max == 1;
}

void AppendClassChar(uint32_t c, std::string* out) {
  const bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (plain) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x100) {
    absl::StrAppendFormat(out, "\\x%02X", c);
  } else if (c < 0x10000) {
    absl::StrAppendFormat(out, "\\u%04X", c);
  } else {
    absl::StrAppendFormat(out, "\\U%08X", c);
  }
}

void AppendLiteral(std::string_view utf8, std::string* out) {
  out->push_back('"');
  for (char32_t c : DecodeUtf8(utf8)) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7F) {
      absl::StrAppendFormat(out, "\\x%02X", static_cast<uint32_t>(c));
    } else {
      AppendUtf8(c, out);
    }
  }
  out->push_back('"');
}

void AppendRepetition(uint32_t min, uint32_t max, std::string* out) {
  if (min == 1 && max == 1) return;
  if (min == 0 && max == 1) {
    out->push_back('?');
  } else if (max == kUnboundedRepeat) {
    if (min == 0) {
      out->push_back('*');
    } else if (min == 1) {
      out->push_back('+');
    } else {
      absl::StrAppend(out, "{", min, ",}");
    }
  } else if (min == max) {
    absl::StrAppend(out, "{", min, "}");
  } else {
    absl::StrAppend(out, "{", min, ",", max, "}");
  }
}

}  // namespace

GrammarItem GrammarItem::Literal(std::string utf8) {
  GrammarItem item;
  item.kind = Kind::kLiteral;
  item.text = std::move(utf8);
  return item;
}

GrammarItem GrammarItem::Chars(CodePointSet set) {
  GrammarItem item;
  item.kind = Kind::kChars;
  item.chars = std::move(set);
  return item;
}

GrammarItem GrammarItem::Rule(uint32_t id) {
  GrammarItem item;
  item.kind = Kind::kRule;
  item.rule = id;
  return item;
}

GrammarItem GrammarItem::Named(std::string name) {
  GrammarItem item;
  item.kind = Kind::kNamed;
  item.text = std::move(name);
  return item;
}

GrammarItem GrammarItem::Repeat(uint32_t min_count, uint32_t max_count) && {
  min = min_count;
  max = max_count;
  return std::move(*this);
}

uint32_t GrammarBuilder::NewRule(std::string_view hint) {
  rules_.push_back({std::string(hint), {}});
  return static_cast<uint32_t>(rules_.size() - 1);
}

void GrammarBuilder::Add(uint32_t rule, GrammarSequence alternative) {
  item_count_ += alternative.size() + 1;
  rules_[rule].alternatives.push_back(std::move(alternative));
}

// Rules that reach each other through alternatives of a single reference all match the same
// strings: the union of their other alternatives. One of them gets that union and the others
// refer to it, which breaks the cycle. Tarjan's algorithm, without recursion.
void GrammarBuilder::FoldUnitCycles() {
  const size_t n = rules_.size();
  std::vector<std::vector<uint32_t>> unit(n);
  for (size_t r = 0; r < n; ++r) {
    for (const GrammarSequence& alternative : rules_[r].alternatives) {
      if (IsUnit(alternative)) unit[r].push_back(alternative[0].rule);
    }
  }
  constexpr uint32_t kUnvisited = UINT32_MAX;
  std::vector<uint32_t> index(n, kUnvisited), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<uint32_t> stack;
  std::vector<std::pair<uint32_t, size_t>> calls;  // (rule, next edge)
  std::vector<std::vector<uint32_t>> cycles;
  uint32_t next_index = 0;
  for (uint32_t start = 0; start < n; ++start) {
    if (index[start] != kUnvisited || unit[start].empty()) continue;
    calls.push_back({start, 0});
    index[start] = low[start] = next_index++;
    stack.push_back(start);
    on_stack[start] = true;
    while (!calls.empty()) {
      auto& [v, edge] = calls.back();
      if (edge < unit[v].size()) {
        const uint32_t w = unit[v][edge++];
        if (index[w] == kUnvisited) {
          index[w] = low[w] = next_index++;
          stack.push_back(w);
          on_stack[w] = true;
          calls.push_back({w, 0});
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      const uint32_t done = v;
      calls.pop_back();
      if (!calls.empty()) low[calls.back().first] = std::min(low[calls.back().first], low[done]);
      if (low[done] != index[done]) continue;
      std::vector<uint32_t> members;
      uint32_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        members.push_back(w);
      } while (w != done);
      const bool self_loop =
          std::find(unit[done].begin(), unit[done].end(), done) != unit[done].end();
      if (members.size() > 1 || self_loop) cycles.push_back(std::move(members));
    }
  }
  for (const std::vector<uint32_t>& members : cycles) {
    const absl::flat_hash_set<uint32_t> in_cycle(members.begin(), members.end());
    const uint32_t keeper = members[0];
    std::vector<GrammarSequence> merged;
    for (uint32_t m : members) {
      for (GrammarSequence& alternative : rules_[m].alternatives) {
        if (IsUnit(alternative) && in_cycle.contains(alternative[0].rule)) continue;
        merged.push_back(std::move(alternative));
      }
      rules_[m].alternatives = {{GrammarItem::Rule(keeper)}};
    }
    rules_[keeper].alternatives = std::move(merged);
  }
}

// A rule is productive when one of its alternatives is, and an alternative when each of its
// items is: a terminal, a repetition that may be absent, or a productive rule. Each alternative
// counts the items it still waits for; a rule found productive releases its waiters.
std::vector<bool> GrammarBuilder::Productive() const {
  struct Alt {
    uint32_t rule;
    size_t waiting = 0;
  };
  std::vector<Alt> alts;
  std::vector<std::vector<uint32_t>> waiters(rules_.size());
  std::vector<uint32_t> ready;
  for (uint32_t r = 0; r < rules_.size(); ++r) {
    for (const GrammarSequence& alternative : rules_[r].alternatives) {
      const auto id = static_cast<uint32_t>(alts.size());
      alts.push_back({r, 0});
      for (const GrammarItem& item : alternative) {
        if (item.min == 0) continue;
        if (item.kind == GrammarItem::Kind::kRule) {
          waiters[item.rule].push_back(id);
          ++alts[id].waiting;
        } else if (item.kind == GrammarItem::Kind::kChars && item.chars.empty()) {
          ++alts[id].waiting;  // never released
        }
      }
      if (alts[id].waiting == 0) ready.push_back(id);
    }
  }
  std::vector<bool> productive(rules_.size(), false);
  while (!ready.empty()) {
    const uint32_t rule = alts[ready.back()].rule;
    ready.pop_back();
    if (productive[rule]) continue;
    productive[rule] = true;
    for (uint32_t waiter : waiters[rule]) {
      if (--alts[waiter].waiting == 0) ready.push_back(waiter);
    }
  }
  return productive;
}

void GrammarBuilder::Prune(const std::vector<bool>& productive) {
  auto usable = [&](const GrammarItem& item) {
    if (item.kind == GrammarItem::Kind::kRule) return static_cast<bool>(productive[item.rule]);
    return item.kind != GrammarItem::Kind::kChars || !item.chars.empty();
  };
  for (Rule& rule : rules_) {
    std::vector<GrammarSequence> kept;
    for (GrammarSequence& alternative : rule.alternatives) {
      bool ok = true;
      GrammarSequence items;
      for (GrammarItem& item : alternative) {
        if (usable(item)) {
          items.push_back(std::move(item));
        } else if (item.min > 0) {
          ok = false;
          break;
        }
      }
      if (ok) kept.push_back(std::move(items));
    }
    rule.alternatives = std::move(kept);
  }
}

namespace {

// Spells out rules reachable from the root, inlining those referenced once.
class Writer {
 public:
  Writer(const std::vector<std::vector<GrammarSequence>*>& alternatives,
         const std::vector<std::string>& hints, uint32_t root)
      : alternatives_(alternatives), hints_(hints), root_(root), uses_(hints.size(), 0) {}

  std::string Run() {
    CountUses();
    names_.resize(hints_.size());
    names_[root_] = "root";
    pending_.push_back(root_);
    for (size_t i = 0; i < pending_.size(); ++i) {
      const uint32_t r = pending_[i];
      absl::StrAppend(&out_, names_[r], " ::= ");
      WriteAlternatives(r, 0);
      out_.push_back('\n');
    }
    return std::move(out_);
  }

 private:
  void CountUses() {
    std::vector<bool> seen(hints_.size(), false);
    std::vector<uint32_t> todo = {root_};
    seen[root_] = true;
    while (!todo.empty()) {
      const uint32_t r = todo.back();
      todo.pop_back();
      for (const GrammarSequence& alternative : *alternatives_[r]) {
        for (const GrammarItem& item : alternative) {
          if (item.kind != GrammarItem::Kind::kRule) continue;
          ++uses_[item.rule];
          if (!seen[item.rule]) {
            seen[item.rule] = true;
            todo.push_back(item.rule);
          }
        }
      }
    }
  }

  const std::string& Name(uint32_t r) {
    if (names_[r].empty()) {
      std::string name;
      for (char c : hints_[r].substr(0, 40)) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
        name.push_back(ok ? c : '_');
      }
      names_[r] = absl::StrCat(name.empty() ? "r" : name, "-", r);
      pending_.push_back(r);
    }
    return names_[r];
  }

  void WriteAlternatives(uint32_t r, int depth) {
    const std::vector<GrammarSequence>& alternatives = *alternatives_[r];
    for (size_t a = 0; a < alternatives.size(); ++a) {
      if (a > 0) out_ += " | ";
      if (alternatives[a].empty()) out_ += "\"\"";
      for (size_t i = 0; i < alternatives[a].size(); ++i) {
        if (i > 0) out_.push_back(' ');
        WriteItem(alternatives[a][i], depth);
      }
    }
  }

  void WriteItem(const GrammarItem& item, int depth) {
    switch (item.kind) {
      case GrammarItem::Kind::kLiteral:
        AppendLiteral(item.text, &out_);
        break;
      case GrammarItem::Kind::kChars:
        out_.push_back('[');
        for (const auto& [lo, hi] : item.chars.ranges()) {
          AppendClassChar(lo, &out_);
          if (hi != lo) {
            out_.push_back('-');
            AppendClassChar(hi, &out_);
          }
        }
        out_.push_back(']');
        break;
      case GrammarItem::Kind::kNamed:
        out_ += item.text;
        break;
      case GrammarItem::Kind::kRule:
        if (uses_[item.rule] == 1 && item.rule != root_ && depth < kMaxInlineDepth) {
          out_.push_back('(');
          WriteAlternatives(item.rule, depth + 1);
          out_.push_back(')');
        } else {
          out_ += Name(item.rule);
        }
        break;
    }
    AppendRepetition(item.min, item.max, &out_);
  }

  const std::vector<std::vector<GrammarSequence>*>& alternatives_;
  const std::vector<std::string>& hints_;
  const uint32_t root_;
  std::vector<uint32_t> uses_;
  std::vector<std::string> names_;
  std::vector<uint32_t> pending_;
  std::string out_;
};

}  // namespace

absl::StatusOr<std::string> GrammarBuilder::Write(uint32_t root, std::string_view fixed_rules) {
  FoldUnitCycles();
  const std::vector<bool> productive = Productive();
  if (!productive[root]) {
    return absl::FailedPreconditionError("the grammar matches no finite string");
  }
  Prune(productive);
  std::vector<std::vector<GrammarSequence>*> alternatives;
  std::vector<std::string> hints;
  for (Rule& rule : rules_) {
    alternatives.push_back(&rule.alternatives);
    hints.push_back(rule.hint);
  }
  std::string text = Writer(alternatives, hints, root).Run();
  text += fixed_rules;
  return text;
}

}  // namespace llmw::structured
