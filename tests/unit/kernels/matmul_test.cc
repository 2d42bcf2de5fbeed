// Matmul against MatmulReference for every weight format, shape and SIMD variant, with the
// tolerance of matmul_test_util.h, and a check that the tolerance rejects wrong kernels.
#include "kernels/cpu/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/cpu/matmul_internal.h"
#include "tests/unit/kernels/matmul_test_util.h"

namespace llmw::cpu {
namespace {

using matmul_internal::Isa;
using testing_util::HasMin;
using testing_util::IsQuantized;
using testing_util::MatmulTypes;
using testing_util::Tolerance;
using testing_util::Weights;

class MatmulIsaTest : public testing::TestWithParam<Isa> {};

TEST_P(MatmulIsaTest, MatchesReferenceWithinTolerance) {
  ThreadPool pool(3);
  MatmulScratch scratch;
  uint32_t seed = 1;
  for (DType t : MatmulTypes()) {
    std::vector<int64_t> ins = {32, 64, 576, 1536, 96};   // 96: odd block count
    if (!IsQuantized(t)) ins.insert(ins.end(), {8, 37});  // float tails
    double worst = 0.0;                                   // largest |diff| / tolerance seen
    for (int64_t in : ins) {
      for (int64_t out : {1, 3, 192, 577}) {
        const Weights w(t, out, in, ++seed);
        for (int64_t n : {1, 2, 5, 16}) {
          const std::vector<float> x = testing_util::RandomActivations(n, in, ++seed);
          std::vector<float> want(n * out), got(n * out, NAN);
          MatmulReference(w.tensor, x.data(), n, want.data());
          matmul_internal::MatmulWithIsa(GetParam(), w.tensor, x.data(), n, got.data(), pool,
                                         scratch);
          for (int64_t o = 0; o < out; ++o) {
            for (int64_t c = 0; c < n; ++c) {
              const double tol = Tolerance(w, o, x.data() + c * in, in);
              const double diff =
                  std::fabs(static_cast<double>(got[c * out + o]) - want[c * out + o]);
              worst = std::max(worst, diff / tol);
              ASSERT_LE(diff, tol)
                  << DTypeName(t) << " in " << in << " out " << out << " n " << n << " o " << o
                  << " c " << c << ": " << got[c * out + o] << " vs " << want[c * out + o];
            }
          }
        }
      }
    }
    std::printf("  %-5s worst |diff| / tolerance = %.3f\n", std::string(DTypeName(t)).c_str(),
                worst);
  }
}

// Against the reference fed the already-quantized activations, only float rounding remains, so
// this pins the integer arithmetic down far more tightly than the statistical tolerance.
TEST_P(MatmulIsaTest, MatchesReferenceOnQuantizedActivations) {
  ThreadPool pool(2);
  MatmulScratch scratch;
  uint32_t seed = 100;
  for (DType t : MatmulTypes()) {
    if (!IsQuantized(t)) continue;
    for (int64_t in : {32, 576, 1536}) {
      for (int64_t out : {3, 192}) {
        const Weights w(t, out, in, ++seed, /*mean=*/0.5f);
        for (int64_t n : {1, 5, 16}) {
          const std::vector<float> x = testing_util::RandomActivations(n, in, ++seed);
          const std::vector<float> xq = testing_util::QuantizedActivations(x, n, in);
          std::vector<float> want(n * out), got(n * out);
          MatmulReference(w.tensor, xq.data(), n, want.data());
          matmul_internal::MatmulWithIsa(GetParam(), w.tensor, x.data(), n, got.data(), pool,
                                         scratch);
          for (int64_t o = 0; o < out; ++o) {
            const std::vector<float> row = w.Row(o);
            for (int64_t c = 0; c < n; ++c) {
              double magnitude = 0.0;
              for (int64_t i = 0; i < in; ++i) {
                magnitude += (std::fabs(row[i]) + 2 * std::fabs(w.Min(o, i / 32))) *
                             std::fabs(xq[c * in + i]);
              }
              const double tol = testing_util::FloatSlack(t, in, magnitude);
              ASSERT_NEAR(got[c * out + o], want[c * out + o], tol)
                  << DTypeName(t) << " in " << in << " out " << out << " n " << n << " o " << o;
            }
          }
        }
      }
    }
  }
}

std::string IsaParamName(const testing::TestParamInfo<Isa>& info) {
  return matmul_internal::IsaName(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllVariants, MatmulIsaTest,
                         testing::ValuesIn(matmul_internal::AvailableIsas()), IsaParamName);

TEST(MatmulTest, ReportsVariants) {
  std::string names;
  for (Isa isa : matmul_internal::AvailableIsas()) {
    names += std::string(" ") + matmul_internal::IsaName(isa);
  }
  std::printf("  available:%s; Matmul uses %s\n", names.c_str(),
              matmul_internal::IsaName(matmul_internal::BestIsa()));
  EXPECT_EQ(matmul_internal::BestIsa(), matmul_internal::AvailableIsas().back());
}

// Realistic kernel bugs must fail the tolerance: swapped nibble halves, a dropped minimum term,
// the previous block's scale, two neighbouring elements exchanged, and activations quantized to
// 4 bits instead of 8 (an accuracy bug, not a wiring one).
TEST(MatmulTest, ToleranceRejectsWrongKernels) {
  const int64_t in = 576, out = 64, n = 4;
  const Weights w(DType::kQ4_1, out, in, 42);
  const std::vector<float> x = testing_util::RandomActivations(n, in, 43);
  std::vector<float> want(n * out), got(n * out);
  MatmulReference(w.tensor, x.data(), n, want.data());
  ThreadPool pool(2);
  MatmulScratch scratch;
  Matmul(w.tensor, x.data(), n, got.data(), pool, scratch);

  auto scale = [&](int64_t o, int64_t b) {
    uint16_t d;
    std::memcpy(&d, w.tensor.row(o) + b * 20, 2);
    return Fp16ToFp32(d);
  };
  auto x4 = [&](const float* xc) {  // 4-bit activation quantization
    std::vector<float> r(xc, xc + in);
    for (int64_t b = 0; b < in / 32; ++b) {
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(xc[b * 32 + j]));
      const float d = amax / 7;
      for (int j = 0; j < 32; ++j) r[b * 32 + j] = d * std::nearbyint(xc[b * 32 + j] / d);
    }
    return r;
  };
  enum Bug { kSwapHalves, kNoMin, kPreviousScale, kSwapNeighbours, kFourBitActivations };
  for (Bug bug : {kSwapHalves, kNoMin, kPreviousScale, kSwapNeighbours, kFourBitActivations}) {
    int failures = 0;
    for (int64_t o = 0; o < out; ++o) {
      const std::vector<float> row = w.Row(o);
      std::vector<float> bad = row;
      for (int64_t b = 0; b < in / 32; ++b) {
        const float m = w.Min(o, b);
        for (int j = 0; j < 32; ++j) {
          const int64_t i = b * 32 + j;
          switch (bug) {
            case kSwapHalves:
              bad[i] = row[b * 32 + (j + 16) % 32];
              break;
            case kNoMin:
              bad[i] = row[i] - m;
              break;
            case kPreviousScale:
              if (b > 0) bad[i] = (row[i] - m) / scale(o, b) * scale(o, b - 1) + m;
              break;
            case kSwapNeighbours:
              bad[i] = row[b * 32 + (j ^ 1)];
              break;
            default:
              break;
          }
        }
      }
      for (int64_t c = 0; c < n; ++c) {
        const float* xc = x.data() + c * in;
        const std::vector<float> xb =
            bug == kFourBitActivations ? x4(xc) : std::vector<float>(xc, xc + in);
        double y = 0.0;
        for (int64_t i = 0; i < in; ++i) y += static_cast<double>(bad[i]) * xb[i];
        const double tol = Tolerance(w, o, xc, in);
        EXPECT_LE(std::fabs(got[c * out + o] - want[c * out + o]), tol);  // the real kernel passes
        if (std::fabs(y - want[c * out + o]) > tol) ++failures;
      }
    }
    const double rate = static_cast<double>(failures) / (out * n);
    std::printf("  bug %d fails the tolerance on %.0f%% of outputs\n", bug, 100 * rate);
    EXPECT_GE(rate, bug == kFourBitActivations ? 0.5 : 0.9) << "bug " << bug;
  }
}

TEST(MatmulTest, CheckMatmulWeight) {
  std::vector<uint8_t> data(4096);
  EXPECT_TRUE(CheckMatmulWeight(Tensor(DType::kQ4_1, {4, 64}, data.data())).ok());
  EXPECT_TRUE(CheckMatmulWeight(Tensor(DType::kF32, {4, 37}, data.data())).ok());
  EXPECT_EQ(CheckMatmulWeight(Tensor(DType::kQ8_K, {1, 256}, data.data())).code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_FALSE(CheckMatmulWeight(Tensor(DType::kQ8_0, {4, 48}, data.data())).ok());
  EXPECT_FALSE(CheckMatmulWeight(Tensor(DType::kF32, {2, 4, 8}, data.data())).ok());
  EXPECT_FALSE(CheckMatmulWeight(Tensor(DType::kF32, {4, 8}, nullptr)).ok());
  EXPECT_FALSE(CheckMatmulWeight(Tensor(DType::kF32, {4, 8}, data.data(), Device::kCuda)).ok());
}

TEST(MatmulTest, ReservedScratchIsReused) {
  MatmulScratch scratch;
  scratch.Reserve(16, 1536);
  const int8_t* before = scratch.quants();
  ThreadPool pool(2);
  for (int64_t n : {1, 16, 7}) {
    const Weights w(DType::kQ8_0, 8, 1536, 5);
    const std::vector<float> x = testing_util::RandomActivations(n, 1536, 6);
    std::vector<float> y(n * 8);
    Matmul(w.tensor, x.data(), n, y.data(), pool, scratch);
  }
  EXPECT_EQ(scratch.quants(), before);
  scratch.Reserve(4, 576);  // smaller: keeps the buffer
  EXPECT_EQ(scratch.quants(), before);
}

TEST(MatmulDeathTest, UnsupportedWeightAborts) {
  std::vector<uint8_t> data(1024);
  std::vector<float> x(256), y(1);
  ThreadPool pool(1);
  MatmulScratch scratch;
  EXPECT_DEATH(
      Matmul(Tensor(DType::kQ8_K, {1, 256}, data.data()), x.data(), 1, y.data(), pool, scratch),
      "unsupported");
}

}  // namespace
}  // namespace llmw::cpu
