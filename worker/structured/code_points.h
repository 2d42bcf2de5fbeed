// Sets of Unicode code points as sorted ranges, and a schema string's code points.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmw::structured {

inline constexpr uint32_t kMaxCodePoint = 0x10FFFF;

// Code points lo..hi inclusive, sorted, disjoint and merged where adjacent; never a surrogate
// (U+D800..U+DFFF), which no JSON string character can be.
class CodePointSet {
 public:
  using Range = std::pair<uint32_t, uint32_t>;

  CodePointSet() = default;
  // Any ranges, in any order; surrogates are dropped.
  explicit CodePointSet(std::vector<Range> ranges);
  static CodePointSet Of(uint32_t c) { return CodePointSet({{c, c}}); }
  static CodePointSet All() { return CodePointSet({{0, kMaxCodePoint}}); }

  const std::vector<Range>& ranges() const { return ranges_; }
  bool empty() const { return ranges_.empty(); }
  bool Contains(uint32_t c) const;

  CodePointSet Union(const CodePointSet& other) const;
  CodePointSet Intersect(const CodePointSet& other) const;
  CodePointSet Complement() const;
  CodePointSet Minus(const CodePointSet& other) const { return Intersect(other.Complement()); }

  bool operator==(const CodePointSet& other) const { return ranges_ == other.ranges_; }
  template <typename H>
  friend H AbslHashValue(H h, const CodePointSet& s) {
    return H::combine(std::move(h), s.ranges_);
  }

 private:
  std::vector<Range> ranges_;
};

// The code points of valid UTF-8 `text` (as nlohmann::json guarantees for parsed strings);
// a malformed byte becomes U+FFFD. (models/tokenizer/unicode.h's AppendUtf8 goes back.)
std::u32string DecodeUtf8(std::string_view text);

}  // namespace llmw::structured
