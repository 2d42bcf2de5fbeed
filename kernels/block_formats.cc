// Scalar reference dequantizers and quantizers of the 32-element block formats.
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

}  // namespace

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
      return false;
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
    default:
      DieUnsupported("QuantizeRowReference", type);
  }
}

}  // namespace llmw
