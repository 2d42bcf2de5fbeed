// The block decoding of the CUDA kernels (kernels/cuda/block_formats.cuh), run as plain C++ on
// the host over rows in the kernels' layout (repacked_layout.h): every chunk's weights equal
// DequantizeRow of the original row bit for bit, and chunk dot products plus
// the block chain, fed with the CPU's own quantized activations, give cpu::Matmul's results bit
// for bit. The GPU kernels run this same code; tests/gpu checks them on a device.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/block_formats.h"
#include "kernels/cpu/kquant/kquant_matmul.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/matmul_internal.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cuda/block_formats.cuh"
#include "tests/unit/kernels/block_weights_test_util.h"
#include "tests/unit/kernels/matmul_test_util.h"
#include "tests/unit/kernels/repacked_weights_test_util.h"

namespace llmw {
namespace {

namespace cb = cuda_blocks;
using testing_util::BlockWeights;

const DType kBlockFormats[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                               DType::kQ8_0, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K,
                               DType::kQ5_K, DType::kQ6_K};

std::string Name(DType t) { return std::string(DTypeName(t)); }

template <DType T>
struct ExpectValuesMatch {
  static void Run(const Tensor& w, int* mismatches) {
    const int64_t in = w.row_elems(), nb = in / cb::Format<T>::kElems;
    const testing_util::RepackedCopy repacked(w);
    std::vector<float> want(static_cast<size_t>(in));
    for (int64_t o = 0; o < w.dim(0); ++o) {
      DequantizeRow(T, w.row(o), want.data(), in);
      for (int64_t c = 0; c < in / 32; ++c) {
        cb::Chunk chunk;
        cb::DecodeChunk<T>(repacked.tensor.row(o), nb, c, &chunk);
        for (int i = 0; i < 32; ++i) {
          const float got = cb::ChunkValue<T>(chunk, i), expected = want[c * 32 + i];
          if (std::memcmp(&got, &expected, sizeof(got)) != 0 && (*mismatches)++ < 5) {
            ADD_FAILURE() << Name(T) << " row " << o << " element " << c * 32 + i << ": " << got
                          << " != " << expected;
          }
        }
      }
    }
  }
};

TEST(CudaBlockDecodeTest, ValuesEqualDequantizeRow) {
  for (DType t : kBlockFormats) {
    for (bool raw : {false, true}) {
      const BlockWeights w(t, 7, 768, 11, raw);
      int mismatches = 0;
      ASSERT_TRUE(cb::ForBlockFormat<ExpectValuesMatch>(t, w.tensor, &mismatches));
      EXPECT_EQ(mismatches, 0) << Name(t) << (raw ? " raw" : "");
    }
  }
}

// The activation codes of one row as the kernels read them: words of four codes.
void Words(const int8_t* codes, uint32_t out[8]) { std::memcpy(out, codes, 32); }

// y = x · Wᵀ the way the mat-vec kernel adds it up, from the CPU's quantized activations.
template <DType T>
struct EmulateMatVec {
  static void Run(const Tensor& w, const std::vector<float>& x, int64_t n, std::vector<float>* y) {
    using F = cb::Format<T>;
    const int64_t in = w.row_elems(), out = w.dim(0), nb = in / F::kElems;
    const testing_util::RepackedCopy repacked(w);
    std::vector<int8_t> q(static_cast<size_t>(in));
    std::vector<float> d(static_cast<size_t>(in / 32)), s(d.size());
    std::vector<int16_t> bsums(static_cast<size_t>(in / 16));
    std::vector<cpu::BlockQ8K> q8k(static_cast<size_t>(in / 256));
    for (int64_t c = 0; c < n; ++c) {
      const float* xc = x.data() + c * in;
      if constexpr (F::kKQuant) {
        cpu::QuantizeRowQ8K(xc, in, q8k.data());
        for (int64_t b = 0; b < nb; ++b) {
          std::memcpy(q.data() + b * 256, q8k[b].qs, 256);
          std::memcpy(bsums.data() + b * 16, q8k[b].bsums, 32);
          d[b] = q8k[b].d;
        }
      } else {
        cpu::matmul_internal::ScalarKernels().quantize(xc, in, 0, q.data(), d.data(), s.data(),
                                                       nullptr);
      }
      for (int64_t o = 0; o < out; ++o) {
        float acc = 0.0f;
        for (int64_t b = 0; b < nb; ++b) {
          cb::ChunkSums sums{0, 0};
          cb::Chunk chunk;
          for (int p = 0; p < F::kChunks; ++p) {
            const int64_t chunk_index = b * F::kChunks + p;
            cb::DecodeChunk<T>(repacked.tensor.row(o), nb, chunk_index, &chunk);
            uint32_t words[8];
            Words(q.data() + chunk_index * 32, words);
            const cb::ChunkSums part =
                cb::ChunkDot<T>(chunk, words, bsums.data() + 2 * chunk_index);
            sums.s += part.s;
            sums.m += part.m;
          }
          acc = cb::AccumulateBlock<T>(acc, sums, chunk.d, chunk.m, d[b], F::kKQuant ? 0.0f : s[b]);
        }
        (*y)[c * out + o] = acc;
      }
    }
  }
};

TEST(CudaBlockDecodeTest, DotProductsEqualCpuMatmul) {
  constexpr int64_t kOut = 9, kIn = 1024, kN = 3;
  cpu::ThreadPool pool(1);
  cpu::MatmulScratch scratch;
  const std::vector<float> x = cpu::testing_util::RandomActivations(kN, kIn, 5);
  for (DType t : kBlockFormats) {
    for (bool raw : {false, true}) {
      const BlockWeights w(t, kOut, kIn, 17, raw);
      std::vector<float> want(kN * kOut), got(kN * kOut);
      cpu::Matmul(w.tensor, x.data(), kN, want.data(), pool, scratch);
      ASSERT_TRUE(cb::ForBlockFormat<EmulateMatVec>(t, w.tensor, x, kN, &got));
      int mismatches = 0;
      for (int64_t i = 0; i < kN * kOut; ++i) {
        if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0 && mismatches++ < 5) {
          ADD_FAILURE() << Name(t) << (raw ? " raw" : "") << " y[" << i / kOut << "][" << i % kOut
                        << "] = " << got[i] << ", cpu::Matmul " << want[i];
        }
      }
      EXPECT_EQ(mismatches, 0) << Name(t) << (raw ? " raw" : "");
    }
  }
}

TEST(CudaBlockDecodeTest, OnlyBlockFormatsDispatch) {
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_K}) {
    int mismatches = 0;
    const BlockWeights w(DType::kQ4_0, 1, 32, 1);
    EXPECT_FALSE(cb::ForBlockFormat<ExpectValuesMatch>(t, w.tensor, &mismatches)) << Name(t);
  }
}

}  // namespace
}  // namespace llmw
