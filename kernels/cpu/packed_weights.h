// Block-quantized matmul weights (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) re-laid out for the SIMD kernels.
//
// Rows are taken in groups of kPackRows (16); the last group is padded with zero rows. In a group,
// block b of the 16 rows is stored transposed in 4-byte units, so that one 64-byte load gives
// four codes of every row and a dot-product instruction (4 bytes per 32-bit lane) advances 16
// rows at once against 4 broadcast activation quants:
//   4-bit formats: codes[b][j][r][i] = qs byte 4j + i of row r (j, i < 4), so the low nibbles
//     hold elements 4j..4j+3 and the high nibbles elements 16+4j..16+4j+3 of row r;
//   Q8_0: codes[b][s][r][i] = (q[4s + i] of row r) + 128 as an unsigned byte (s < 8);
//   Q5: qh[b][r] is the row's 32 high bits reordered: bit 8i + s holds element 4s + i's, so the
//     four bits of step s sit at bit s of each byte;
//   scales[b][r] (and mins[b][r] for Q4_1 / Q5_1): the block's fp16 d (m).
// Each part covers all blocks of the group and starts on a 64-byte boundary. The packed weights
// take the same memory as the originals (plus the padding), and the arithmetic on them is the
// arithmetic on the originals: see matmul_internal.h.
#pragma once

#include <cstdint>

#include "kernels/cpu/huge_buffer.h"
#include "kernels/tensor.h"

namespace llmw::cpu {

inline constexpr int64_t kPackRows = 16;

// Byte offsets of the parts of one packed row group, and its size (a multiple of 64).
struct PackLayout {
  int64_t codes = 0;   // blocks x 256 bytes (512 for Q8_0)
  int64_t qh = 0;      // Q5_0 / Q5_1: blocks x 64 bytes
  int64_t scales = 0;  // blocks x 16 fp16
  int64_t mins = 0;    // Q4_1 / Q5_1: blocks x 16 fp16
  int64_t bytes = 0;
};

// Whether `type` has a packed form.
bool IsPackable(DType type);

// The layout of a group of rows of `in` elements (a multiple of 32) of a packable type.
PackLayout PackLayoutFor(DType type, int64_t in);

// Packs rows [first, min(first + kPackRows, rows)) of `w` into one group at `dst`
// (PackLayoutFor(w.dtype(), w.row_elems()).bytes bytes).
void PackRowGroup(const Tensor& w, int64_t first, uint8_t* dst);

// A whole weight matrix packed once (at load), beside the tensor it came from.
class PackedWeights {
 public:
  // Packs `w`, a CPU matrix of a packable type that passes CheckMatmulWeight, into memory of its
  // own (allocates).
  explicit PackedWeights(const Tensor& w);
  // The same into `storage`: StorageBytes(w) bytes, 64-byte aligned, outliving this object
  // (callers pack many weights into a few large buffers).
  PackedWeights(const Tensor& w, uint8_t* storage);
  static int64_t StorageBytes(const Tensor& w);

  const Tensor& source() const { return source_; }
  const PackLayout& layout() const { return layout_; }
  int64_t groups() const { return groups_; }
  // Group g holds rows 16g .. 16g + 15.
  const uint8_t* group(int64_t g) const { return data_ + g * layout_.bytes; }

 private:
  Tensor source_;
  PackLayout layout_;
  int64_t groups_ = 0;
  HugeBuffer owned_;  // empty when packed into the caller's storage
  const uint8_t* data_ = nullptr;
};

}  // namespace llmw::cpu
