// cuda::Matmul, MatmulShared and MatvecGated for every weight dtype over the edge shapes (1 to 9,
// 64 and 513 activation rows; outputs not a multiple of 4, 16 or 32; one and several steps of the
// mat-vec; rows not 16-byte aligned; weights dequantized in several tiles and in one), against
// three references:
//   (a) the double-precision product of the operands the GPU path multiplies (x as it is, x
//       rounded to 16 bits, weights rounded to bf16, or x quantized to 8 bits), within f32
//       summation error;
//   (b) cpu::Matmul: bit for bit on the integer mat-vec path, elsewhere within the two
//       summation errors plus the exact difference of the two paths' operands;
//   (c) the exact product of the dequantized weights with x, within the error matmul.h states.
// Plus the argument checks, which run without a GPU.
#include "kernels/cpu/matmul.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/block_formats.h"
#include "kernels/cpu/matmul_internal.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cuda/block_formats.cuh"
#include "kernels/cuda/matmul.h"
#include "kernels/fp16.h"
#include "tests/gpu/weights_test_util.h"
#include "tests/unit/kernels/block_weights_test_util.h"
#include "tests/unit/kernels/matmul_test_util.h"
#include "tests/unit/kernels/repacked_weights_test_util.h"

namespace llmw {
namespace {

using testing_util::BlockWeights;
using testing_util::IsBlockFormat;

constexpr int64_t kMatVecMaxRows = 8;  // cuda::Matmul's integer path takes up to this many rows
const int64_t kRowCounts[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 64, 513};
struct Shape {
  int64_t out, in;
};
// in = 512: one partial mat-vec step (16 of 64 blocks, 2 of 8 super-blocks); in = 2304: a whole
// step and a partial one (72 blocks, 9 super-blocks).
const Shape kShapes[] = {{77, 512}, {45, 2304}};

std::string Name(DType t) { return std::string(DTypeName(t)); }

// The part of each weight that is a block minimum (Q4_1, Q5_1: m; Q2_K, Q4_K, Q5_K: dmin · min
// of its group), 0 elsewhere, from `w` in the kernels' row layout: it enters the integer path
// through the activation sums, so its size counts in the summation error bound.
template <DType T>
struct MinTerms {
  static void Run(const Tensor& w, int64_t o, std::vector<float>* out) {
    using F = cuda_blocks::Format<T>;
    for (int64_t c = 0; c < w.row_elems() / 32; ++c) {
      cuda_blocks::Chunk chunk;
      cuda_blocks::DecodeChunk<T>(w.row(o), w.row_elems() / F::kElems, c, &chunk);
      for (int i = 0; i < 32; ++i) {
        float m = 0.0f;
        if constexpr (F::kHasMin && !F::kKQuant) m = chunk.m;
        if constexpr (F::kHasMin && F::kKQuant) m = chunk.m * static_cast<float>(chunk.min[i / 16]);
        (*out)[c * 32 + i] = m;
      }
    }
  }
};

float RoundTo16(DType type, float v) {
  return type == DType::kF16 ? Fp16ToFp32(Fp32ToFp16(v)) : Bf16ToFp32(Fp32ToBf16(v));
}

// x after the 8-bit quantization of the CPU's integer path (Q8 per 32, Q8_K per 256).
std::vector<float> QuantizedRows(DType type, const std::vector<float>& x, int64_t n, int64_t in) {
  std::vector<float> out(x.size());
  std::vector<int8_t> q(static_cast<size_t>(in));
  std::vector<float> d(static_cast<size_t>(in / 32)), s(d.size());
  std::vector<cpu::BlockQ8K> blocks(static_cast<size_t>(in / 256));
  for (int64_t c = 0; c < n; ++c) {
    const float* xc = x.data() + c * in;
    if (IsKQuant(type)) {
      cpu::QuantizeRowQ8K(xc, in, blocks.data());
      for (int64_t i = 0; i < in; ++i) {
        out[c * in + i] = static_cast<float>(blocks[i / 256].qs[i % 256]) * blocks[i / 256].d;
      }
    } else {
      cpu::matmul_internal::ScalarKernels().quantize(xc, in, 0, q.data(), d.data(), s.data(),
                                                     nullptr);
      for (int64_t i = 0; i < in; ++i) out[c * in + i] = static_cast<float>(q[i]) * d[i / 32];
    }
  }
  return out;
}

// Σ a_i b_i in double, and Σ (|a_i| + 2 |m_i|) |b_i|.
struct Dot {
  double value = 0.0, magnitude = 0.0;
};

Dot DotOf(const float* a, const float* m, const float* b, int64_t in) {
  Dot r;
  for (int64_t i = 0; i < in; ++i) {
    r.value += static_cast<double>(a[i]) * b[i];
    r.magnitude += (std::fabs(static_cast<double>(a[i])) + 2.0 * std::fabs(m[i])) * std::fabs(b[i]);
  }
  return r;
}

// Bound of an f32 sum of `in` products: in · 2^-24 of the magnitude, twice that for the GPU,
// whose tensor cores may truncate rather than round when they add.
double SumError(int64_t in, double magnitude, double factor) {
  return factor * static_cast<double>(in) * std::ldexp(1.0, -24) * magnitude;
}

// The relative error matmul.h states for the GPU's operand rounding, against Σ (|w| + 2|m|)|x|,
// and the absolute part per Σ|w| (fp16's subnormal range).
struct OperandError {
  double relative, absolute;
};

OperandError StatedError(DType type, int64_t n) {
  // f32 weights, and float weights on the mat-vec path, multiply the exact x.
  if (type == DType::kF32 || (!IsBlockFormat(type) && n <= kMatVecMaxRows)) return {0.0, 0.0};
  if (type == DType::kF16) return {std::ldexp(1.0, -11), std::ldexp(1.0, -25)};
  if (type == DType::kBF16) return {std::ldexp(1.0, -8), 0.0};
  if (n > kMatVecMaxRows) return {std::ldexp(1.0, -7) + std::ldexp(1.0, -16), 0.0};
  return {-1.0, 0.0};  // the integer path: its 8-bit rounding is the CPU's, checked by (b)
}

// One case: weights, activations, cpu::Matmul's result and, for every output, the double
// references of the three checks.
struct Case {
  Case(DType type, Shape shape, int64_t n, bool raw)
      : type(type),
        out(shape.out),
        in(shape.in),
        n(n),
        integer_path(IsBlockFormat(type) && n <= kMatVecMaxRows),
        w(type, out, in, static_cast<uint32_t>(1000 + n), raw),
        x(cpu::testing_util::RandomActivations(n, in, static_cast<uint32_t>(n))),
        y_cpu(static_cast<size_t>(n * out)) {
    cpu::ThreadPool pool(2);
    cpu::MatmulScratch scratch;
    cpu::Matmul(w.tensor, x.data(), n, y_cpu.data(), pool, scratch);

    // The operands each path multiplies.
    std::vector<float> x_gpu = x, x_cpu = x;
    if (IsBlockFormat(type)) x_cpu = QuantizedRows(type, x, n, in);
    if (integer_path) x_gpu = x_cpu;
    if ((type == DType::kF16 || type == DType::kBF16) && n > kMatVecMaxRows) {
      for (float& v : x_gpu) v = RoundTo16(type, v);
    } else if (IsBlockFormat(type) && !integer_path) {
      for (float& v : x_gpu) v = RoundTo16(DType::kBF16, v);
    }
    std::vector<float> mins(static_cast<size_t>(in), 0.0f);
    const testing_util::RepackedCopy repacked(w.tensor);
    for (int64_t o = 0; o < out; ++o) {
      const std::vector<float> row = w.Row(o);
      std::vector<float> row_gpu = row;
      if (IsBlockFormat(type)) {
        cuda_blocks::ForBlockFormat<MinTerms>(type, repacked.tensor, o, &mins);
        if (!integer_path) {
          for (float& v : row_gpu) v = RoundTo16(DType::kBF16, v);
        }
      }
      double sum = 0.0;
      for (float v : row) sum += std::fabs(v);
      abs_rows.push_back(sum);
      for (int64_t r = 0; r < n; ++r) {
        gpu.push_back(DotOf(row_gpu.data(), mins.data(), x_gpu.data() + r * in, in));
        cpu.push_back(DotOf(row.data(), mins.data(), x_cpu.data() + r * in, in));
        exact.push_back(DotOf(row.data(), mins.data(), x.data() + r * in, in));
      }
    }
  }

  std::string Name() const {
    return std::string(DTypeName(type)) + " out " + std::to_string(out) + " in " +
           std::to_string(in) + " n " + std::to_string(n);
  }
  // The references of y[r][o].
  size_t At(int64_t r, int64_t o) const { return static_cast<size_t>(o * n + r); }

  DType type;
  int64_t out, in, n;
  bool integer_path;
  BlockWeights w;
  std::vector<float> x, y_cpu;
  std::vector<Dot> gpu, cpu, exact;  // [out][n]
  std::vector<double> abs_rows;      // Σ|w| of each row
};

// Outputs outside the bounds of (a), (b) and (c); with `report`, the first few as failures.
struct Mismatches {
  int a = 0, b = 0, c = 0;
};

Mismatches CountMismatches(const Case& k, const std::vector<float>& y, bool report) {
  Mismatches count;
  const OperandError stated = StatedError(k.type, k.n);
  auto fail = [&](int* counter, const std::string& what) {
    if ((*counter)++ < 5 && report) ADD_FAILURE() << k.Name() << ": " << what;
  };
  for (int64_t o = 0; o < k.out; ++o) {
    for (int64_t r = 0; r < k.n; ++r) {
      const size_t at = static_cast<size_t>(r * k.out + o);
      const Dot& gpu = k.gpu[k.At(r, o)];
      const Dot& cpu = k.cpu[k.At(r, o)];
      const Dot& exact = k.exact[k.At(r, o)];
      const double got = y[at];
      const double gpu_error = SumError(k.in, gpu.magnitude, 2.0);
      const std::string where =
          "y[" + std::to_string(r) + "][" + std::to_string(o) + "] = " + std::to_string(got);

      // (a) Only f32 summation separates the result from the exact product of its operands.
      if (!(std::fabs(got - gpu.value) <= gpu_error)) {
        fail(&count.a, where + ", exact on the GPU's operands " + std::to_string(gpu.value) +
                           ", bound " + std::to_string(gpu_error));
      }
      // (b) The integer path repeats the CPU's arithmetic exactly; elsewhere the two results
      // differ by their summation errors and by what their operands differ by.
      if (k.integer_path) {
        if (std::memcmp(&y[at], &k.y_cpu[at], sizeof(float)) != 0) {
          fail(&count.b, where + ", cpu::Matmul " + std::to_string(k.y_cpu[at]) + " (bitwise)");
        }
      } else {
        const double bound =
            gpu_error + SumError(k.in, cpu.magnitude, 1.0) + std::fabs(gpu.value - cpu.value);
        if (!(std::fabs(got - k.y_cpu[at]) <= bound)) {
          fail(&count.b, where + ", cpu::Matmul " + std::to_string(k.y_cpu[at]) + ", bound " +
                             std::to_string(bound));
        }
      }
      // (c) Against the exact product, within the error matmul.h states for the path.
      if (stated.relative >= 0.0) {
        const double bound =
            gpu_error + stated.relative * exact.magnitude + stated.absolute * k.abs_rows[o];
        if (!(std::fabs(got - exact.value) <= bound)) {
          fail(&count.c, where + ", exact " + std::to_string(exact.value) + ", stated bound " +
                             std::to_string(bound));
        }
      }
    }
  }
  return count;
}

class MatmulTest : public gpu_testing::CudaWeightsTest {
 protected:
  // Runs one case on the GPU and checks (a), (b) and (c).
  void Check(DType type, Shape shape, int64_t n, bool raw, cuda::MatmulScratch& scratch) {
    const Case k(type, shape, n, raw);
    SCOPED_TRACE(k.Name() + (raw ? " raw" : ""));
    float* y_device = Poisoned<float>(n * k.out);
    const absl::Status status = cuda::Matmul(ToDevice(k.w.tensor), ToDevice(k.x), n, y_device,
                                             scratch, cublas_.get(), stream_.get());
    ASSERT_TRUE(status.ok()) << status;
    const Mismatches count = CountMismatches(k, ToHost(y_device, n * k.out), /*report=*/true);
    EXPECT_EQ(count.a, 0) << "(a) mismatches against the GPU operands' exact product";
    EXPECT_EQ(count.b, 0) << "(b) mismatches against cpu::Matmul";
    EXPECT_EQ(count.c, 0) << "(c) mismatches against the stated error";
  }
};

TEST_F(MatmulTest, EveryDtypeAndRowCount) {
  cuda::MatmulScratch scratch;
  // max_out 32: block-format weights with more than 8 rows go in tiles of 32 rows (3 or 2 here).
  ASSERT_TRUE(scratch.Reserve(513, 2304, 32).ok());
  for (DType type : testing_util::AllWeightTypes()) {
    for (const Shape& shape : kShapes) {
      for (int64_t n : kRowCounts) Check(type, shape, n, /*raw=*/false, scratch);
    }
  }
}

TEST_F(MatmulTest, RandomBlockBytes) {
  cuda::MatmulScratch scratch;
  ASSERT_TRUE(scratch.Reserve(64, 2304, 32).ok());
  for (DType type : testing_util::AllWeightTypes()) {
    if (!IsBlockFormat(type)) continue;
    for (int64_t n : {1, 8, 9, 64}) Check(type, kShapes[1], n, /*raw=*/true, scratch);
  }
}

TEST_F(MatmulTest, WholeWeightInOneTile) {
  cuda::MatmulScratch scratch;
  ASSERT_TRUE(scratch.Reserve(64, 512, 4096).ok());
  for (DType type : {DType::kQ4_0, DType::kQ5_1, DType::kQ4_K, DType::kQ6_K}) {
    Check(type, kShapes[0], 64, /*raw=*/false, scratch);
  }
}

TEST_F(MatmulTest, RejectsCallsLargerThanTheScratch) {
  cuda::MatmulScratch scratch;
  ASSERT_TRUE(scratch.Reserve(8, 256, 16).ok());
  EXPECT_GT(scratch.bytes(), 0);
  const BlockWeights w(DType::kQ4_0, 16, 512, 1);
  const Tensor device = ToDevice(w.tensor);
  float* x = Poisoned<float>(16 * 512);
  float* y = Poisoned<float>(16 * 16);
  EXPECT_EQ(cuda::Matmul(device, x, 1, y, scratch, cublas_.get(), stream_.get()).code(),
            absl::StatusCode::kInvalidArgument);  // in 512 > 256
  const Tensor narrow = device.Reshaped({32, 256});
  EXPECT_TRUE(cuda::Matmul(narrow, x, 8, y, scratch, cublas_.get(), stream_.get()).ok());
  EXPECT_EQ(cuda::Matmul(narrow, x, 9, y, scratch, cublas_.get(), stream_.get()).code(),
            absl::StatusCode::kInvalidArgument);  // 9 rows > 8
  EXPECT_TRUE(stream_.Synchronize().ok());
}

// Rows that do not start on 16 bytes (in 576: Q4_0 rows of 324 bytes) and float rows that are not
// whole 16-byte loads (in 572), so the kernels take their narrow-load paths.
TEST_F(MatmulTest, RowsNotSixteenByteAligned) {
  cuda::MatmulScratch scratch;
  ASSERT_TRUE(scratch.Reserve(8, 576, 64).ok());
  for (DType type : {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0}) {
    for (int64_t n : {1, 3, 8}) Check(type, {33, 576}, n, /*raw=*/true, scratch);
  }
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (int64_t n : {1, 8}) Check(type, {33, 572}, n, /*raw=*/false, scratch);
  }
}

// Weights of one launch, as MatmulShared takes them, with their device copies.
struct SharedCase {
  SharedCase(const std::vector<DType>& types, int64_t in, uint32_t seed) {
    const int64_t outs[] = {77, 45, 8, 131};
    for (size_t k = 0; k < types.size(); ++k) {
      weights.emplace_back(types[k], outs[k], in, static_cast<uint32_t>(seed + k));
    }
  }
  std::deque<BlockWeights> weights;  // not movable
};

class SharedMatmulTest : public gpu_testing::CudaWeightsTest {};

// Each product of a shared launch is what a Matmul of its own gives, bit for bit (and, for block
// formats on the mat-vec path, cpu::Matmul's), with 2, 3 and 4 weights of one or mixed dtypes.
TEST_F(SharedMatmulTest, ProductsEqualSeparateMatmuls) {
  constexpr int64_t kIn = 2304;
  cuda::MatmulScratch scratch;
  ASSERT_TRUE(scratch.Reserve(9, kIn, 131).ok());
  cpu::ThreadPool pool(2);
  cpu::MatmulScratch cpu_scratch;
  const std::vector<std::vector<DType>> groups = {
      {DType::kQ4_K, DType::kQ4_K},
      {DType::kQ8_0, DType::kQ8_0, DType::kQ8_0},
      {DType::kQ4_K, DType::kQ6_K, DType::kQ4_K, DType::kQ6_K},
      {DType::kQ4_0, DType::kQ6_K, DType::kBF16},
      {DType::kF16, DType::kF16, DType::kF32, DType::kQ5_1},
  };
  for (const std::vector<DType>& types : groups) {
    const SharedCase c(types, kIn, 300);
    for (int64_t n : {1, 3, 8, 9}) {
      const std::vector<float> x = cpu::testing_util::RandomActivations(n, kIn, 40);
      const float* x_device = ToDevice(x);
      std::vector<Tensor> w_device;
      for (const BlockWeights& w : c.weights) w_device.push_back(ToDevice(w.tensor));
      std::vector<cuda::SharedProduct> products;
      for (const Tensor& w : w_device) {
        products.push_back({&w, Poisoned<float>(static_cast<size_t>(n * w.dim(0)))});
      }
      ASSERT_TRUE(
          cuda::MatmulShared(products, x_device, n, scratch, cublas_.get(), stream_.get()).ok());
      for (size_t k = 0; k < products.size(); ++k) {
        const int64_t out = w_device[k].dim(0);
        SCOPED_TRACE(std::string(DTypeName(w_device[k].dtype())) + " weight " + std::to_string(k) +
                     " of " + std::to_string(products.size()) + ", n " + std::to_string(n));
        float* alone = Poisoned<float>(static_cast<size_t>(n * out));
        ASSERT_TRUE(
            cuda::Matmul(w_device[k], x_device, n, alone, scratch, cublas_.get(), stream_.get())
                .ok());
        const std::vector<float> shared = ToHost(products[k].y, static_cast<size_t>(n * out));
        const std::vector<float> want = ToHost(alone, static_cast<size_t>(n * out));
        EXPECT_EQ(std::memcmp(shared.data(), want.data(), shared.size() * sizeof(float)), 0);
        if (IsBlockFormat(w_device[k].dtype()) && n <= kMatVecMaxRows) {
          std::vector<float> y_cpu(shared.size());
          cpu::Matmul(c.weights[k].tensor, x.data(), n, y_cpu.data(), pool, cpu_scratch);
          EXPECT_EQ(std::memcmp(shared.data(), y_cpu.data(), shared.size() * sizeof(float)), 0)
              << "not cpu::Matmul's bit for bit";
        }
      }
    }
  }
}

// MatvecGated against its twin, the products (MatmulShared, cpu::Matmul's bit for bit for block
// formats) followed by the CPU's activation: within the bounds tests/gpu/ops_test.cc derives for
// CUDA's SiluMul and GeluTanhMul against the CPU's (expf and tanhf within 2 ulp on each side).
TEST_F(SharedMatmulTest, GatedEqualsProductsThenActivation) {
  cuda::MatmulScratch scratch;
  ASSERT_TRUE(scratch.Reserve(8, 2304, 77).ok());
  int mismatches = 0;
  for (DType type : testing_util::AllWeightTypes()) {
    for (const Shape& shape : kShapes) {
      const BlockWeights gate(type, shape.out, shape.in, 501), up(type, shape.out, shape.in, 502);
      const Tensor gate_device = ToDevice(gate.tensor), up_device = ToDevice(up.tensor);
      for (int64_t n : {1, 5, 8}) {
        const std::vector<float> x = cpu::testing_util::RandomActivations(n, shape.in, 60);
        const float* x_device = ToDevice(x);
        const size_t count = static_cast<size_t>(n * shape.out);
        float* g = Poisoned<float>(count);
        float* u = Poisoned<float>(count);
        const cuda::SharedProduct products[] = {{&gate_device, g}, {&up_device, u}};
        ASSERT_TRUE(
            cuda::MatmulShared(products, x_device, n, scratch, cublas_.get(), stream_.get()).ok());
        const std::vector<float> g_host = ToHost(g, count), u_host = ToHost(u, count);
        for (GatedActivation act : {GatedActivation::kSilu, GatedActivation::kGeluTanh}) {
          const bool silu = act == GatedActivation::kSilu;
          SCOPED_TRACE(Name(type) + " out " + std::to_string(shape.out) + " in " +
                       std::to_string(shape.in) + " n " + std::to_string(n) +
                       (silu ? " silu" : " gelu_tanh"));
          float* got_device = Poisoned<float>(count);
          ASSERT_TRUE(cuda::MatvecGated(gate_device, up_device, x_device, n, act, got_device,
                                        scratch, stream_.get())
                          .ok());
          const std::vector<float> got = ToHost(got_device, count);
          std::vector<float> want(count);
          if (silu) {
            cpu::SiluMul(want.data(), g_host.data(), u_host.data(), static_cast<int64_t>(count));
          } else {
            cpu::GeluTanhMul(want.data(), g_host.data(), u_host.data(),
                             static_cast<int64_t>(count));
          }
          for (size_t i = 0; i < count; ++i) {
            const double gu = std::fabs(static_cast<double>(g_host[i]) * u_host[i]);
            const double bound = silu ? 2e-6 * std::fabs(want[i]) + 1e-38 * gu + FLT_MIN
                                      : std::ldexp(1.0, -21) * std::fabs(want[i]) +
                                            std::ldexp(1.0, -22) * gu + FLT_MIN;
            if (!(std::fabs(static_cast<double>(got[i]) - want[i]) <= bound) && mismatches++ < 10) {
              ADD_FAILURE() << "out[" << i << "] = " << got[i] << ", products then activation "
                            << want[i] << ", bound " << bound;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

// ---- Host-only checks of the test itself and of the arguments: no device is touched. ----

// The bounds pass what the GPU computes, emulated (the integer path's result is cpu::Matmul's;
// elsewhere the exact product of the GPU's operands rounded to f32), and reject the same with
// realistic bugs: each block's two halves of weights swapped, one block left out.
TEST(MatmulToleranceTest, PassesTheRightResultAndRejectsWrongOnes) {
  for (DType type : testing_util::AllWeightTypes()) {
    for (int64_t n : {1, 9, 64}) {
      const Case k(type, kShapes[1], n, /*raw=*/false);
      SCOPED_TRACE(k.Name());
      std::vector<float> right(static_cast<size_t>(n * k.out));
      std::vector<float> swapped(right.size()), dropped(right.size());
      for (int64_t o = 0; o < k.out; ++o) {
        const std::vector<float> row = k.w.Row(o);
        std::vector<float> row_swapped = row, row_dropped = row;
        for (int64_t i = 0; i < k.in; i += 32) {
          std::swap_ranges(row_swapped.begin() + i, row_swapped.begin() + i + 16,
                           row_swapped.begin() + i + 16);
        }
        std::fill(row_dropped.begin() + 32, row_dropped.begin() + 64, 0.0f);
        for (int64_t r = 0; r < n; ++r) {
          const size_t at = static_cast<size_t>(r * k.out + o);
          right[at] = k.integer_path ? k.y_cpu[at] : static_cast<float>(k.gpu[k.At(r, o)].value);
          // The wrong weights change the result by their dot product's change.
          const std::vector<float> zeros(static_cast<size_t>(k.in), 0.0f);
          const float* xr = k.x.data() + r * k.in;
          const double base = DotOf(row.data(), zeros.data(), xr, k.in).value;
          swapped[at] = static_cast<float>(
              right[at] + DotOf(row_swapped.data(), zeros.data(), xr, k.in).value - base);
          dropped[at] = static_cast<float>(
              right[at] + DotOf(row_dropped.data(), zeros.data(), xr, k.in).value - base);
        }
      }
      const Mismatches ok = CountMismatches(k, right, /*report=*/true);
      EXPECT_EQ(ok.a + ok.b + ok.c, 0);
      const int64_t outputs = n * k.out;
      const Mismatches bad_swap = CountMismatches(k, swapped, /*report=*/false);
      const Mismatches bad_drop = CountMismatches(k, dropped, /*report=*/false);
      EXPECT_GT(bad_swap.a, outputs * 9 / 10) << bad_swap.a << " of " << outputs;
      EXPECT_GT(bad_drop.a, outputs / 2) << bad_drop.a << " of " << outputs;
    }
  }
}

void* FakeDevicePointer() { return reinterpret_cast<void*>(uintptr_t{1} << 20); }

absl::StatusCode MatmulCode(const Tensor& w, int64_t n, cublasHandle_t cublas = nullptr) {
  cuda::MatmulScratch scratch;  // never reserved
  float* x = static_cast<float*>(FakeDevicePointer());
  return cuda::Matmul(w, x, n, x, scratch, cublas, nullptr).code();
}

TEST(MatmulArgsTest, RejectsWeightsItCannotRun) {
  void* p = FakeDevicePointer();
  const absl::StatusCode invalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(MatmulCode(Tensor(DType::kQ4_0, {4, 64}, p, Device::kCpu), 1), invalid);
  EXPECT_EQ(MatmulCode(Tensor(DType::kQ4_0, {256}, p, Device::kCuda), 1), invalid);
  EXPECT_EQ(MatmulCode(Tensor(DType::kQ8_K, {4, 256}, p, Device::kCuda), 1), invalid);
  EXPECT_EQ(MatmulCode(Tensor(DType::kQ4_0, {4, 48}, p, Device::kCuda), 1), invalid);
  EXPECT_EQ(MatmulCode(Tensor(DType::kQ4_K, {4, 128}, p, Device::kCuda), 1), invalid);
  EXPECT_EQ(MatmulCode(Tensor(DType::kF32, {4, 64}, static_cast<char*>(p) + 2, Device::kCuda), 1),
            invalid);
  EXPECT_EQ(MatmulCode(Tensor(DType::kQ4_0, {4, 64}, nullptr, Device::kCuda), 1), invalid);
}

TEST(MatmulArgsTest, RejectsBadCallsAndAcceptsEmptyOnes) {
  void* p = FakeDevicePointer();
  const absl::StatusCode invalid = absl::StatusCode::kInvalidArgument;
  const Tensor q4(DType::kQ4_0, {4, 64}, p, Device::kCuda);
  const Tensor f32(DType::kF32, {4, 64}, p, Device::kCuda);
  EXPECT_EQ(MatmulCode(q4, -1), invalid);
  EXPECT_EQ(MatmulCode(q4, 1), invalid);   // scratch not reserved
  EXPECT_EQ(MatmulCode(f32, 9), invalid);  // no cuBLAS handle
  EXPECT_EQ(MatmulCode(q4, 9), invalid);   // no cuBLAS handle for the GEMM path
  EXPECT_EQ(MatmulCode(q4, 0), absl::StatusCode::kOk);
  EXPECT_EQ(MatmulCode(Tensor(DType::kQ4_0, {0, 64}, nullptr, Device::kCuda), 3),
            absl::StatusCode::kOk);
  cuda::MatmulScratch scratch;
  EXPECT_EQ(cuda::Matmul(q4, nullptr, 1, static_cast<float*>(p), scratch, nullptr, nullptr).code(),
            invalid);
  EXPECT_EQ(cuda::Matmul(q4, static_cast<float*>(p), 1, nullptr, scratch, nullptr, nullptr).code(),
            invalid);
  const absl::Status named = cuda::Matmul(f32, static_cast<float*>(p), 9, static_cast<float*>(p),
                                          scratch, nullptr, nullptr);
  EXPECT_NE(std::string(named.message()).find("cuda::Matmul: cublas"), std::string::npos) << named;
}

TEST(MatmulArgsTest, SharedAndGatedRejectBadCalls) {
  void* p = FakeDevicePointer();
  float* f = static_cast<float*>(p);
  const absl::StatusCode invalid = absl::StatusCode::kInvalidArgument;
  const Tensor q4(DType::kQ4_0, {4, 64}, p, Device::kCuda);
  const Tensor q4_wide(DType::kQ4_0, {4, 128}, p, Device::kCuda);
  const Tensor q8(DType::kQ8_0, {4, 64}, p, Device::kCuda);
  cuda::MatmulScratch scratch;  // never reserved
  const cuda::SharedProduct five[] = {{&q4, f}, {&q4, f}, {&q4, f}, {&q4, f}, {&q4, f}};
  EXPECT_EQ(cuda::MatmulShared(five, f, 1, scratch, nullptr, nullptr).code(), invalid);
  EXPECT_EQ(cuda::MatmulShared({}, f, 1, scratch, nullptr, nullptr).code(), invalid);
  const cuda::SharedProduct mixed_rows[] = {{&q4, f}, {&q4_wide, f}};
  EXPECT_EQ(cuda::MatmulShared(mixed_rows, f, 1, scratch, nullptr, nullptr).code(), invalid);
  const cuda::SharedProduct null_y[] = {{&q4, f}, {&q8, nullptr}};
  EXPECT_EQ(cuda::MatmulShared(null_y, f, 1, scratch, nullptr, nullptr).code(), invalid);
  const GatedActivation silu = GatedActivation::kSilu;
  EXPECT_EQ(cuda::MatvecGated(q4, q8, f, 1, silu, f, scratch, nullptr).code(), invalid);
  EXPECT_EQ(cuda::MatvecGated(q4, q4_wide, f, 1, silu, f, scratch, nullptr).code(), invalid);
  EXPECT_EQ(cuda::MatvecGated(q4, q4, f, 9, silu, f, scratch, nullptr).code(), invalid);
  EXPECT_EQ(cuda::MatvecGated(q4, q4, f, 1, silu, f, scratch, nullptr).code(), invalid);  // scratch
  EXPECT_EQ(cuda::MatvecGated(q4, q4, nullptr, 1, silu, f, scratch, nullptr).code(), invalid);
  EXPECT_TRUE(cuda::MatvecGated(q4, q4, f, 0, silu, f, scratch, nullptr).ok());
}

TEST(MatmulArgsTest, ReserveRejectsEmptySizes) {
  cuda::MatmulScratch scratch;
  EXPECT_EQ(scratch.Reserve(0, 64, 64).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scratch.Reserve(1, -1, 64).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scratch.Reserve(1, 64, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scratch.bytes(), 0);
}

}  // namespace
}  // namespace llmw
