// Scalar reference dequantizers and quantizers of the block formats.
#include "kernels/block_formats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

#include "kernels/fp16.h"

namespace llmw {
namespace {

[[noreturn]] void DieUnsupported(const char* what, DType type) {
  std::fprintf(stderr, "llmw: %s does not support dtype %s\n", what,
               std::string(DTypeName(type)).c_str());
  std::abort();
}

int Clamp(float v, int lo, int hi) { return std::clamp(static_cast<int>(std::round(v)), lo, hi); }

// Element j of a 4-bit block: low nibble of qs[j] for j < 16, high nibble of qs[j - 16] after.
int Nibble(const uint8_t* qs, int j) { return j < 16 ? qs[j] & 0x0f : qs[j - 16] >> 4; }

void SetNibble(uint8_t* qs, int j, int q) {
  if (j < 16) {
    qs[j] = static_cast<uint8_t>((qs[j] & 0xf0) | q);
  } else {
    qs[j - 16] = static_cast<uint8_t>((qs[j - 16] & 0x0f) | (q << 4));
  }
}

void StoreQh(uint32_t qh, uint8_t out[4]) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(qh >> (8 * i));
}

template <typename Block>
void DequantizeBlocks(const void* src, float* dst, int64_t n) {
  const Block* blocks = static_cast<const Block*>(src);
  for (int64_t b = 0; b < n / kBlockElems; ++b) {
    const Block& blk = blocks[b];
    float* out = dst + b * kBlockElems;
    const float d = Fp16ToFp32(blk.d);
    if constexpr (std::is_same_v<Block, BlockQ4_0>) {
      for (int j = 0; j < kBlockElems; ++j) out[j] = static_cast<float>(Nibble(blk.qs, j) - 8) * d;
    } else if constexpr (std::is_same_v<Block, BlockQ4_1>) {
      const float m = Fp16ToFp32(blk.m);
      for (int j = 0; j < kBlockElems; ++j) out[j] = static_cast<float>(Nibble(blk.qs, j)) * d + m;
    } else if constexpr (std::is_same_v<Block, BlockQ5_0>) {
      const uint32_t qh = LoadQh(blk.qh);
      for (int j = 0; j < kBlockElems; ++j) {
        const int q = Nibble(blk.qs, j) | static_cast<int>((qh >> j) & 1u) << 4;
        out[j] = static_cast<float>(q - 16) * d;
      }
    } else if constexpr (std::is_same_v<Block, BlockQ5_1>) {
      const float m = Fp16ToFp32(blk.m);
      const uint32_t qh = LoadQh(blk.qh);
      for (int j = 0; j < kBlockElems; ++j) {
        const int q = Nibble(blk.qs, j) | static_cast<int>((qh >> j) & 1u) << 4;
        out[j] = static_cast<float>(q) * d + m;
      }
    } else {
      static_assert(std::is_same_v<Block, BlockQ8_0>);
      for (int j = 0; j < kBlockElems; ++j) out[j] = static_cast<float>(blk.qs[j]) * d;
    }
  }
}

// Q4_0 / Q5_0: the element of largest magnitude maps to q = 0 (value -levels/2 * d).
template <typename Block, int kLevels>
void QuantizeSymmetric(const float* x, Block* blk) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kBlockElems; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / -static_cast<float>(kLevels / 2);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  blk->d = Fp32ToFp16(d);
  std::memset(blk->qs, 0, sizeof(blk->qs));
  uint32_t qh = 0;
  for (int j = 0; j < kBlockElems; ++j) {
    const int q = Clamp(x[j] * id + static_cast<float>(kLevels / 2), 0, kLevels - 1);
    SetNibble(blk->qs, j, q & 0x0f);
    qh |= static_cast<uint32_t>(q >> 4) << j;
  }
  if constexpr (kLevels == 32) StoreQh(qh, blk->qh);
}

// Q4_1 / Q5_1: the block minimum maps to q = 0, the maximum to q = levels - 1.
template <typename Block, int kLevels>
void QuantizeAffine(const float* x, Block* blk) {
  float min = x[0], max = x[0];
  for (int j = 1; j < kBlockElems; ++j) {
    min = std::min(min, x[j]);
    max = std::max(max, x[j]);
  }
  const float d = (max - min) / static_cast<float>(kLevels - 1);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  blk->d = Fp32ToFp16(d);
  blk->m = Fp32ToFp16(min);
  std::memset(blk->qs, 0, sizeof(blk->qs));
  uint32_t qh = 0;
  for (int j = 0; j < kBlockElems; ++j) {
    const int q = Clamp((x[j] - min) * id, 0, kLevels - 1);
    SetNibble(blk->qs, j, q & 0x0f);
    qh |= static_cast<uint32_t>(q >> 4) << j;
  }
  if constexpr (kLevels == 32) StoreQh(qh, blk->qh);
}

void QuantizeQ8_0(const float* x, BlockQ8_0* blk) {
  float amax = 0.0f;
  for (int j = 0; j < kBlockElems; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  blk->d = Fp32ToFp16(d);
  for (int j = 0; j < kBlockElems; ++j)
    blk->qs[j] = static_cast<int8_t>(Clamp(x[j] * id, -127, 127));
}

template <typename Block, typename Fn>
void QuantizeBlocks(const float* src, void* dst, int64_t n, Fn fn) {
  Block* blocks = static_cast<Block*>(dst);
  for (int64_t b = 0; b < n / kBlockElems; ++b) fn(src + b * kBlockElems, &blocks[b]);
}

// The K-quant dequantizers follow the float operations of the GGUF reference exactly: the
// sub-block factors d * scale and dmin * min are rounded to f32 first, then each element is
// factor * q (- min factor), with no fused multiply-add.
// The loops take all elements of a byte at once with fixed shifts so that they vectorize; which
// element each bit field holds is described in block_formats.h.
void DequantizeQ2_K(const BlockQ2_K& blk, float* out) {
  const float d = Fp16ToFp32(blk.d), dmin = Fp16ToFp32(blk.dmin);
  for (int h = 0; h < 2; ++h) {
    const uint8_t* qs = blk.qs + 32 * h;
    float* o = out + 128 * h;
    for (int g = 0; g < 2; ++g) {  // elements l = 16 g .. 16 g + 15 of each 32: sub-block 2 k + g
      float dl[4], ml[4];
      for (int k = 0; k < 4; ++k) {
        const int sc = blk.scales[8 * h + 2 * k + g];
        dl[k] = d * static_cast<float>(sc & 0x0f);
        ml[k] = dmin * static_cast<float>(sc >> 4);
      }
      for (int l = 16 * g; l < 16 * g + 16; ++l) {
        const int b = qs[l];
        o[l] = dl[0] * static_cast<float>(b & 3) - ml[0];
        o[l + 32] = dl[1] * static_cast<float>((b >> 2) & 3) - ml[1];
        o[l + 64] = dl[2] * static_cast<float>((b >> 4) & 3) - ml[2];
        o[l + 96] = dl[3] * static_cast<float>(b >> 6) - ml[3];
      }
    }
  }
}

void DequantizeQ3_K(const BlockQ3_K& blk, float* out) {
  const float d = Fp16ToFp32(blk.d);
  for (int h = 0; h < 2; ++h) {
    const uint8_t* qs = blk.qs + 32 * h;
    float* o = out + 128 * h;
    for (int g = 0; g < 2; ++g) {
      float dl[4];
      for (int k = 0; k < 4; ++k) {
        dl[k] = d * static_cast<float>(Q3KScale(blk.scales, 8 * h + 2 * k + g));
      }
      for (int l = 16 * g; l < 16 * g + 16; ++l) {
        const int b = qs[l];
        const int m = ~blk.hmask[l] >> (4 * h);  // bit k set: element 128 h + 32 k + l gets -4
        o[l] = dl[0] * static_cast<float>((b & 3) - (m & 1) * 4);
        o[l + 32] = dl[1] * static_cast<float>(((b >> 2) & 3) - ((m >> 1) & 1) * 4);
        o[l + 64] = dl[2] * static_cast<float>(((b >> 4) & 3) - ((m >> 2) & 1) * 4);
        o[l + 96] = dl[3] * static_cast<float>((b >> 6) - ((m >> 3) & 1) * 4);
      }
    }
  }
}

template <typename Block>
void DequantizeQ45_K(const Block& blk, float* out) {
  const float d = Fp16ToFp32(blk.d), dmin = Fp16ToFp32(blk.dmin);
  for (int c = 0; c < 4; ++c) {  // 64 elements: sub-blocks 2c (low nibbles), 2c + 1 (high)
    int sc0, m0, sc1, m1;
    ScaleMinK4(blk.scales, 2 * c, &sc0, &m0);
    ScaleMinK4(blk.scales, 2 * c + 1, &sc1, &m1);
    const float d0 = d * static_cast<float>(sc0), dm0 = dmin * static_cast<float>(m0);
    const float d1 = d * static_cast<float>(sc1), dm1 = dmin * static_cast<float>(m1);
    const uint8_t* qs = blk.qs + 32 * c;
    float* o = out + 64 * c;
    for (int l = 0; l < 32; ++l) {
      int lo = qs[l] & 0x0f, hi = qs[l] >> 4;
      if constexpr (std::is_same_v<Block, BlockQ5_K>) {
        lo |= ((blk.qh[l] >> (2 * c)) & 1) << 4;
        hi |= ((blk.qh[l] >> (2 * c + 1)) & 1) << 4;
      }
      o[l] = d0 * static_cast<float>(lo) - dm0;
      o[32 + l] = d1 * static_cast<float>(hi) - dm1;
    }
  }
}

void DequantizeQ6_K(const BlockQ6_K& blk, float* out) {
  const float d = Fp16ToFp32(blk.d);
  float dl[16];
  for (int s = 0; s < 16; ++s) dl[s] = d * static_cast<float>(blk.scales[s]);
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = blk.ql + 64 * h;
    const uint8_t* qh = blk.qh + 32 * h;
    float* o = out + 128 * h;
    for (int g = 0; g < 2; ++g) {  // elements l = 16 g .. 16 g + 15 of each 32
      const float s0 = dl[8 * h + g], s1 = dl[8 * h + 2 + g];
      const float s2 = dl[8 * h + 4 + g], s3 = dl[8 * h + 6 + g];
      for (int l = 16 * g; l < 16 * g + 16; ++l) {
        const int q0 = ((ql[l] & 0x0f) | (qh[l] & 3) << 4) - 32;
        const int q1 = ((ql[l + 32] & 0x0f) | ((qh[l] >> 2) & 3) << 4) - 32;
        const int q2 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
        const int q3 = ((ql[l + 32] >> 4) | (qh[l] >> 6) << 4) - 32;
        o[l] = s0 * static_cast<float>(q0);
        o[l + 32] = s1 * static_cast<float>(q1);
        o[l + 64] = s2 * static_cast<float>(q2);
        o[l + 96] = s3 * static_cast<float>(q3);
      }
    }
  }
}

template <typename Block, typename Fn>
void DequantizeSuperBlocks(const void* src, float* dst, int64_t n, Fn fn) {
  const Block* blocks = static_cast<const Block*>(src);
  for (int64_t b = 0; b < n / kSuperBlockElems; ++b) fn(blocks[b], dst + b * kSuperBlockElems);
}

// Rounds a non-negative real scale to an integer step of `unit` (the fp16-rounded super-block
// factor), clamped to [0, max].
int IntScale(float scale, float unit, int max) {
  return unit > 0.0f ? Clamp(scale / unit, 0, max) : 0;
}

// Q2_K / Q4_K / Q5_K: sub-blocks of kSub elements, codes 0..kQMax, integer scales 0..kScaleMax.
// Writes d, dmin, the integer scales and mins and the codes q[256]; the caller packs them.
template <int kSub, int kQMax, int kScaleMax>
void QuantizeAffineK(const float* x, uint16_t* d, uint16_t* dmin, int* scales, int* mins,
                     uint8_t* q) {
  constexpr int kSubs = kSuperBlockElems / kSub;
  float scale[kSubs], min[kSubs];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int s = 0; s < kSubs; ++s) {
    float lo = 0.0f, hi = 0.0f;
    for (int i = 0; i < kSub; ++i) {
      lo = std::min(lo, x[s * kSub + i]);
      hi = std::max(hi, x[s * kSub + i]);
    }
    min[s] = -lo;
    scale[s] = (hi - lo) / static_cast<float>(kQMax);
    max_scale = std::max(max_scale, scale[s]);
    max_min = std::max(max_min, min[s]);
  }
  *d = Fp32ToFp16(max_scale / static_cast<float>(kScaleMax));
  *dmin = Fp32ToFp16(max_min / static_cast<float>(kScaleMax));
  const float df = Fp16ToFp32(*d), dminf = Fp16ToFp32(*dmin);
  for (int s = 0; s < kSubs; ++s) {
    scales[s] = IntScale(scale[s], df, kScaleMax);
    mins[s] = IntScale(min[s], dminf, kScaleMax);
    const float d1 = df * static_cast<float>(scales[s]);
    const float m1 = dminf * static_cast<float>(mins[s]);
    for (int i = 0; i < kSub; ++i) {
      const int e = s * kSub + i;
      q[e] = static_cast<uint8_t>(d1 > 0.0f ? Clamp((x[e] + m1) / d1, 0, kQMax) : 0);
    }
  }
}

// Q3_K / Q6_K: sub-blocks of 16, codes -kQPos - 1..kQPos, integer scales 0..kScalePos.
template <int kQPos, int kScalePos>
void QuantizeSymmetricK(const float* x, uint16_t* d, int* scales, int* q) {
  float scale[16];
  float max_scale = 0.0f;
  for (int s = 0; s < 16; ++s) {
    float amax = 0.0f;
    for (int i = 0; i < 16; ++i) amax = std::max(amax, std::fabs(x[16 * s + i]));
    scale[s] = amax / static_cast<float>(kQPos);
    max_scale = std::max(max_scale, scale[s]);
  }
  *d = Fp32ToFp16(max_scale / static_cast<float>(kScalePos));
  const float df = Fp16ToFp32(*d);
  for (int s = 0; s < 16; ++s) {
    scales[s] = IntScale(scale[s], df, kScalePos);
    const float d1 = df * static_cast<float>(scales[s]);
    for (int i = 0; i < 16; ++i) {
      const int e = 16 * s + i;
      q[e] = d1 > 0.0f ? Clamp(x[e] / d1, -kQPos - 1, kQPos) : 0;
    }
  }
}

// Inverse of ScaleMinK4.
void PackScaleMinK4(const int scales[8], const int mins[8], uint8_t out[12]) {
  for (int j = 0; j < 4; ++j) {
    out[j] = static_cast<uint8_t>(scales[j] | (scales[j + 4] >> 4) << 6);
    out[j + 4] = static_cast<uint8_t>(mins[j] | (mins[j + 4] >> 4) << 6);
    out[j + 8] = static_cast<uint8_t>((scales[j + 4] & 0x0f) | (mins[j + 4] & 0x0f) << 4);
  }
}

void QuantizeQ2_K(const float* x, BlockQ2_K* blk) {
  int scales[16], mins[16];
  uint8_t q[256];
  QuantizeAffineK<16, 3, 15>(x, &blk->d, &blk->dmin, scales, mins, q);
  for (int s = 0; s < 16; ++s) blk->scales[s] = static_cast<uint8_t>(scales[s] | mins[s] << 4);
  std::memset(blk->qs, 0, sizeof(blk->qs));
  for (int e = 0; e < 256; ++e) {
    const int r = e % 128;
    blk->qs[32 * (e / 128) + r % 32] |= static_cast<uint8_t>(q[e] << (2 * (r / 32)));
  }
}

void QuantizeQ3_K(const float* x, BlockQ3_K* blk) {
  int scales[16], q[256];
  QuantizeSymmetricK<3, 31>(x, &blk->d, scales, q);
  std::memset(blk->scales, 0, sizeof(blk->scales));
  for (int s = 0; s < 16; ++s) {
    const int v = scales[s] + 32;
    blk->scales[s % 8] |= static_cast<uint8_t>((v & 0x0f) << (s < 8 ? 0 : 4));
    blk->scales[8 + s % 4] |= static_cast<uint8_t>((v >> 4) << (2 * (s / 4)));
  }
  std::memset(blk->qs, 0, sizeof(blk->qs));
  std::memset(blk->hmask, 0, sizeof(blk->hmask));
  for (int e = 0; e < 256; ++e) {
    const int code = q[e] + 4;  // 0..7: bit 2 set means "no -4"
    const int r = e % 128;
    blk->qs[32 * (e / 128) + r % 32] |= static_cast<uint8_t>((code & 3) << (2 * (r / 32)));
    blk->hmask[e % 32] |= static_cast<uint8_t>((code >> 2) << (e / 32));
  }
}

template <typename Block>
void QuantizeQ45_K(const float* x, Block* blk) {
  constexpr bool kFive = std::is_same_v<Block, BlockQ5_K>;
  int scales[8], mins[8];
  uint8_t q[256];
  QuantizeAffineK<32, kFive ? 31 : 15, 63>(x, &blk->d, &blk->dmin, scales, mins, q);
  PackScaleMinK4(scales, mins, blk->scales);
  std::memset(blk->qs, 0, sizeof(blk->qs));
  if constexpr (kFive) std::memset(blk->qh, 0, sizeof(blk->qh));
  for (int e = 0; e < 256; ++e) {
    const int j = e / 32, l = e % 32;
    blk->qs[32 * (j / 2) + l] |= static_cast<uint8_t>((q[e] & 0x0f) << (4 * (j % 2)));
    if constexpr (kFive) blk->qh[l] |= static_cast<uint8_t>((q[e] >> 4) << j);
  }
}

void QuantizeQ6_K(const float* x, BlockQ6_K* blk) {
  int scales[16], q[256];
  QuantizeSymmetricK<31, 127>(x, &blk->d, scales, q);
  for (int s = 0; s < 16; ++s) blk->scales[s] = static_cast<int8_t>(scales[s]);
  std::memset(blk->ql, 0, sizeof(blk->ql));
  std::memset(blk->qh, 0, sizeof(blk->qh));
  for (int e = 0; e < 256; ++e) {
    const int code = q[e] + 32, h = e / 128, r = e % 128;
    blk->ql[64 * h + r % 64] |= static_cast<uint8_t>((code & 0x0f) << (4 * (r / 64)));
    blk->qh[32 * h + r % 32] |= static_cast<uint8_t>((code >> 4) << (2 * (r / 32)));
  }
}

template <typename Block, typename Fn>
void QuantizeSuperBlocks(const float* src, void* dst, int64_t n, Fn fn) {
  Block* blocks = static_cast<Block*>(dst);
  for (int64_t b = 0; b < n / kSuperBlockElems; ++b) fn(src + b * kSuperBlockElems, &blocks[b]);
}

}  // namespace

bool IsKQuant(DType type) {
  switch (type) {
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}

bool SupportsDequantize(DType type) {
  switch (type) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ8_0:
      return true;
    default:
      return IsKQuant(type);
  }
}

void DequantizeRow(DType type, const void* src, float* dst, int64_t n) {
  switch (type) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::kF16: {
      const uint16_t* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = Fp16ToFp32(h[i]);
      return;
    }
    case DType::kBF16: {
      const uint16_t* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToFp32(h[i]);
      return;
    }
    case DType::kQ4_0:
      return DequantizeBlocks<BlockQ4_0>(src, dst, n);
    case DType::kQ4_1:
      return DequantizeBlocks<BlockQ4_1>(src, dst, n);
    case DType::kQ5_0:
      return DequantizeBlocks<BlockQ5_0>(src, dst, n);
    case DType::kQ5_1:
      return DequantizeBlocks<BlockQ5_1>(src, dst, n);
    case DType::kQ8_0:
      return DequantizeBlocks<BlockQ8_0>(src, dst, n);
    case DType::kQ2_K:
      return DequantizeSuperBlocks<BlockQ2_K>(src, dst, n, DequantizeQ2_K);
    case DType::kQ3_K:
      return DequantizeSuperBlocks<BlockQ3_K>(src, dst, n, DequantizeQ3_K);
    case DType::kQ4_K:
      return DequantizeSuperBlocks<BlockQ4_K>(src, dst, n, DequantizeQ45_K<BlockQ4_K>);
    case DType::kQ5_K:
      return DequantizeSuperBlocks<BlockQ5_K>(src, dst, n, DequantizeQ45_K<BlockQ5_K>);
    case DType::kQ6_K:
      return DequantizeSuperBlocks<BlockQ6_K>(src, dst, n, DequantizeQ6_K);
    default:
      DieUnsupported("DequantizeRow", type);
  }
}

void QuantizeRowReference(DType type, const float* src, void* dst, int64_t n) {
  switch (type) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::kF16: {
      uint16_t* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = Fp32ToFp16(src[i]);
      return;
    }
    case DType::kBF16: {
      uint16_t* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = Fp32ToBf16(src[i]);
      return;
    }
    case DType::kQ4_0:
      return QuantizeBlocks<BlockQ4_0>(src, dst, n, QuantizeSymmetric<BlockQ4_0, 16>);
    case DType::kQ4_1:
      return QuantizeBlocks<BlockQ4_1>(src, dst, n, QuantizeAffine<BlockQ4_1, 16>);
    case DType::kQ5_0:
      return QuantizeBlocks<BlockQ5_0>(src, dst, n, QuantizeSymmetric<BlockQ5_0, 32>);
    case DType::kQ5_1:
      return QuantizeBlocks<BlockQ5_1>(src, dst, n, QuantizeAffine<BlockQ5_1, 32>);
    case DType::kQ8_0:
      return QuantizeBlocks<BlockQ8_0>(src, dst, n, QuantizeQ8_0);
    case DType::kQ2_K:
      return QuantizeSuperBlocks<BlockQ2_K>(src, dst, n, QuantizeQ2_K);
    case DType::kQ3_K:
      return QuantizeSuperBlocks<BlockQ3_K>(src, dst, n, QuantizeQ3_K);
    case DType::kQ4_K:
      return QuantizeSuperBlocks<BlockQ4_K>(src, dst, n, QuantizeQ45_K<BlockQ4_K>);
    case DType::kQ5_K:
      return QuantizeSuperBlocks<BlockQ5_K>(src, dst, n, QuantizeQ45_K<BlockQ5_K>);
    case DType::kQ6_K:
      return QuantizeSuperBlocks<BlockQ6_K>(src, dst, n, QuantizeQ6_K);
    default:
      DieUnsupported("QuantizeRowReference", type);
  }
}

}  // namespace llmw
