// The integer K-quant matmul (kernels/cpu/kquant): Q8_K activation quantization, agreement with
// the double-accumulating reference, bitwise equality of the variants, batch / thread invariance,
// extreme blocks, and the real K-quant tensors of Gemma 3 270M.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/block_formats.h"
#include "kernels/cpu/kquant/kquant_internal.h"
#include "kernels/cpu/kquant/kquant_matmul.h"
#include "kernels/cpu/matmul.h"
#include "kernels/fp16.h"
#include "models/formats/gguf_file.h"
#include "tests/test_models.h"

namespace llmw::cpu {
namespace {

namespace ki = kquant_internal;
using ki::Isa;

const DType kKQuants[] = {DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

std::string Name(DType t) { return std::string(DTypeName(t)); }

bool BitwiseEqual(const float* a, const float* b, int64_t count) {
  return std::memcmp(a, b, static_cast<size_t>(count) * sizeof(float)) == 0;
}

// A weight matrix [out, in]: N(mean, 1) values through the reference quantizer, or (raw) random
// bytes with sane fp16 factors, which reach every code, scale and minimum of the format.
struct Weights {
  Weights(DType type, int64_t out, int64_t in, uint32_t seed, bool raw = false)
      : bytes(static_cast<size_t>(out * RowBytes(type, in))),
        tensor(type, {out, in}, bytes.data()) {
    std::mt19937 rng(seed);
    if (raw) {
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
      const int64_t block_bytes = Traits(type).block_bytes;
      // The fp16 factors: d (and dmin) at the block's front or back.
      int d_at = 0;
      int factors = 2;
      if (type == DType::kQ2_K) d_at = 80;
      if (type == DType::kQ3_K) d_at = 108, factors = 1;
      if (type == DType::kQ6_K) d_at = 208, factors = 1;
      std::uniform_real_distribution<float> dist(1e-3f, 2e-2f);
      for (int64_t at = 0; at < static_cast<int64_t>(bytes.size()); at += block_bytes) {
        for (int f = 0; f < factors; ++f) {
          const uint16_t h = Fp32ToFp16(dist(rng));
          std::memcpy(bytes.data() + at + d_at + 2 * f, &h, 2);
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
  Weights(const Weights&) = delete;
  Weights& operator=(const Weights&) = delete;

  std::vector<uint8_t> bytes;
  Tensor tensor;
};

std::vector<float> RandomActivations(int64_t n, int64_t in, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * in));
  for (float& v : x) v = dist(rng);
  // Real activations have outlier channels; give every row one.
  for (int64_t c = 0; c < n; ++c) x[c * in + (7 * c + 3) % in] *= 8.0f;
  return x;
}

std::vector<BlockQ8K> Quantize(Isa isa, const float* x, int64_t in) {
  std::vector<BlockQ8K> q(static_cast<size_t>(in / kQ8KElems));
  ki::KernelsFor(isa).quantize(x, in, q.data());
  return q;
}

bool SameBlocks(const std::vector<BlockQ8K>& a, const std::vector<BlockQ8K>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(a[i].qs, b[i].qs, sizeof(a[i].qs)) != 0 ||
        std::memcmp(a[i].bsums, b[i].bsums, sizeof(a[i].bsums)) != 0 ||
        std::memcmp(&a[i].d, &b[i].d, sizeof(float)) != 0) {
      return false;
    }
  }
  return true;
}

// The error bounds of the fast path for one (x row, W row) pair.
//
// The fast path computes sum_i w_i * x̂_i exactly in integers per super-block, where x̂ is x rounded
// to a grid of step d_b = amax_b / 127 per super-block of 256 (Q8_K). The rounding errors
// e_i = x̂_i - x_i lie in [-d_b/2, d_b/2], spread uniformly and independent of the weights, so
// sum_i w_i e_i has standard deviation sigma = sqrt(sum_b d_b^2 / 12 * sum_{i in b} w_i^2). Against
// the reference on x we allow kSigmas * sigma; a Gaussian 6-sigma event has probability 2e-9, while
// a wrong kernel errs by the order of |y| itself, ~100 sigma here (rms(x) sqrt(12) / d).
// On top of that, float rounding: the f32 scale products and the fma chain of 2 nb + 4 steps
// per lane in our path, and the f32 dequantization (d * s, dmin * m, then the difference) in the
// reference, all within (2 nb + 16) ulps of sum_i (|w_i| + 2 |min_i|) |x_i|.
constexpr double kSigmas = 6.0;

struct Bounds {
  double sigma = 0;      // of the activation rounding
  double magnitude = 0;  // sum (|w| + 2 |min|) |x|
};

Bounds PairBounds(const Tensor& w, int64_t o, const float* x) {
  const int64_t in = w.row_elems(), nb = in / kQ8KElems;
  std::vector<float> row(static_cast<size_t>(in));
  DequantizeRow(w.dtype(), w.row(o), row.data(), in);
  std::vector<ki::DecodedBlock> decoded(static_cast<size_t>(nb));
  ki::ScalarKernels().decode(w.dtype(), w.row(o), nb, decoded.data());
  const bool has_min = ki::HasMin(w.dtype());
  Bounds bounds;
  double variance = 0;
  for (int64_t b = 0; b < nb; ++b) {
    double amax = 0, w2 = 0;
    for (int64_t k = 0; k < kQ8KElems; ++k) {
      const int64_t i = b * kQ8KElems + k;
      const double min = has_min ? decoded[b].dmin * std::abs(decoded[b].offsets[2 * (k / 16)]) : 0;
      amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
      w2 += static_cast<double>(row[i]) * row[i];
      bounds.magnitude += (std::fabs(row[i]) + 2 * min) * std::fabs(x[i]);
    }
    variance += (amax / 127) * (amax / 127) / 12 * w2;
  }
  bounds.sigma = std::sqrt(variance);
  return bounds;
}

double FloatSlack(int64_t in, double magnitude) {
  return static_cast<double>(2 * (in / kQ8KElems) + 16) * std::ldexp(1.0, -23) * magnitude;
}

// Every y[c][o] of `got` against MatmulReference on x, within kSigmas sigma plus the float slack;
// returns the largest error in units of the allowance.
double CheckAgainstReference(const Tensor& w, const std::vector<float>& x, int64_t n,
                             const std::vector<float>& got, const std::string& what) {
  const int64_t out = w.dim(0), in = w.row_elems();
  std::vector<float> want(static_cast<size_t>(n * out));
  MatmulReference(w, x.data(), n, want.data());
  double worst = 0;
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t o = 0; o < out; ++o) {
      const Bounds b = PairBounds(w, o, x.data() + c * in);
      const double allowed = kSigmas * b.sigma + FloatSlack(in, b.magnitude);
      const double err = std::fabs(static_cast<double>(got[c * out + o]) - want[c * out + o]);
      worst = std::max(worst, err / allowed);
      EXPECT_LE(err, allowed) << what << " row " << c << " out " << o << ": got "
                              << got[c * out + o] << " want " << want[c * out + o];
    }
  }
  return worst;
}

// The same against the exact product with the Q8_K-rounded activations: only float rounding
// separates the fast path from it.
void CheckAgainstQuantizedActivations(const Tensor& w, const std::vector<float>& x, int64_t n,
                                      const std::vector<float>& got, const std::string& what) {
  const int64_t out = w.dim(0), in = w.row_elems(), nb = in / kQ8KElems;
  std::vector<float> xq(x.size());
  for (int64_t c = 0; c < n; ++c) {
    const std::vector<BlockQ8K> q = Quantize(Isa::kScalar, x.data() + c * in, in);
    for (int64_t i = 0; i < in; ++i) {
      xq[c * in + i] = static_cast<float>(q[i / kQ8KElems].qs[i % kQ8KElems]) * q[i / kQ8KElems].d;
    }
  }
  std::vector<float> want(static_cast<size_t>(n * out));
  MatmulReference(w, xq.data(), n, want.data());
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t o = 0; o < out; ++o) {
      const Bounds b = PairBounds(w, o, xq.data() + c * in);
      // x̂ = q * d rounded to f32 adds one more ulp of each product.
      const double allowed = FloatSlack(in, b.magnitude) + std::ldexp(1.0, -23) * b.magnitude;
      EXPECT_NEAR(got[c * out + o], want[c * out + o], allowed)
          << what << " row " << c << " out " << o << " (nb " << nb << ")";
    }
  }
}

TEST(KQuantFastTest, SupportsTheKQuants) {
  for (DType t : kKQuants) EXPECT_TRUE(KQuantFastPathSupports(t)) << Name(t);
  for (DType t : {DType::kF32, DType::kQ4_0, DType::kQ8_0, DType::kQ8_K}) {
    EXPECT_FALSE(KQuantFastPathSupports(t)) << Name(t);
  }
}

TEST(KQuantFastTest, Q8KQuantizationFollowsTheFormat) {
  std::vector<float> x(2 * kQ8KElems);
  for (int i = 0; i < kQ8KElems; ++i) x[i] = 0.01f * static_cast<float>(i % 37 - 18);
  x[100] = 2.54f;  // the largest magnitude, positive: it maps to -127 and d < 0
  const std::vector<BlockQ8K> q = Quantize(Isa::kScalar, x.data(), 2 * kQ8KElems);
  EXPECT_EQ(q[0].qs[100], -127);
  EXPECT_LT(q[0].d, 0.0f);
  EXPECT_FLOAT_EQ(q[0].d, -2.54f / 127);
  for (int g = 0; g < 16; ++g) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += q[0].qs[16 * g + i];
    EXPECT_EQ(q[0].bsums[g], sum) << g;
  }
  for (int i = 0; i < kQ8KElems; ++i) {
    EXPECT_NEAR(q[0].qs[i] * q[0].d, x[i], std::fabs(q[0].d) / 2 * 1.0001) << i;
  }
  // An all-zero super-block.
  EXPECT_EQ(q[1].d, 0.0f);
  for (int i = 0; i < kQ8KElems; ++i) ASSERT_EQ(q[1].qs[i], 0);
  for (int g = 0; g < 16; ++g) ASSERT_EQ(q[1].bsums[g], 0);
}

TEST(KQuantFastTest, Q8KQuantizationIsTheSameInEveryVariant) {
  const int64_t in = 8 * kQ8KElems;
  std::vector<float> x = RandomActivations(1, in, 9);
  float* b = x.data();
  for (int i = 0; i < kQ8KElems; ++i) b[kQ8KElems + i] = 0.0f;  // all zero
  // Block 2: amax 63.5 (negative, so iscale = 2) puts 0.25 * odd values on ties.
  for (int i = 0; i < kQ8KElems; ++i)
    b[2 * kQ8KElems + i] = 0.25f * static_cast<float>(i % 64 - 32);
  b[2 * kQ8KElems + 200] = -63.5f;
  // Block 3: +amax and -amax both present; the first one sets the sign.
  b[3 * kQ8KElems + 10] = -50.0f;
  b[3 * kQ8KElems + 20] = 50.0f;
  for (int i = 0; i < kQ8KElems; ++i) b[4 * kQ8KElems + i] = -1e-30f * static_cast<float>(i + 1);
  for (int i = 0; i < kQ8KElems; ++i) b[5 * kQ8KElems + i] = (i % 2 ? 1.0f : -1.0f) * 3e38f;
  b[6 * kQ8KElems + 17] = std::nanf("");
  const std::vector<BlockQ8K> want = Quantize(Isa::kScalar, x.data(), in);
  EXPECT_EQ(want[2].qs[200], -127);
  EXPECT_EQ(want[2].qs[1], -16);  // 0.25 * -31 * 2 = -15.5: ties to even
  EXPECT_EQ(want[2].qs[3], -14);  // -14.5
  EXPECT_EQ(want[3].qs[10], -127);
  EXPECT_EQ(want[3].qs[20], 127);
  EXPECT_GT(want[3].d, 0.0f);
  for (Isa isa : ki::AvailableIsas()) {
    EXPECT_TRUE(SameBlocks(Quantize(isa, x.data(), in), want)) << ki::IsaName(isa);
  }
  std::vector<BlockQ8K> best(want.size());
  QuantizeRowQ8K(x.data(), in, best.data());
  EXPECT_TRUE(SameBlocks(best, want));
}

TEST(KQuantFastTest, MatchesReference) {
  ThreadPool pool(2);
  KQuantScratch scratch;
  const int64_t in = 1536, out = 37, n = 5;
  uint32_t seed = 40;
  for (DType t : kKQuants) {
    const Weights w(t, out, in, ++seed);
    const std::vector<float> x = RandomActivations(n, in, ++seed);
    std::vector<float> got(n * out);
    KQuantMatmul(w.tensor, x.data(), n, got.data(), pool, scratch);
    const double worst = CheckAgainstReference(w.tensor, x, n, got, Name(t));
    CheckAgainstQuantizedActivations(w.tensor, x, n, got, Name(t));
    std::printf("  %s: largest error %.3f of the allowance\n", Name(t).c_str(), worst);
  }
}

// The allowance is tight enough to mean something: well under the size of the results.
TEST(KQuantFastTest, AllowanceIsSmallAgainstTheResults) {
  const int64_t in = 2048, out = 16;
  for (DType t : kKQuants) {
    const Weights w(t, out, in, 7);
    const std::vector<float> x = RandomActivations(1, in, 8);
    std::vector<float> y(out);
    MatmulReference(w.tensor, x.data(), 1, y.data());
    double y2 = 0, allowed2 = 0;
    for (int64_t o = 0; o < out; ++o) {
      const Bounds b = PairBounds(w.tensor, o, x.data());
      const double allowed = kSigmas * b.sigma + FloatSlack(in, b.magnitude);
      y2 += static_cast<double>(y[o]) * y[o];
      allowed2 += allowed * allowed;
    }
    EXPECT_LT(std::sqrt(allowed2 / y2), 0.1) << Name(t);
  }
}

// Every variant decodes every format to the same integers as the portable decoder.
TEST(KQuantFastTest, DecodingIsTheSameInEveryVariant) {
  const int64_t in = 2048, nb = in / kQ8KElems;
  for (DType t : kKQuants) {
    const Weights w(t, 3, in, 77, /*raw=*/true);
    std::vector<ki::DecodedBlock> want(nb), got(nb);
    for (int64_t o = 0; o < 3; ++o) {
      ki::ScalarKernels().decode(t, w.tensor.row(o), nb, want.data());
      for (Isa isa : ki::AvailableIsas()) {
        std::memset(got.data(), 0xa5, got.size() * sizeof(ki::DecodedBlock));
        ki::KernelsFor(isa).decode(t, w.tensor.row(o), nb, got.data());
        for (int64_t b = 0; b < nb; ++b) {
          const ki::DecodedBlock &x = want[b], &y = got[b];
          EXPECT_EQ(std::memcmp(x.codes, y.codes, sizeof(x.codes)), 0) << Name(t) << " block " << b;
          EXPECT_EQ(std::memcmp(x.offsets, y.offsets, sizeof(x.offsets)), 0) << Name(t);
          EXPECT_EQ(std::memcmp(x.scales, y.scales, sizeof(x.scales)), 0) << Name(t);
          EXPECT_EQ(x.d, y.d) << Name(t);
          EXPECT_EQ(x.dmin, y.dmin) << Name(t);
        }
      }
    }
    // Spot checks of the decoded values against the reference dequantizer.
    std::vector<float> row(in);
    DequantizeRow(t, w.tensor.row(2), row.data(), in);
    for (int64_t i = 0; i < in; i += 37) {
      const ki::DecodedBlock& b = want[i / kQ8KElems];
      const int k = static_cast<int>(i % kQ8KElems), g = k / 16;
      const double s = b.scales[g], u = b.codes[k], tg = b.offsets[2 * g];
      const double value = ki::HasMin(t) ? b.d * s * u + b.dmin * tg : b.d * (s * u + tg);
      EXPECT_NEAR(value, row[i], 1e-6 * (std::fabs(value) + 1)) << Name(t) << " element " << i;
    }
  }
}

// Raw random blocks reach every code, scale (Q6_K: -128) and minimum; saturated activations
// (every quant ±127) put the integer bounds of kquant_internal.h to the test, in the pair kernels
// (n < 4) and the batch kernel.
TEST(KQuantFastTest, ExtremeBlocks) {
  ThreadPool pool(2);
  KQuantScratch scratch;
  const int64_t in = 1024, out = 19;
  uint32_t seed = 600;
  for (DType t : kKQuants) {
    const Weights w(t, out, in, ++seed, /*raw=*/true);
    for (int64_t n : {2, 9}) {
      std::vector<float> x = RandomActivations(n, in, ++seed);
      for (int64_t i = 0; i < in; ++i) x[i] = i % 512 < 256 ? 3.0f : -3.0f;  // row 0: ±127 quants
      std::vector<float> want(n * out);
      ki::KQuantMatmulWithIsa(Isa::kScalar, w.tensor, x.data(), n, want.data(), pool, scratch);
      CheckAgainstReference(w.tensor, x, n, want, Name(t) + " raw");
      CheckAgainstQuantizedActivations(w.tensor, x, n, want, Name(t) + " raw");
      for (Isa isa : ki::AvailableIsas()) {
        std::vector<float> got(n * out);
        ki::KQuantMatmulWithIsa(isa, w.tensor, x.data(), n, got.data(), pool, scratch);
        EXPECT_TRUE(BitwiseEqual(got.data(), want.data(), n * out))
            << ki::IsaName(isa) << " " << Name(t) << " n " << n;
      }
    }
  }
}

TEST(KQuantFastTest, EveryVariantEqualsTheScalarKernel) {
  ThreadPool pool(3);
  KQuantScratch scratch;
  struct Shape {
    int64_t in, out, n;
  };
  const Shape kShapes[] = {{256, 1, 1},  {256, 3, 2},   {768, 41, 1}, {1536, 64, 5},
                           {512, 9, 17}, {1024, 13, 8}, {2048, 7, 3}};
  uint32_t seed = 300;
  for (DType t : kKQuants) {
    for (const Shape& s : kShapes) {
      const Weights w(t, s.out, s.in, ++seed);
      const std::vector<float> x = RandomActivations(s.n, s.in, ++seed);
      std::vector<float> want(s.n * s.out);
      ki::KQuantMatmulWithIsa(Isa::kScalar, w.tensor, x.data(), s.n, want.data(), pool, scratch);
      for (Isa isa : ki::AvailableIsas()) {
        std::vector<float> got(s.n * s.out);
        ki::KQuantMatmulWithIsa(isa, w.tensor, x.data(), s.n, got.data(), pool, scratch);
        EXPECT_TRUE(BitwiseEqual(got.data(), want.data(), s.n * s.out))
            << ki::IsaName(isa) << " " << Name(t) << " in " << s.in << " out " << s.out << " n "
            << s.n;
      }
    }
  }
}

// Every row of a batch of n (1, 3, 8, 17) equals that row computed alone on one thread, for
// every thread count and variant.
TEST(KQuantFastTest, RowDoesNotDependOnBatchOrThreads) {
  const int64_t in = 768, out = 45;
  std::vector<std::unique_ptr<ThreadPool>> pools;
  for (int threads : {1, 2, 3, 8}) pools.push_back(std::make_unique<ThreadPool>(threads));
  uint32_t seed = 900;
  for (DType t : kKQuants) {
    const Weights w(t, out, in, ++seed);
    const std::vector<float> x = RandomActivations(17, in, ++seed);
    KQuantScratch scratch;
    std::vector<float> alone(17 * out);
    for (int64_t c = 0; c < 17; ++c) {
      ki::KQuantMatmulWithIsa(Isa::kScalar, w.tensor, x.data() + c * in, 1, alone.data() + c * out,
                              *pools[0], scratch);
    }
    for (Isa isa : ki::AvailableIsas()) {
      for (const auto& pool : pools) {
        for (int64_t n : {1, 3, 8, 17}) {
          std::vector<float> y(n * out);
          ki::KQuantMatmulWithIsa(isa, w.tensor, x.data(), n, y.data(), *pool, scratch);
          EXPECT_TRUE(BitwiseEqual(y.data(), alone.data(), n * out))
              << ki::IsaName(isa) << " " << Name(t) << " threads " << pool->num_threads() << " n "
              << n;
        }
      }
    }
  }
}

// Once reserved, the scratch is not reallocated by calls within the reservation.
TEST(KQuantFastTest, ReservedScratchIsReused) {
  ThreadPool pool(2);
  KQuantScratch scratch;
  scratch.Reserve(8, 2048, pool.num_threads());
  BlockQ8K* activations = scratch.Activations(1);
  void* weights = scratch.WeightBuffer(1);
  for (DType t : kKQuants) {
    const Weights w(t, 21, 2048, 3);
    const std::vector<float> x = RandomActivations(8, 2048, 4);
    std::vector<float> y(8 * 21);
    for (int64_t n : {1, 8}) KQuantMatmul(w.tensor, x.data(), n, y.data(), pool, scratch);
  }
  EXPECT_EQ(scratch.Activations(1), activations);
  EXPECT_EQ(scratch.WeightBuffer(1), weights);
}

// The K-quant tensors of Gemma 3 270M Q4_K_M: attn_output (Q4_K) and ffn_down (Q6_K or Q4_K).
TEST(KQuantFastTest, GemmaTensors) {
  LLMW_TEST_MODEL_OR_SKIP(path, "gemma-3-270m-q4_k_m.gguf", "LLMW_GEMMA3_GGUF");
  absl::StatusOr<std::unique_ptr<GgufFile>> file = GgufFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  std::vector<std::string> names = {"blk.0.attn_output.weight", "blk.0.ffn_down.weight"};
  for (int layer = 1; layer < 18; ++layer) {  // a Q4_K ffn_down as well
    const std::string name = "blk." + std::to_string(layer) + ".ffn_down.weight";
    const GgufTensorInfo* info = (*file)->FindTensor(name);
    if (info != nullptr && info->type == DType::kQ4_K) {
      names.push_back(name);
      break;
    }
  }
  ASSERT_EQ(names.size(), 3u);
  ThreadPool pool(2);
  std::vector<std::unique_ptr<ThreadPool>> pools;
  for (int threads : {1, 3}) pools.push_back(std::make_unique<ThreadPool>(threads));
  KQuantScratch scratch;
  uint32_t seed = 1234;
  for (const std::string& name : names) {
    const GgufTensorInfo* info = (*file)->FindTensor(name);
    ASSERT_NE(info, nullptr) << name;
    const Tensor w = (*file)->TensorView(*info);
    ASSERT_TRUE(KQuantFastPathSupports(w.dtype())) << name << " " << w.DebugString();
    const int64_t out = w.dim(0), in = w.row_elems();
    const int64_t n = 17;
    const std::vector<float> x = RandomActivations(n, in, ++seed);
    std::vector<float> want(n * out);
    ki::KQuantMatmulWithIsa(Isa::kScalar, w, x.data(), n, want.data(), pool, scratch);
    const std::vector<float> head(x.begin(), x.begin() + 3 * in);
    const std::vector<float> want_head(want.begin(), want.begin() + 3 * out);
    const double worst = CheckAgainstReference(w, head, 3, want_head, name);
    CheckAgainstQuantizedActivations(w, head, 3, want_head, name);
    std::printf("  %s %s: largest error %.3f of the allowance\n", name.c_str(),
                w.DebugString().c_str(), worst);
    for (Isa isa : ki::AvailableIsas()) {
      for (const auto& p : pools) {
        for (int64_t rows : {int64_t{1}, int64_t{8}, n}) {
          std::vector<float> got(rows * out);
          ki::KQuantMatmulWithIsa(isa, w, x.data(), rows, got.data(), *p, scratch);
          EXPECT_TRUE(BitwiseEqual(got.data(), want.data(), rows * out))
              << name << " " << ki::IsaName(isa) << " threads " << p->num_threads() << " n "
              << rows;
        }
      }
    }
  }
}

}  // namespace
}  // namespace llmw::cpu
