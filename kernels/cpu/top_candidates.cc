// The top-N selection behind sampling from candidates: one pass per row with a rising bar.
#include "kernels/cpu/top_candidates.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

namespace llmw::cpu {
namespace {

using Entry = TopCandidatesScratch::Entry;

// Higher key first, then lower id: a strict total order on a row's entries.
bool Ranks(const Entry& a, const Entry& b) {
  return a.key > b.key || (a.key == b.key && a.id < b.id);
}

// Whether any of the kBlock values at `x` is >= `bar` (a NaN is not), four lanes at a time (GCC
// and Clang vector extensions of the SSE width, which every x86-64 and Arm64 CPU has).
constexpr int64_t kBlock = 16;
using F4 = float __attribute__((vector_size(16)));
using I4 = int32_t __attribute__((vector_size(16)));

bool AnyAtLeast(const float* x, float bar) {
  const F4 bar4 = {bar, bar, bar, bar};
  I4 ge = {0, 0, 0, 0};
  for (int64_t j = 0; j < kBlock; j += 4) {
    F4 v;
    std::memcpy(&v, x + j, sizeof(v));
    ge |= v >= bar4;
  }
  int64_t lanes[2];
  std::memcpy(lanes, &ge, sizeof(lanes));
  return (lanes[0] | lanes[1]) != 0;
}

// The largest value of each whole block of `row` (NaN ignored; -inf for a block of NaN) into
// `maxima`, four lanes at a time.
void BlockMaxima(const float* row, int64_t vocab, std::vector<float>& maxima) {
  const int64_t blocks = vocab / kBlock;
  maxima.resize(static_cast<size_t>(blocks));
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t b = 0; b < blocks; ++b) {
    F4 m = {-inf, -inf, -inf, -inf};
    for (int64_t j = 0; j < kBlock; j += 4) {
      F4 v;
      std::memcpy(&v, row + b * kBlock + j, sizeof(v));
      m = v > m ? v : m;
    }
    maxima[b] = std::max(std::max(m[0], m[1]), std::max(m[2], m[3]));
  }
}

// The `top_n` best entries of `row` into buffer[0, top_n), in no order. Entries at or below the
// bar (the top_n-th best of the buffer when it was last cut back) cannot be among the best: later
// ids lose ties. Nor can values below the top_n-th largest block maximum: top_n blocks have a
// value at least that. Most of a row is below both, so blocks are tested at once by value first.
void SelectRow(const float* row, int64_t vocab, int64_t top_n, std::vector<Entry>& buffer,
               std::vector<float>& maxima) {
  const size_t cap = buffer.size();
  size_t count = 0;
  int64_t bar = -1;  // no bar yet: every key (>= 0) passes
  float bar_value = -std::numeric_limits<float>::infinity();
  bool value_test = false;  // whether `value >= bar_value` may prefilter
  if (vocab / kBlock >= 4 * top_n) {
    BlockMaxima(row, vocab, maxima);
    std::nth_element(maxima.begin(), maxima.begin() + (top_n - 1), maxima.end(),
                     std::greater<float>());
    bar_value = maxima[top_n - 1];
    value_test = bar_value > -std::numeric_limits<float>::infinity();  // not NaN blocks' -inf
  }
  const auto offer = [&](int64_t i) {
    const uint32_t key = CandidateKey(row[i]);
    if (static_cast<int64_t>(key) <= bar) return;
    buffer[count++] = Entry{key, static_cast<int32_t>(i)};
    if (count == cap) {
      std::nth_element(buffer.begin(), buffer.begin() + (top_n - 1), buffer.begin() + count, Ranks);
      count = static_cast<size_t>(top_n);
      bar = buffer[top_n - 1].key;
      const float cut = row[buffer[top_n - 1].id];
      if (cut == cut && (!value_test || cut > bar_value)) {
        bar_value = cut;
        value_test = true;
      }
    }
  };
  int64_t i = 0;
  for (; i + kBlock <= vocab; i += kBlock) {
    if (value_test && !AnyAtLeast(row + i, bar_value)) continue;
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
                   const int32_t* extra_offsets, TopCandidatesScratch* scratch) {
  TopCandidatesScratch temporary;
  TopCandidatesScratch& s = scratch != nullptr ? *scratch : temporary;
  s.entries.resize(static_cast<size_t>(std::min(vocab, 2 * top_n + 512)));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = logits + r * vocab;
    SelectRow(row, vocab, top_n, s.entries, s.block_maxima);
    std::sort(s.entries.begin(), s.entries.begin() + top_n,
              [](const Entry& a, const Entry& b) { return a.id < b.id; });
    for (int64_t i = 0; i < top_n; ++i) {
      top_ids[r * top_n + i] = s.entries[i].id;
      top_values[r * top_n + i] = row[s.entries[i].id];
    }
    for (int32_t j = extra_offsets[r]; j < extra_offsets[r + 1]; ++j) {
      const int32_t id = extra_ids[j];
      extra_values[j] = id >= 0 && id < vocab ? row[id] : std::numeric_limits<float>::quiet_NaN();
    }
  }
}

}  // namespace llmw::cpu
