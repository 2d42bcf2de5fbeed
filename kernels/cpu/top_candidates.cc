// The top-N selection behind sampling from candidates: one pass per row with a rising bar.
#include "kernels/cpu/top_candidates.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace llmw::cpu {
namespace {

struct Entry {
  uint32_t key;
  int32_t id;
};

// Higher key first, then lower id: a strict total order on a row's entries.
bool Ranks(const Entry& a, const Entry& b) {
  return a.key > b.key || (a.key == b.key && a.id < b.id);
}

// The `top_n` best entries of `row` into buffer[0, top_n), in no order. Entries at or below the
// bar (the top_n-th best of the buffer when it was last cut back) cannot be among the best: later
// ids lose ties. Most of a row is below the bar, so blocks of 8 are tested at once by value.
void SelectRow(const float* row, int64_t vocab, int64_t top_n, std::vector<Entry>& buffer) {
  const size_t cap = buffer.size();
  size_t count = 0;
  int64_t bar = -1;  // no bar yet: every key (>= 0) passes
  float bar_value = -std::numeric_limits<float>::infinity();
  bool value_test = false;  // whether `value >= bar_value` may prefilter: the bar is a number
  const auto offer = [&](int64_t i) {
    const uint32_t key = CandidateKey(row[i]);
    if (static_cast<int64_t>(key) <= bar) return;
    buffer[count++] = Entry{key, static_cast<int32_t>(i)};
    if (count == cap) {
      std::nth_element(buffer.begin(), buffer.begin() + (top_n - 1), buffer.begin() + count, Ranks);
      count = static_cast<size_t>(top_n);
      bar = buffer[top_n - 1].key;
      bar_value = row[buffer[top_n - 1].id];
      value_test = bar_value == bar_value;
    }
  };
  constexpr int64_t kBlock = 8;
  int64_t i = 0;
  for (; i + kBlock <= vocab; i += kBlock) {
    if (value_test) {
      bool any = false;
      for (int64_t j = 0; j < kBlock; ++j) any |= row[i + j] >= bar_value;
      if (!any) continue;
    }
    for (int64_t j = 0; j < kBlock; ++j) offer(i + j);
  }
  for (; i < vocab; ++i) offer(i);
  if (count > static_cast<size_t>(top_n)) {
    std::nth_element(buffer.begin(), buffer.begin() + (top_n - 1), buffer.begin() + count, Ranks);
  }
}

}  // namespace

void TopCandidates(int32_t* top_ids, float* top_values, float* extra_values, const float* logits,
                   int64_t rows, int64_t vocab, int64_t top_n, const int32_t* extra_ids,
                   const int32_t* extra_offsets) {
  std::vector<Entry> buffer(static_cast<size_t>(std::min(vocab, 2 * top_n + 512)));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = logits + r * vocab;
    SelectRow(row, vocab, top_n, buffer);
    std::sort(buffer.begin(), buffer.begin() + top_n,
              [](const Entry& a, const Entry& b) { return a.id < b.id; });
    for (int64_t i = 0; i < top_n; ++i) {
      top_ids[r * top_n + i] = buffer[i].id;
      top_values[r * top_n + i] = row[buffer[i].id];
    }
    for (int32_t j = extra_offsets[r]; j < extra_offsets[r + 1]; ++j) {
      const int32_t id = extra_ids[j];
      extra_values[j] = id >= 0 && id < vocab ? row[id] : std::numeric_limits<float>::quiet_NaN();
    }
  }
}

}  // namespace llmw::cpu
