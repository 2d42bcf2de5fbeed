// Decoding of the GGUF block formats (layouts in kernels/block_formats.h) for the CUDA kernels,
// from the device layout of their rows (repacked_layout.h: each row's quants, then its scales).
//
// A row is read 32 weights at a time as a Chunk: the integer weights packed four to a word, the
// integer scales and minimums of the chunk's two groups of 16 (K-quants) and the block's f32
// factors. From a Chunk a kernel takes exact integer dot products with 8-bit activations
// (ChunkDot, matvec.cu) or the f32 weights, bit for bit those of DequantizeRow (ChunkValue,
// dequantize.cu and embed.cu).
//
// Chunk c of a 32-element format is block c; chunk c of a K-quant is elements 32 (c % 8) ..
// 32 (c % 8) + 31 of super-block c / 8. The integer weight w_i is what multiplies the activation
// code in the CPU's canonical arithmetic (kernels/cpu/matmul_internal.h and
// kernels/cpu/kquant/kquant_internal.h): q - 8, q - 16 or q for Q4_0, Q5_0, Q8_0; q for Q4_1,
// Q5_1; the code u for Q2_K, Q4_K, Q5_K (the minimum goes through the activation group sums);
// the signed code u - 4 for Q3_K and u - 32 for Q6_K.
//
// Outside nvcc this is plain C++, so tests check the decoding on any machine against the scalar
// reference. Every float operation is spelled out (MulRn, AddRn, SubRn, FmaRn): none is left to
// the compiler to fuse, so results do not depend on its choices.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/block_formats.h"
#include "kernels/cuda/repacked_layout.h"
#include "kernels/dtype.h"

namespace llmw::cuda_blocks {

// ---- Exact float and integer primitives, the same on the host and the device. ----

LLMW_HOST_DEVICE float MulRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

LLMW_HOST_DEVICE float AddRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

LLMW_HOST_DEVICE float SubRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}

LLMW_HOST_DEVICE float FmaRn(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

LLMW_HOST_DEVICE float BitsToFloat(uint32_t bits) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(bits);
#else
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
#endif
}

// fp16 → f32 exactly as Fp16ToFp32 (kernels/fp16.h), NaN payloads included.
LLMW_HOST_DEVICE float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return BitsToFloat(sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0u));
  if (exp == 0) {
    const float magnitude = MulRn(static_cast<float>(mant), 0x1p-24f);  // exact
    return sign ? -magnitude : magnitude;
  }
  return BitsToFloat(sign | ((exp + 112u) << 23) | (mant << 13));
}

LLMW_HOST_DEVICE float BFloatToFloat(uint16_t h) {
  return BitsToFloat(static_cast<uint32_t>(h) << 16);
}

// f32 → bf16, round to nearest even, as Fp32ToBf16 (kernels/fp16.h).
LLMW_HOST_DEVICE uint16_t FloatToBFloat(float f) {
  uint32_t bits;
#if defined(__CUDA_ARCH__)
  bits = __float_as_uint(f);
#else
  std::memcpy(&bits, &f, sizeof(bits));
#endif
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// Sum of the four signed byte products of a and b, plus c.
LLMW_HOST_DEVICE int32_t Dp4a(int32_t a, int32_t b, int32_t c) {
#if defined(__CUDA_ARCH__)
  return __dp4a(a, b, c);
#else
  for (int i = 0; i < 4; ++i) {
    c += static_cast<int8_t>(static_cast<uint32_t>(a) >> (8 * i)) *
         static_cast<int8_t>(static_cast<uint32_t>(b) >> (8 * i));
  }
  return c;
#endif
}

// Byte i (0..3) of a word, as a signed int8.
LLMW_HOST_DEVICE int SignedByte(uint32_t word, int i) {
  return static_cast<int8_t>(static_cast<uint8_t>(word >> (8 * i)));
}

// GGUF rows are only 2-byte aligned (block sizes such as 18 and 110 bytes): fields are read as
// little-endian 16-bit halves.
LLMW_HOST_DEVICE uint16_t Load16(const uint8_t* p) {
#if defined(__CUDA_ARCH__)
  return *reinterpret_cast<const uint16_t*>(p);
#else
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
#endif
}

LLMW_HOST_DEVICE uint32_t Load32(const uint8_t* p) {
  return static_cast<uint32_t>(Load16(p)) | static_cast<uint32_t>(Load16(p + 2)) << 16;
}

// Each byte u of `codes` minus `zero`, as a signed byte. Needs u < 128 + zero, so that no byte
// carries into the next.
LLMW_HOST_DEVICE uint32_t SubtractFromBytes(uint32_t codes, uint32_t zero) {
  return (codes + (0x80u - zero) * 0x01010101u) ^ 0x80808080u;
}

// Bits 0..3 of `bits` moved to bit 4 of bytes 0..3.
LLMW_HOST_DEVICE uint32_t SpreadToBit4(uint32_t bits) {
  return ((bits & 1u) | (bits & 2u) << 7 | (bits & 4u) << 14 | (bits & 8u) << 21) << 4;
}

// ---- Formats. ----

template <typename BlockType, int kBlockElems, bool kBlockHasMin>
struct FormatTraits {
  using Block = BlockType;
  static constexpr int kElems = kBlockElems;
  static constexpr int kChunks = kBlockElems / 32;
  static constexpr bool kKQuant = kBlockElems == 256;
  // A minimum that the integer path adds through the activation sums.
  static constexpr bool kHasMin = kBlockHasMin;
};

template <DType T>
struct Format;
template <>
struct Format<DType::kQ4_0> : FormatTraits<BlockQ4_0, 32, false> {};
template <>
struct Format<DType::kQ4_1> : FormatTraits<BlockQ4_1, 32, true> {};
template <>
struct Format<DType::kQ5_0> : FormatTraits<BlockQ5_0, 32, false> {};
template <>
struct Format<DType::kQ5_1> : FormatTraits<BlockQ5_1, 32, true> {};
template <>
struct Format<DType::kQ8_0> : FormatTraits<BlockQ8_0, 32, false> {};
template <>
struct Format<DType::kQ2_K> : FormatTraits<BlockQ2_K, 256, true> {};
template <>
struct Format<DType::kQ3_K> : FormatTraits<BlockQ3_K, 256, false> {};
template <>
struct Format<DType::kQ4_K> : FormatTraits<BlockQ4_K, 256, true> {};
template <>
struct Format<DType::kQ5_K> : FormatTraits<BlockQ5_K, 256, true> {};
template <>
struct Format<DType::kQ6_K> : FormatTraits<BlockQ6_K, 256, false> {};

// 32 consecutive weights of a row.
struct Chunk {
  uint32_t w[8];     // the integer weights as signed bytes: weight 4k + j is byte j of w[k]
  int32_t scale[2];  // K-quants: the integer scale of weights 0..15 and of 16..31
  int32_t min[2];    // Q2_K, Q4_K, Q5_K: the integer minimum of the same groups
  float d;           // the block's (super-block's) scale
  float m;           // Q4_1, Q5_1: the block minimum; Q2_K, Q4_K, Q5_K: dmin
};

// The 6-bit scale and min of sub-block j of a Q4_K / Q5_K block (ScaleMinK4 of block_formats.h).
LLMW_HOST_DEVICE void ScaleMinK4(const uint8_t* scales, int j, int32_t* scale, int32_t* min) {
  if (j < 4) {
    *scale = scales[j] & 63;
    *min = scales[j + 4] & 63;
  } else {
    *scale = (scales[j + 4] & 0x0f) | (scales[j - 4] >> 6) << 4;
    *min = (scales[j + 4] >> 4) | (scales[j] >> 6) << 4;
  }
}

// The signed scale of sub-block s of a Q3_K block (Q3KScale of block_formats.h).
LLMW_HOST_DEVICE int32_t Q3KScale(const uint8_t* scales, int s) {
  const int low = (s < 8 ? scales[s] : scales[s - 8] >> 4) & 0x0f;
  const int high = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
  return (low | high << 4) - 32;
}

// Loads of a repacked row's quants (repacked_layout.h): `kAlign` is the alignment the row's start
// is known to have (16, 4 or 2 bytes). The quants a chunk reads always start at a multiple of 16
// from the row's start, so with kAlign 16 they are read with 16-byte loads.
template <int kAlign>
LLMW_HOST_DEVICE void LoadQuants16(const uint8_t* p, uint32_t w[4]) {
#if defined(__CUDA_ARCH__)
  if constexpr (kAlign >= 16) {
    const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
    w[0] = v.x;
    w[1] = v.y;
    w[2] = v.z;
    w[3] = v.w;
  } else if constexpr (kAlign >= 4) {
    for (int k = 0; k < 4; ++k) w[k] = __ldg(reinterpret_cast<const uint32_t*>(p) + k);
  } else {
    for (int k = 0; k < 4; ++k) w[k] = Load32(p + 4 * k);
  }
#else
  std::memcpy(w, p, 16);
#endif
}

template <int kAlign>
LLMW_HOST_DEVICE void LoadQuants32(const uint8_t* p, uint32_t w[8]) {
  LoadQuants16<kAlign>(p, w);
  LoadQuants16<kAlign>(p + 16, w + 4);
}

// Nibbles of a Q4/Q5 block's 16 bytes of qs: words 0..3 hold weights 0..15 (low nibbles), 4..7
// weights 16..31 (high nibbles of the same bytes).
LLMW_HOST_DEVICE void SplitNibbles(const uint32_t q[4], uint32_t w[8]) {
  for (int k = 0; k < 4; ++k) {
    w[k] = q[k] & 0x0f0f0f0fu;
    w[k + 4] = (q[k] >> 4) & 0x0f0f0f0fu;
  }
}

// Adds bit 4 of each weight from a Q5 block's 32-bit qh (bit j is weight j's).
LLMW_HOST_DEVICE void AddHighBits(uint32_t qh, uint32_t w[8]) {
  for (int k = 0; k < 8; ++k) w[k] |= SpreadToBit4((qh >> (4 * k)) & 0x0fu);
}

// Chunk c of a repacked row (repacked_layout.h) of nb blocks of T, whose start is kAlign-aligned.
template <DType T, int kAlign = 2>
LLMW_HOST_DEVICE void DecodeChunk(const uint8_t* row, int64_t nb, int64_t c, Chunk* out) {
  using F = Format<T>;
  constexpr BlockSplit split = SplitOf(T);
  static_assert(split.block_bytes == sizeof(typename F::Block));
  const int64_t b = c / F::kChunks;
  const uint8_t* quants = row + QuantsOffset(split, b);
  const uint8_t* meta = row + MetaOffset(split, nb, b);
  const int p = static_cast<int>(c % F::kChunks);  // K-quants: weights 32 p .. 32 p + 31
  out->m = 0.0f;
  out->scale[0] = out->scale[1] = 1;
  out->min[0] = out->min[1] = 0;
  if constexpr (T == DType::kQ4_0 || T == DType::kQ5_0 || T == DType::kQ4_1 || T == DType::kQ5_1) {
    // meta: d, then m (Q4_1, Q5_1), then qh (Q5_0, Q5_1).
    constexpr bool kMin = T == DType::kQ4_1 || T == DType::kQ5_1;
    uint32_t q[4];
    LoadQuants16<kAlign>(quants, q);
    SplitNibbles(q, out->w);
    out->d = HalfToFloat(Load16(meta));
    if constexpr (kMin) out->m = HalfToFloat(Load16(meta + 2));
    if constexpr (T == DType::kQ5_0 || T == DType::kQ5_1) {
      AddHighBits(Load32(meta + (kMin ? 4 : 2)), out->w);
    }
    if constexpr (!kMin) {
      for (uint32_t& w : out->w) w = SubtractFromBytes(w, T == DType::kQ4_0 ? 8 : 16);
    }
  } else if constexpr (T == DType::kQ8_0) {
    out->d = HalfToFloat(Load16(meta));
    LoadQuants32<kAlign>(quants, out->w);
  } else if constexpr (T == DType::kQ2_K || T == DType::kQ3_K) {
    // Weight e = 32 p + l of the super-block: bits 2 (p % 4) of qs[32 (p / 4) + l].
    // Quants: Q2_K scales[16] qs[64], Q3_K hmask[32] qs[64]; meta: Q2_K d dmin, Q3_K scales[12] d.
    constexpr int kQs = T == DType::kQ2_K ? 16 : 32;
    const int shift = 2 * (p % 4);
    LoadQuants32<kAlign>(quants + kQs + 32 * (p / 4), out->w);
    for (int k = 0; k < 8; ++k) out->w[k] = (out->w[k] >> shift) & 0x03030303u;
    if constexpr (T == DType::kQ2_K) {
      out->d = HalfToFloat(Load16(meta));
      out->m = HalfToFloat(Load16(meta + 2));
      for (int g = 0; g < 2; ++g) {
        out->scale[g] = quants[2 * p + g] & 0x0f;
        out->min[g] = quants[2 * p + g] >> 4;
      }
    } else {
      // Bit p of hmask[l] set: code = low bits + 4; the weight is code - 4.
      uint32_t hmask[8];
      LoadQuants32<kAlign>(quants, hmask);
      for (int k = 0; k < 8; ++k) {
        const uint32_t high = (hmask[k] >> p) & 0x01010101u;
        out->w[k] = SubtractFromBytes(out->w[k] | high << 2, 4);
      }
      for (int g = 0; g < 2; ++g) out->scale[g] = Q3KScale(meta, 2 * p + g);
      out->d = HalfToFloat(Load16(meta + 12));
    }
  } else if constexpr (T == DType::kQ4_K || T == DType::kQ5_K) {
    // Sub-block p: nibble p % 2 of qs[32 (p / 2) + l], Q5_K's bit 4 from bit p of qh[l].
    // Quants: Q4_K qs[128], Q5_K qh[32] qs[128]; meta: d dmin scales[12].
    constexpr int kQs = T == DType::kQ5_K ? 32 : 0;
    const int shift = 4 * (p % 2);
    LoadQuants32<kAlign>(quants + kQs + 32 * (p / 2), out->w);
    for (int k = 0; k < 8; ++k) out->w[k] = (out->w[k] >> shift) & 0x0f0f0f0fu;
    if constexpr (T == DType::kQ5_K) {
      uint32_t qh[8];
      LoadQuants32<kAlign>(quants, qh);
      for (int k = 0; k < 8; ++k) out->w[k] |= ((qh[k] >> p) & 0x01010101u) << 4;
    }
    ScaleMinK4(meta + 4, p, &out->scale[0], &out->min[0]);
    out->scale[1] = out->scale[0];
    out->min[1] = out->min[0];
    out->d = HalfToFloat(Load16(meta));
    out->m = HalfToFloat(Load16(meta + 2));
  } else {
    static_assert(T == DType::kQ6_K);
    // In half h = p / 4, with k = p % 4: low nibble k / 2 of ql[64 h + 32 (k % 2) + l], high
    // bits 2 k of qh[32 h + l]; the weight is that 6-bit code - 32.
    // Quants: ql[128] qh[64]; meta: scales[16] d.
    const int h = p / 4, k4 = p % 4;
    uint32_t ql[8], qh[8];
    LoadQuants32<kAlign>(quants + 64 * h + 32 * (k4 % 2), ql);
    LoadQuants32<kAlign>(quants + 128 + 32 * h, qh);
    for (int k = 0; k < 8; ++k) {
      const uint32_t low = (ql[k] >> (4 * (k4 / 2))) & 0x0f0f0f0fu;
      const uint32_t high = (qh[k] >> (2 * k4)) & 0x03030303u;
      out->w[k] = SubtractFromBytes(low | high << 4, 32);
    }
    for (int g = 0; g < 2; ++g) out->scale[g] = static_cast<int8_t>(meta[2 * p + g]);
    out->d = HalfToFloat(Load16(meta + 16));
  }
}

// Weight i (0..31) of a chunk as f32, with the operations of DequantizeRow in the same order.
template <DType T>
LLMW_HOST_DEVICE float ChunkValue(const Chunk& k, int i) {
  using F = Format<T>;
  const float w = static_cast<float>(SignedByte(k.w[i / 4], i % 4));
  if constexpr (!F::kKQuant) {
    const float v = MulRn(w, k.d);
    return F::kHasMin ? AddRn(v, k.m) : v;
  } else {
    const int g = i / 16;
    const float dl = MulRn(k.d, static_cast<float>(k.scale[g]));
    if constexpr (F::kHasMin) {
      return SubRn(MulRn(dl, w), MulRn(k.m, static_cast<float>(k.min[g])));
    } else {
      return MulRn(dl, w);
    }
  }
}

// The exact integer products of a chunk with 32 activation codes x (four to a word):
// 32-element formats: s = sum w_i x_i.
// K-quants: s = sum over the two groups g of scale_g * sum w_i x_i, and for formats with a
//   minimum m = -sum min_g * bsum_g, where bsum_g is the sum of the group's 16 codes.
struct ChunkSums {
  int32_t s;
  int32_t m;
};

template <DType T>
LLMW_HOST_DEVICE ChunkSums ChunkDot(const Chunk& k, const uint32_t x[8], const int16_t bsum[2]) {
  using F = Format<T>;
  int32_t half[2] = {0, 0};
  for (int j = 0; j < 8; ++j) {
    half[j / 4] = Dp4a(static_cast<int32_t>(k.w[j]), static_cast<int32_t>(x[j]), half[j / 4]);
  }
  if constexpr (!F::kKQuant) {
    return {half[0] + half[1], 0};
  } else {
    const int32_t s = k.scale[0] * half[0] + k.scale[1] * half[1];
    if constexpr (F::kHasMin) return {s, -(k.min[0] * bsum[0] + k.min[1] * bsum[1])};
    return {s, 0};
  }
}

// One block's step of the f32 chain that turns a row's block sums into the dot product, in the
// CPU's order (block by block, from acc = +0): `sums` are the block's (all its chunks' added),
// `d` and `m` its Chunk factors, `xd` the activation block's scale and `xs` its sum (q · d, for
// Q4_1 / Q5_1).
template <DType T>
LLMW_HOST_DEVICE float AccumulateBlock(float acc, ChunkSums sums, float d, float m, float xd,
                                       float xs) {
  using F = Format<T>;
  acc = FmaRn(static_cast<float>(sums.s), MulRn(d, xd), acc);
  if constexpr (F::kHasMin && !F::kKQuant) acc = FmaRn(m, xs, acc);
  if constexpr (F::kHasMin && F::kKQuant)
    acc = FmaRn(static_cast<float>(sums.m), MulRn(m, xd), acc);
  return acc;
}

// Runs Op<T>::Run(args...) for the block format T == type; false for any other type.
template <template <DType> class Op, typename... Args>
bool ForBlockFormat(DType type, Args&&... args) {
  switch (type) {
    case DType::kQ4_0:
      Op<DType::kQ4_0>::Run(args...);
      return true;
    case DType::kQ4_1:
      Op<DType::kQ4_1>::Run(args...);
      return true;
    case DType::kQ5_0:
      Op<DType::kQ5_0>::Run(args...);
      return true;
    case DType::kQ5_1:
      Op<DType::kQ5_1>::Run(args...);
      return true;
    case DType::kQ8_0:
      Op<DType::kQ8_0>::Run(args...);
      return true;
    case DType::kQ2_K:
      Op<DType::kQ2_K>::Run(args...);
      return true;
    case DType::kQ3_K:
      Op<DType::kQ3_K>::Run(args...);
      return true;
    case DType::kQ4_K:
      Op<DType::kQ4_K>::Run(args...);
      return true;
    case DType::kQ5_K:
      Op<DType::kQ5_K>::Run(args...);
      return true;
    case DType::kQ6_K:
      Op<DType::kQ6_K>::Run(args...);
      return true;
    default:
      return false;
  }
}

}  // namespace llmw::cuda_blocks
