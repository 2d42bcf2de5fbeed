// How cuda::TopCandidates spreads its work: one thread block per row when the rows are enough to
// fill the GPU, else each row cut into slices whose best entries a second pass selects from (two
// stages). Plain C++ (no CUDA), so that the choice is unit-tested anywhere.
#pragma once

#include <algorithm>
#include <cstdint>

namespace llmw::cuda {

// Blocks a call should keep busy; fewer rows than this get slices.
inline constexpr int64_t kTopCandidatesTargetBlocks = 64;
// The most slices of a row, and the fewest entries a slice has.
inline constexpr int64_t kTopCandidatesMaxSlices = 32;
inline constexpr int64_t kTopCandidatesMinSliceEntries = 4096;
// Entries (an id and a value each) of the slices' results a scratch of `bytes` holds.
inline int64_t TopCandidatesScratchEntries(int64_t bytes) { return bytes / 8; }
// Scratch bytes for every call of up to top_n = 1,024 that the plan below cuts into slices
// (rows · slices < 2 · kTopCandidatesTargetBlocks).
inline constexpr int64_t kTopCandidatesScratchBytes = 2 * kTopCandidatesTargetBlocks * 1024 * 8;

// Slices per row for `rows` rows of `vocab` entries: 1 (one stage) or a count >= 2 such that
// every slice holds at least max(top_n, kTopCandidatesMinSliceEntries) entries and the slices'
// top_n results (rows · slices · top_n entries) fit `scratch_entries`.
inline int64_t TopCandidatesSlices(int64_t rows, int64_t vocab, int64_t top_n,
                                   int64_t scratch_entries) {
  if (rows <= 0 || top_n <= 0 || rows >= kTopCandidatesTargetBlocks) return 1;
  int64_t slices = (kTopCandidatesTargetBlocks + rows - 1) / rows;
  slices = std::min(slices, kTopCandidatesMaxSlices);
  slices = std::min(slices, vocab / std::max(top_n, kTopCandidatesMinSliceEntries));
  slices = std::min(slices, scratch_entries / (rows * top_n));
  return slices >= 2 ? slices : 1;
}

}  // namespace llmw::cuda
