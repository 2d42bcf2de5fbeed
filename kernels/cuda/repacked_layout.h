// The device layout of block-format weight rows: the same bytes as the GGUF row, regrouped so that
// a warp reads the quants with coalesced 16-byte loads.
//
// Every block format keeps its integer weights in one contiguous range of each block whose length
// is a multiple of 16 bytes (the "quants": Q4_0's qs, Q2_K's scales + qs, Q6_K's ql + qh, ...);
// the rest of the block (the "meta": f16 scales, minimums, Q5's high bits, 6-bit sub-block scales)
// is small. A repacked row of nb blocks is
//   [quants of block 0 .. quants of block nb-1][meta of block 0 .. meta of block nb-1]
// where a block's meta is its bytes before the quants followed by its bytes after them, in order.
// The row keeps its length (RowBytes), so row r still starts at r · RowBytes and row views of a
// repacked tensor stay views; a row whose start is 16-byte aligned has every block's quants
// 16-byte aligned.
//
// Plain C++ outside nvcc (the unit tests repack and read back on the host); the device kernels use
// the same functions.
#pragma once

#include <cstdint>
#include <cstring>

#include "kernels/dtype.h"

#if !defined(LLMW_HOST_DEVICE)
#if defined(__CUDACC__)
#define LLMW_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define LLMW_HOST_DEVICE inline
#endif
#endif

namespace llmw::cuda_blocks {

// Where a block's quants lie: bytes [quants_offset, quants_offset + quants_bytes) of a block of
// block_bytes. quants_bytes == 0 for a dtype that is not a block format (nothing to repack).
struct BlockSplit {
  int block_bytes = 0;
  int quants_offset = 0;
  int quants_bytes = 0;

  LLMW_HOST_DEVICE constexpr int meta_bytes() const { return block_bytes - quants_bytes; }
};

LLMW_HOST_DEVICE constexpr BlockSplit SplitOf(DType type) {
  switch (type) {
    case DType::kQ4_0:  // d | qs[16]
      return {18, 2, 16};
    case DType::kQ4_1:  // d m | qs[16]
      return {20, 4, 16};
    case DType::kQ5_0:  // d qh[4] | qs[16]
      return {22, 6, 16};
    case DType::kQ5_1:  // d m qh[4] | qs[16]
      return {24, 8, 16};
    case DType::kQ8_0:  // d | qs[32]
      return {34, 2, 32};
    case DType::kQ2_K:  // scales[16] qs[64] | d dmin
      return {84, 0, 80};
    case DType::kQ3_K:  // hmask[32] qs[64] | scales[12] d
      return {110, 0, 96};
    case DType::kQ4_K:  // d dmin scales[12] | qs[128]
      return {144, 16, 128};
    case DType::kQ5_K:  // d dmin scales[12] | qh[32] qs[128]
      return {176, 16, 160};
    case DType::kQ6_K:  // ql[128] qh[64] | scales[16] d
      return {210, 0, 192};
    default:
      return {};
  }
}

// The offset in the GGUF row of byte i of the repacked row of nb blocks.
LLMW_HOST_DEVICE int64_t RepackedSourceOffset(BlockSplit split, int64_t nb, int64_t i) {
  const int64_t quants_end = nb * split.quants_bytes;
  if (i < quants_end) {
    return i / split.quants_bytes * split.block_bytes + split.quants_offset +
           i % split.quants_bytes;
  }
  const int64_t j = i - quants_end;
  const int meta = split.meta_bytes();
  const int64_t k = j % meta;
  return j / meta * split.block_bytes + (k < split.quants_offset ? k : k + split.quants_bytes);
}

// Offsets of block b's quants and meta in a repacked row of nb blocks.
LLMW_HOST_DEVICE int64_t QuantsOffset(BlockSplit split, int64_t b) {
  return b * split.quants_bytes;
}
LLMW_HOST_DEVICE int64_t MetaOffset(BlockSplit split, int64_t nb, int64_t b) {
  return nb * split.quants_bytes + b * split.meta_bytes();
}

// dst = the repacked form of the GGUF row src of nb blocks of `type` (a block format).
inline void RepackRow(DType type, int64_t nb, const uint8_t* src, uint8_t* dst) {
  const BlockSplit split = SplitOf(type);
  const int64_t bytes = nb * split.block_bytes;
  for (int64_t i = 0; i < bytes; ++i) dst[i] = src[RepackedSourceOffset(split, nb, i)];
}

// dst = the GGUF row of the repacked row src: RepackRow's inverse.
inline void UnpackRow(DType type, int64_t nb, const uint8_t* src, uint8_t* dst) {
  const BlockSplit split = SplitOf(type);
  const int64_t bytes = nb * split.block_bytes;
  for (int64_t i = 0; i < bytes; ++i) dst[RepackedSourceOffset(split, nb, i)] = src[i];
}

}  // namespace llmw::cuda_blocks
