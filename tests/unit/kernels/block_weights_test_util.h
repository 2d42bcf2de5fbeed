// Random weight matrices in every dtype the matmul serves, for tests of code that decodes them:
// N(0, 1) values through the reference quantizer, or random bytes with sane fp16 factors, which
// reach every code, scale and minimum of a block format. (Activations: matmul_test_util.h.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/block_formats.h"
#include "kernels/dtype.h"
#include "kernels/fp16.h"
#include "kernels/tensor.h"

namespace llmw::testing_util {

// Every weight dtype: the float types, then the block formats.
inline const std::vector<DType>& AllWeightTypes() {
  static const std::vector<DType> kTypes = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0,
                                            DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0,
                                            DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K,
                                            DType::kQ6_K};
  return kTypes;
}

inline bool IsBlockFormat(DType t) { return Traits(t).block_elems > 1; }

// Byte offsets of a block's fp16 factors (d, and m or dmin where the format has one); count 0
// for the float types.
struct Factors {
  size_t at[2];
  int count;
};

inline Factors FactorsOf(DType t) {
  switch (t) {
    case DType::kQ4_0:
      return {{offsetof(BlockQ4_0, d)}, 1};
    case DType::kQ4_1:
      return {{offsetof(BlockQ4_1, d), offsetof(BlockQ4_1, m)}, 2};
    case DType::kQ5_0:
      return {{offsetof(BlockQ5_0, d)}, 1};
    case DType::kQ5_1:
      return {{offsetof(BlockQ5_1, d), offsetof(BlockQ5_1, m)}, 2};
    case DType::kQ8_0:
      return {{offsetof(BlockQ8_0, d)}, 1};
    case DType::kQ2_K:
      return {{offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)}, 2};
    case DType::kQ3_K:
      return {{offsetof(BlockQ3_K, d)}, 1};
    case DType::kQ4_K:
      return {{offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)}, 2};
    case DType::kQ5_K:
      return {{offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)}, 2};
    case DType::kQ6_K:
      return {{offsetof(BlockQ6_K, d)}, 1};
    default:
      return {{}, 0};
  }
}

// A host weight matrix [out, in] of `type`.
struct BlockWeights {
  BlockWeights(DType type, int64_t out, int64_t in, uint32_t seed, bool raw = false)
      : bytes(static_cast<size_t>(out * RowBytes(type, in))),
        tensor(type, {out, in}, bytes.data()) {
    std::mt19937 rng(seed);
    if (raw && IsBlockFormat(type)) {
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
      const Factors factors = FactorsOf(type);
      std::uniform_real_distribution<float> dist(1e-3f, 2e-2f);
      for (size_t at = 0; at < bytes.size(); at += static_cast<size_t>(Traits(type).block_bytes)) {
        for (int f = 0; f < factors.count; ++f) {
          // Q4_1 / Q5_1 minimums are signed values; the K-quant factors are positive.
          const float sign = (f == 1 && !IsKQuant(type) && rng() % 2) ? -1.0f : 1.0f;
          const uint16_t h = Fp32ToFp16(sign * dist(rng));
          std::memcpy(bytes.data() + at + factors.at[f], &h, sizeof(h));
        }
      }
      return;
    }
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> row(static_cast<size_t>(in));
    for (int64_t o = 0; o < out; ++o) {
      for (float& v : row) v = dist(rng);
      QuantizeRowReference(type, row.data(), bytes.data() + o * RowBytes(type, in), in);
    }
  }
  BlockWeights(const BlockWeights&) = delete;
  BlockWeights& operator=(const BlockWeights&) = delete;

  // Row o as DequantizeRow gives it.
  std::vector<float> Row(int64_t o) const {
    std::vector<float> row(static_cast<size_t>(tensor.row_elems()));
    DequantizeRow(tensor.dtype(), tensor.row(o), row.data(), tensor.row_elems());
    return row;
  }

  std::vector<uint8_t> bytes;
  Tensor tensor;
};

}  // namespace llmw::testing_util
