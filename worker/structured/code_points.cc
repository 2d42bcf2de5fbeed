// Code point set algebra over sorted ranges, and decoding UTF-8 to code points.
#include "worker/structured/code_points.h"

#include <algorithm>

#include "models/tokenizer/unicode.h"

namespace llmw::structured {
namespace {

constexpr uint32_t kSurrogateFirst = 0xD800;
constexpr uint32_t kSurrogateLast = 0xDFFF;

}  // namespace

CodePointSet::CodePointSet(std::vector<Range> ranges) {
  std::vector<Range> split;
  for (Range r : ranges) {
    r.second = std::min(r.second, kMaxCodePoint);
    if (r.first > r.second) continue;
    if (r.second < kSurrogateFirst || r.first > kSurrogateLast) {
      split.push_back(r);
      continue;
    }
    if (r.first < kSurrogateFirst) split.push_back({r.first, kSurrogateFirst - 1});
    if (r.second > kSurrogateLast) split.push_back({kSurrogateLast + 1, r.second});
  }
  std::sort(split.begin(), split.end());
  for (const Range& r : split) {
    if (!ranges_.empty() && r.first <= ranges_.back().second + 1) {
      ranges_.back().second = std::max(ranges_.back().second, r.second);
    } else {
      ranges_.push_back(r);
    }
  }
}

bool CodePointSet::Contains(uint32_t c) const {
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), c,
                             [](const Range& r, uint32_t v) { return r.second < v; });
  return it != ranges_.end() && it->first <= c;
}

CodePointSet CodePointSet::Union(const CodePointSet& other) const {
  std::vector<Range> all = ranges_;
  all.insert(all.end(), other.ranges_.begin(), other.ranges_.end());
  return CodePointSet(std::move(all));
}

CodePointSet CodePointSet::Intersect(const CodePointSet& other) const {
  std::vector<Range> out;
  size_t i = 0, j = 0;
  while (i < ranges_.size() && j < other.ranges_.size()) {
    const uint32_t lo = std::max(ranges_[i].first, other.ranges_[j].first);
    const uint32_t hi = std::min(ranges_[i].second, other.ranges_[j].second);
    if (lo <= hi) out.push_back({lo, hi});
    if (ranges_[i].second < other.ranges_[j].second) {
      ++i;
    } else {
      ++j;
    }
  }
  return CodePointSet(std::move(out));
}

CodePointSet CodePointSet::Complement() const {
  std::vector<Range> out;
  uint32_t next = 0;
  for (const Range& r : ranges_) {
    if (r.first > next) out.push_back({next, r.first - 1});
    next = r.second + 1;
  }
  if (next <= kMaxCodePoint) out.push_back({next, kMaxCodePoint});
  return CodePointSet(std::move(out));
}

std::u32string DecodeUtf8(std::string_view text) {
  std::u32string out;
  for (size_t i = 0; i < text.size();) {
    size_t length = 1;
    const char32_t c = DecodeUtf8Lenient(text.substr(i), &length);
    out.push_back(c == kInvalidCodePoint ? kReplacementChar : c);
    i += length;
  }
  return out;
}

}  // namespace llmw::structured
