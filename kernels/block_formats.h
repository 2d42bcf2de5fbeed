// GGUF block-quantized formats: the block layouts and the scalar reference (de)quantizers every
// optimized kernel is tested against.
//
// Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 blocks hold 32 consecutive elements of a row; the K-quants
// (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) hold 256 in a super-block split into sub-blocks of 16 or 32 that
// each have a small integer scale (and minimum) relative to the super-block's fp16 `d` (and
// `dmin`). Scales `d` and minimums `m` are fp16 bits. Multi-byte fields that would break the
// packed size (Q5's 32-bit `qh`) are stored as bytes and read little-endian.
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

inline constexpr int kSuperBlockElems = 256;

// Element e (0..255) of the super-block: in half h = e / 128, r = e % 128, the 2-bit code is bits
// 2 * (r / 32) of qs[32 * h + r % 32]. Sub-block s = e / 16 has scales[s] = scale | min << 4
// (4 bits each); value d * scale * q - dmin * min.
struct BlockQ2_K {
  uint8_t scales[16];
  uint8_t qs[64];
  uint16_t d;
  uint16_t dmin;
};

// Low two bits of element e as Q2_K's qs; bit e / 32 of hmask[e % 32] set means q = low bits,
// clear means q = low bits - 4 (so q is in -4..3). Sub-block s = e / 16 has a 6-bit scale stored
// with an offset of 32 (see Q3KScale); value d * (scale - 32) * q.
struct BlockQ3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];
  uint16_t d;
};

// Sub-block j = e / 32 (eight of them) has a 6-bit scale and min packed in `scales` (see
// ScaleMinK4); element e's 4-bit code is nibble j % 2 of qs[32 * (j / 2) + e % 32]: each 64
// elements take 32 low nibbles, then the 32 high nibbles of the same bytes.
// Value d * scale * q - dmin * min.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};

// Q4_K plus a fifth bit: bit e / 32 of qh[e % 32].
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};

// In half h = e / 128, r = e % 128: low four bits are nibble r / 64 of ql[64 * h + r % 64], high
// two bits are bits 2 * (r / 32) of qh[32 * h + r % 32]; q = that six-bit code - 32.
// Sub-block s = e / 16 has the int8 scale scales[s]; value d * scale * q.
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block. For j < 4 they are the
// low six bits of scales[j] and scales[j + 4]; for j >= 4 their low four bits are the low and
// high nibble of scales[j + 4] and their top two bits the top two bits of scales[j - 4] and
// scales[j].
inline void ScaleMinK4(const uint8_t scales[12], int j, int* scale, int* min) {
  if (j < 4) {
    *scale = scales[j] & 63;
    *min = scales[j + 4] & 63;
  } else {
    *scale = (scales[j + 4] & 0x0f) | (scales[j - 4] >> 6) << 4;
    *min = (scales[j + 4] >> 4) | (scales[j] >> 6) << 4;
  }
}

// The signed scale (-32..31) of sub-block s (0..15) of a Q3_K block: the low four bits are the
// low (s < 8) or high (s >= 8) nibble of scales[s % 8], the top two bits are bits 2 * (s / 4) of
// scales[8 + s % 4]; the stored six-bit value carries an offset of 32.
inline int Q3KScale(const uint8_t scales[12], int s) {
  const int low = (s < 8 ? scales[s] : scales[s - 8] >> 4) & 0x0f;
  const int high = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
  return (low | high << 4) - 32;
}

// True for the 256-element K-quant types DequantizeRow handles (Q2_K .. Q6_K).
bool IsKQuant(DType type);
// The u32 of high bits of a Q5 block.
inline uint32_t LoadQh(const uint8_t qh[4]) {
  return static_cast<uint32_t>(qh[0]) | static_cast<uint32_t>(qh[1]) << 8 |
         static_cast<uint32_t>(qh[2]) << 16 | static_cast<uint32_t>(qh[3]) << 24;
}

// True for the types DequantizeRow and QuantizeRowReference handle: F32, F16, BF16, Q4_0, Q4_1,
// Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (not Q8_K). Loaders check this once and report
// unsupported types as an error; the row functions below treat an unsupported type as a programming
// error and abort.
bool SupportsDequantize(DType type);

// Decodes `n` elements (a multiple of the type's block size) starting at `src` into `dst`.
void DequantizeRow(DType type, const void* src, float* dst, int64_t n);

// Encodes `n` elements (a multiple of the block size) with round-to-nearest per block:
//   Q8_0: d = max|x| / 127, q = round(x / d)
//   Q4_0 / Q5_0: d = x_absmax_signed / -8 (-16), q = clamp(round(x / d) + 8 (16))
//   Q4_1 / Q5_1: m = min, d = (max - min) / 15 (31), q = clamp(round((x - m) / d))
// F32 copies, F16 and BF16 round to nearest even.
// K-quants (simple, not the optimizing search llama.cpp's quantizer runs): each sub-block gets
// the real scale (and min) that spans its values, then the super-block d (dmin) is the largest
// of them over the integer scale range, the integer scales are rounded, and each element is
// rounded to the nearest code under its sub-block's final scale:
//   Q2_K / Q4_K / Q5_K: min = -min(0, lo), scale = (hi + min) / (3, 15, 31);
//     d = max scale / (15, 63, 63), dmin = max min / (15, 63, 63)
//   Q3_K / Q6_K: scale = amax / (3, 31), d = max scale / (31, 127), q in -4..3 / -32..31
void QuantizeRowReference(DType type, const float* src, void* dst, int64_t n);

}  // namespace llmw
