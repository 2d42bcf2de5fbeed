// Which uploaded rows CudaBackend::PlaceWeights rewrites into the kernels' layout
// (repacked_layout.h): each row of a block format exactly once, however many weights view it (the
// row views of a fused projection, a table tied to the output projection). Plain C++ (unit-tested
// without a GPU).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kernels/cuda/repacked_layout.h"
#include "kernels/dtype.h"

namespace llmw::cuda {

// `rows` rows of `row_elems` elements of `dtype` at byte `offset` of an upload.
struct RowRun {
  DType dtype;
  int64_t row_elems;
  int64_t offset;
  int64_t rows;

  int64_t end() const { return offset + rows * RowBytes(dtype, row_elems); }
};

// The block-format runs of `runs`, overlapping ones merged, sorted by offset. Runs that overlap
// must agree on the rows (dtype, row length and row boundaries): otherwise kInvalidArgument, as the
// same bytes cannot be laid out two ways.
inline absl::StatusOr<std::vector<RowRun>> RowsToRepack(std::vector<RowRun> runs) {
  std::erase_if(runs, [](const RowRun& r) {
    return r.rows <= 0 || r.row_elems <= 0 || cuda_blocks::SplitOf(r.dtype).quants_bytes == 0;
  });
  std::sort(runs.begin(), runs.end(),
            [](const RowRun& a, const RowRun& b) { return a.offset < b.offset; });
  std::vector<RowRun> merged;
  for (const RowRun& r : runs) {
    if (merged.empty() || r.offset >= merged.back().end()) {
      merged.push_back(r);
      continue;
    }
    RowRun& last = merged.back();
    const int64_t row_bytes = RowBytes(last.dtype, last.row_elems);
    if (r.dtype != last.dtype || r.row_elems != last.row_elems ||
        (r.offset - last.offset) % row_bytes != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "weights share bytes but not their rows: ", std::string(DTypeName(r.dtype)), " rows of ",
          r.row_elems, " at byte ", r.offset, " overlap ", std::string(DTypeName(last.dtype)),
          " rows of ", last.row_elems, " at byte ", last.offset));
    }
    last.rows = std::max(last.end(), r.end()) - last.offset;
    last.rows /= row_bytes;
  }
  return merged;
}

}  // namespace llmw::cuda
