// GGUF block-quantized formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): the block layouts and the scalar
// reference (de)quantizers every optimized kernel is tested against.
//
// A block holds 32 consecutive elements of a row. Scales `d` and minimums `m` are fp16 bits.
// Multi-byte fields that would break the packed size (Q5's 32-bit `qh`) are stored as bytes and
// read little-endian.
#pragma once

#include <cstdint>

#include "kernels/dtype.h"

namespace llmw {

inline constexpr int kBlockElems = 32;

// elem j = low nibble of qs[j], elem j + 16 = high nibble; value (q - 8) * d.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};

// Nibbles as Q4_0; value q * d + m.
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[16];
};

// Low four bits as Q4_0; bit j of the little-endian u32 `qh` is bit 4 of elem j;
// value (q - 16) * d.
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
};

// Bits as Q5_0; value q * d + m.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[16];
};

// value qs[j] * d.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);

// The u32 of high bits of a Q5 block.
inline uint32_t LoadQh(const uint8_t qh[4]) {
  return static_cast<uint32_t>(qh[0]) | static_cast<uint32_t>(qh[1]) << 8 |
         static_cast<uint32_t>(qh[2]) << 16 | static_cast<uint32_t>(qh[3]) << 24;
}

// True for the types DequantizeRow and QuantizeRowReference handle: F32, F16, BF16, Q4_0, Q4_1,
// Q5_0, Q5_1, Q8_0. Loaders check this once and report unsupported types as an error; the row
// functions below treat an unsupported type as a programming error and abort.
bool SupportsDequantize(DType type);

// Decodes `n` elements (a multiple of the type's block size) starting at `src` into `dst`.
void DequantizeRow(DType type, const void* src, float* dst, int64_t n);

// Encodes `n` elements (a multiple of the block size) with round-to-nearest per block:
//   Q8_0: d = max|x| / 127, q = round(x / d)
//   Q4_0 / Q5_0: d = x_absmax_signed / -8 (-16), q = clamp(round(x / d) + 8 (16))
//   Q4_1 / Q5_1: m = min, d = (max - min) / 15 (31), q = clamp(round((x - m) / d))
// F32 copies, F16 and BF16 round to nearest even.
void QuantizeRowReference(DType type, const float* src, void* dst, int64_t n);

}  // namespace llmw
