// A vocabulary's special tokens (control, unknown and user-defined) and how
// they are found written literally in text, the way the reference does it:
// every occurrence of every token, taken longest token first, each token's
// occurrences left to right, skipping any that overlaps one already taken.
#pragma once

#include <algorithm>
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace llmw {

class SpecialTokens {
 public:
  // Registers a token; `control` ones are matched only when asked to
  // (parse_special), user-defined ones always. Call Index() after the last.
  void Add(int32_t id, std::string text, bool control);
  void Index();

  // Calls raw(text) and token(id) for the runs of plain text and the special
  // tokens of `text`, in order.
  template <typename RawFn, typename TokenFn>
  void Partition(std::string_view text, bool parse_special, RawFn raw, TokenFn token) const;

 private:
  struct Special {
    int32_t id;
    std::string text;
    bool control;
  };

  std::vector<Special> specials_;                    // longest first, then by id
  absl::flat_hash_map<std::string, int32_t> index_;  // text → index in specials_
  std::vector<size_t> lengths_;                      // distinct lengths, longest first
  std::bitset<256> first_bytes_;
};

template <typename RawFn, typename TokenFn>
void SpecialTokens::Partition(std::string_view text, bool parse_special, RawFn raw,
                              TokenFn token) const {
  std::vector<std::pair<int32_t, size_t>> found;  // (index in specials_, start)
  for (size_t i = 0; i < text.size(); ++i) {
    if (!first_bytes_.test(static_cast<uint8_t>(text[i]))) continue;
    for (size_t len : lengths_) {
      if (len > text.size() - i) continue;
      auto it = index_.find(absl::string_view(text.data() + i, len));
      if (it == index_.end()) continue;
      if (parse_special || !specials_[it->second].control) found.emplace_back(it->second, i);
    }
  }
  if (found.empty()) {
    if (!text.empty()) raw(text);
    return;
  }
  std::sort(found.begin(), found.end());
  std::vector<uint8_t> taken(text.size(), 0);
  std::vector<std::pair<size_t, int32_t>> accepted;  // (start, index)
  for (auto [index, start] : found) {
    const size_t len = specials_[index].text.size();
    if (std::find(taken.begin() + start, taken.begin() + start + len, 1) !=
        taken.begin() + start + len) {
      continue;
    }
    std::fill(taken.begin() + start, taken.begin() + start + len, 1);
    accepted.emplace_back(start, index);
  }
  std::sort(accepted.begin(), accepted.end());
  size_t pos = 0;
  for (auto [start, index] : accepted) {
    if (start > pos) raw(text.substr(pos, start - pos));
    token(specials_[index].id);
    pos = start + specials_[index].text.size();
  }
  if (pos < text.size()) raw(text.substr(pos));
}

}  // namespace llmw
