// The CUDA element-wise and row-wise ops (kernels/cuda/ops.h, and the fused RopeWriteKv of
// kernels/cuda/attention.h) against their cpu:: twins (kernels/cpu/ops.h) on fresh random inputs
// over edge shapes, and their argument checks.
//
// Device tests skip without a usable GPU and fail under LLMW_REQUIRE_GPU=1 (cuda_device_test.h).
// Every device array starts as 0xFF bytes (a NaN) and has a guard of such elements after it, so an
// output element left unwritten, or a write past the end, fails. Each comparison states its
// tolerance and the reason for it.
#include "kernels/cpu/ops.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/ops.h"
#include "tests/gpu/cuda_device_test.h"

namespace llmw {
namespace {

using ::testing::HasSubstr;

#define LLMW_ASSERT_OK(expr)                              \
  do {                                                    \
    const absl::Status llmw_assert_ok_ = (expr);          \
    ASSERT_TRUE(llmw_assert_ok_.ok()) << llmw_assert_ok_; \
  } while (false)

// The token counts that find bugs: one, a warp's worth of edges, and a count past a power of 2.
constexpr int64_t kTokenCounts[] = {1, 8, 9, 64, 513};
// Element counts for the element-wise ops; the last needs more than one grid (4096 blocks of 256).
constexpr int64_t kElementCounts[] = {1, 8, 9, 64, 513, 4096 * 256 + 513};

// ---- Host-only: argument checks. No call below reaches a device, so these run everywhere. ----

struct InvalidCase {
  absl::Status status;
  const char* op;
  const char* argument;  // the message must name it
};

TEST(CudaOpsArgsTest, RejectsBadArgumentsNamingThem) {
  float host = 0;  // A non-null pointer for the arguments that are fine; never dereferenced.
  float* p = &host;
  const int32_t index = 0;
  const int32_t* ip = &index;
  const int64_t kHuge = int64_t{1} << 62;
  const InvalidCase cases[] = {
      {cuda::RmsNorm(p, p, p, -1, 64, 1e-6f, 0, nullptr), "RmsNorm", "rows"},
      {cuda::RmsNorm(p, p, p, 2, -64, 1e-6f, 0, nullptr), "RmsNorm", "dim"},
      {cuda::RmsNorm(p, nullptr, p, 2, 64, 1e-6f, 0, nullptr), "RmsNorm", "x"},
      {cuda::RmsNorm(nullptr, p, p, 2, 64, 1e-6f, 0, nullptr), "RmsNorm", "out"},
      {cuda::RmsNorm(p, p, nullptr, 2, 64, 1e-6f, 1, nullptr), "RmsNorm", "weight"},
      {cuda::RmsNorm(p, p, p, kHuge, 8, 1e-6f, 0, nullptr), "RmsNorm", "overflow"},
      {cuda::LayerNorm(p, p, nullptr, p, 2, 64, 1e-5f, nullptr), "LayerNorm", "weight"},
      {cuda::LayerNorm(p, p, p, p, 2, -1, 1e-5f, nullptr), "LayerNorm", "dim"},
      {cuda::RopeAngles(p, p, ip, 9, p, -32, nullptr), "RopeAngles", "half_rot"},
      {cuda::RopeAngles(p, p, nullptr, 9, p, 32, nullptr), "RopeAngles", "positions"},
      {cuda::RopeAngles(p, nullptr, ip, 9, p, 32, nullptr), "RopeAngles", "sin"},
      {cuda::Rope(p, p, p, 9, 4, 128, 127, RopePairing::kAdjacent, nullptr), "Rope", "rot_dim"},
      {cuda::Rope(p, p, p, 9, 4, 128, 130, RopePairing::kRotateHalf, nullptr), "Rope", "rot_dim"},
      {cuda::Rope(p, p, p, 9, -4, 128, 64, RopePairing::kAdjacent, nullptr), "Rope", "n_heads"},
      {cuda::Rope(p, p, nullptr, 9, 4, 128, 64, RopePairing::kAdjacent, nullptr), "Rope", "sin"},
      {cuda::GeluTanh(p, p, -1, nullptr), "GeluTanh", "n"},
      {cuda::GeluTanh(p, nullptr, 8, nullptr), "GeluTanh", "x"},
      {cuda::GeluTanhMul(p, p, nullptr, 8, nullptr), "GeluTanhMul", "up"},
      {cuda::Scale(nullptr, p, 2.0f, 8, nullptr), "Scale", "out"},
      {cuda::Add(p, p, p, -8, nullptr), "Add", "n"},
      {cuda::Add(p, nullptr, p, 8, nullptr), "Add", "a"},
      {cuda::AddRowBias(p, p, 3, -1, nullptr), "AddRowBias", "width"},
      {cuda::AddRowBias(p, nullptr, 3, 8, nullptr), "AddRowBias", "bias"},
      {cuda::GatherRows(p, p, ip, 2, 8, nullptr), "GatherRows", "out is x"},
      {cuda::GatherRows(p, p + 1, nullptr, 2, 8, nullptr), "GatherRows", "rows"},
      {cuda::GatherRows(p, p + 1, ip, 2, -8, nullptr), "GatherRows", "width"},
  };
  for (const InvalidCase& c : cases) {
    EXPECT_EQ(c.status.code(), absl::StatusCode::kInvalidArgument) << c.status;
    EXPECT_THAT(std::string(c.status.message()), HasSubstr(absl::StrCat("cuda::", c.op)));
    EXPECT_THAT(std::string(c.status.message()), HasSubstr(c.argument));
  }
}

TEST(CudaOpsArgsTest, EmptyWorkIsOkWithoutTouchingPointers) {
  const absl::Status empty[] = {
      cuda::RmsNorm(nullptr, nullptr, nullptr, 0, 64, 1e-6f, 0, nullptr),
      cuda::RmsNorm(nullptr, nullptr, nullptr, 4, 0, 1e-6f, 0, nullptr),
      cuda::LayerNorm(nullptr, nullptr, nullptr, nullptr, 0, 64, 1e-5f, nullptr),
      cuda::RopeAngles(nullptr, nullptr, nullptr, 0, nullptr, 32, nullptr),
      cuda::Rope(nullptr, nullptr, nullptr, 0, 4, 128, 128, RopePairing::kAdjacent, nullptr),
      cuda::Rope(nullptr, nullptr, nullptr, 9, 4, 128, 0, RopePairing::kRotateHalf, nullptr),
      cuda::GeluTanh(nullptr, nullptr, 0, nullptr),
      cuda::GeluTanhMul(nullptr, nullptr, nullptr, 0, nullptr),
      cuda::Scale(nullptr, nullptr, 2.0f, 0, nullptr),
      cuda::Add(nullptr, nullptr, nullptr, 0, nullptr),
      cuda::AddRowBias(nullptr, nullptr, 0, 8, nullptr),
      cuda::GatherRows(nullptr, nullptr, nullptr, 0, 8, nullptr),
  };
  for (const absl::Status& s : empty) EXPECT_TRUE(s.ok()) << s;
}

// ---- Device checks. ----

// Elements of poison after every device array.
constexpr int64_t kGuard = 64;

std::vector<float> RandomFloats(int64_t n, float mean, float stddev, std::mt19937& rng) {
  std::normal_distribution<float> dist(mean, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

bool IsPoison(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  return bits == 0xFFFFFFFFu;
}

// Reports the elements for which bad(i) holds: the first few with their values, and the count.
template <typename Bad>
void ExpectNoneBad(const std::vector<float>& got, const std::vector<float>& want, Bad bad) {
  ASSERT_EQ(got.size(), want.size());
  int64_t count = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!bad(i)) continue;
    if (count++ < 8) {
      ADD_FAILURE() << "element " << i << ": got " << got[i] << " want " << want[i] << " (error "
                    << std::abs(static_cast<double>(got[i]) - want[i]) << ")";
    }
  }
  EXPECT_EQ(count, 0) << "elements differ, of " << got.size();
}

// Expects |got[i] - want[i]| <= allowed(i) for every i; equal values (infinities included) always
// pass, NaN never does.
template <typename Allowed>
void ExpectNear(const std::vector<float>& got, const std::vector<float>& want, Allowed allowed) {
  ExpectNoneBad(got, want, [&](size_t i) {
    return got[i] != want[i] && !(std::abs(static_cast<double>(got[i]) - want[i]) <= allowed(i));
  });
}

// The same bits everywhere (so +0 and -0 differ).
void ExpectBitwiseEqual(const std::vector<float>& got, const std::vector<float>& want) {
  ExpectNoneBad(got, want,
                [&](size_t i) { return std::memcmp(&got[i], &want[i], sizeof(float)) != 0; });
}

// A device array of n elements of T and kGuard more, all bytes 0xFF.
template <typename T>
struct DeviceArray {
  DeviceBuffer buffer;
  int64_t n = 0;
  T* get() const { return buffer.data_as<T>(); }
};

class CudaOpsTest : public CudaDeviceTest {
 protected:
  template <typename T>
  DeviceArray<T> Poisoned(int64_t n) {
    DeviceArray<T> array;
    array.n = n;
    absl::StatusOr<DeviceBuffer> buffer = DeviceBuffer::Allocate((n + kGuard) * sizeof(T));
    EXPECT_TRUE(buffer.ok()) << buffer.status();
    if (!buffer.ok()) return array;
    array.buffer = *std::move(buffer);
    EXPECT_EQ(cudaMemsetAsync(array.buffer.data(), 0xFF, array.buffer.size(), stream_.get()),
              cudaSuccess);
    return array;
  }

  template <typename T>
  DeviceArray<T> Upload(const std::vector<T>& host) {
    DeviceArray<T> array = Poisoned<T>(static_cast<int64_t>(host.size()));
    const absl::Status s =
        CopyToDevice(array.buffer, host.data(), host.size() * sizeof(T), stream_.get());
    EXPECT_TRUE(s.ok()) << s;
    return array;
  }

  // The array's elements once every queued op has run; expects its guard still poison.
  std::vector<float> Download(const DeviceArray<float>& array) {
    std::vector<float> all(array.n + kGuard);
    const absl::Status copied =
        CopyToHost(all.data(), array.buffer, all.size() * sizeof(float), stream_.get());
    EXPECT_TRUE(copied.ok()) << copied;
    const absl::Status done = stream_.Synchronize();
    EXPECT_TRUE(done.ok()) << done;
    for (int64_t i = array.n; i < array.n + kGuard; ++i) {
      if (!IsPoison(all[i])) {
        ADD_FAILURE() << "written past the end: element " << i << " of " << array.n;
        break;
      }
    }
    all.resize(array.n);
    return all;
  }

  std::mt19937 rng_{20261204};
};

// Tolerance of both norms: the float statistics equal the CPU's except when a double sum, added
// in another order, rounds to the neighbouring float (see norms.cu). A one-ulp scale then moves
// an output by one ulp, and its two or three roundings may each go the other way: 2^-21 of the
// magnitude covers that with a factor of 2 to spare. FLT_MIN: results in the subnormal range have
// absolute, not relative, rounding error.
constexpr double kNormRtol = 0x1p-21;

struct NormShape {
  int64_t rows;
  int64_t dim;
};

std::vector<NormShape> NormShapes() {
  std::vector<NormShape> shapes;
  for (int64_t rows : kTokenCounts) {
    for (int64_t dim : {64, 80, 128, 256, 576, 2048}) shapes.push_back({rows, dim});
  }
  // Rows shorter than a warp, longer than a block, of odd lengths; per-head norms as the models
  // call them ([tokens · heads, head_dim]).
  shapes.push_back({3, 1});
  shapes.push_back({9, 4097});
  shapes.push_back({2, 8193});
  shapes.push_back({9 * 32, 128});
  shapes.push_back({64 * 8, 256});
  return shapes;
}

// Rows that stress the statistics: zeros; values whose squares overflow a float sum (1e19² ·
// dim > FLT_MAX) but not the double one; values whose squares underflow a float.
void SetSpecialRows(std::vector<float>& x, int64_t rows, int64_t dim) {
  const float specials[] = {0.0f, 1e19f, 1e-20f};
  for (int64_t r = 1; r < rows && r <= 3; ++r) {
    for (int64_t i = 0; i < dim; ++i) {
      x[r * dim + i] = (i % 2 == 0 ? 1.0f : -1.0f) * specials[r - 1];
    }
  }
}

TEST_F(CudaOpsTest, RmsNormMatchesCpu) {
  int case_index = 0;
  for (const NormShape& shape : NormShapes()) {
    const int64_t rows = shape.rows, dim = shape.dim, n = rows * dim;
    const float w_offset = case_index % 2 == 0 ? 0.0f : 1.0f;  // Gemma's (1 + w) every other case
    const float eps = case_index++ % 3 == 0 ? 1e-5f : 1e-6f;
    SCOPED_TRACE(absl::StrCat("rows ", rows, " dim ", dim, " w_offset ", w_offset));
    std::vector<float> x = RandomFloats(n, 0.0f, 1.0f, rng_);
    SetSpecialRows(x, rows, dim);
    const std::vector<float> w = RandomFloats(dim, 0.1f, 0.5f, rng_);

    std::vector<float> want(n);
    cpu::RmsNorm(want.data(), x.data(), w.data(), rows, dim, eps, w_offset);

    const DeviceArray<float> d_x = Upload(x), d_w = Upload(w);
    const DeviceArray<float> d_out = Poisoned<float>(n);
    LLMW_ASSERT_OK(
        cuda::RmsNorm(d_out.get(), d_x.get(), d_w.get(), rows, dim, eps, w_offset, stream_.get()));
    const std::vector<float> got = Download(d_out);
    ExpectNear(got, want, [&](size_t i) { return kNormRtol * std::abs(want[i]) + FLT_MIN; });

    // In place: the same kernel in the same order, so the same bits.
    LLMW_ASSERT_OK(
        cuda::RmsNorm(d_x.get(), d_x.get(), d_w.get(), rows, dim, eps, w_offset, stream_.get()));
    ExpectBitwiseEqual(Download(d_x), got);
  }
}

// The error allowed in LayerNorm(x) (`want`, the CPU's). Per row, the mean and 1/std in double.
// Besides the norm tolerance: the float mean may be one ulp (≤ 2^-23·|mean|) off the CPU's,
// which moves x - mean, and so the output by that times scale·|w|; allowed twice. The relative
// part is of the product and the bias apart, as their sum may cancel.
std::vector<double> LayerNormAllowed(const std::vector<float>& x, const std::vector<float>& w,
                                     const float* bias, const std::vector<float>& want,
                                     int64_t rows, int64_t dim, float eps) {
  std::vector<double> mean(rows), scale(rows), allowed(want.size());
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0, sum_sq = 0;
    for (int64_t i = 0; i < dim; ++i) sum += x[r * dim + i];
    mean[r] = sum / dim;
    for (int64_t i = 0; i < dim; ++i) sum_sq += std::pow(x[r * dim + i] - mean[r], 2);
    scale[r] = 1.0 / std::sqrt(sum_sq / dim + eps);
  }
  for (size_t k = 0; k < want.size(); ++k) {
    const int64_t r = static_cast<int64_t>(k) / dim, i = static_cast<int64_t>(k) % dim;
    const double bias_i = bias != nullptr ? bias[i] : 0.0;
    allowed[k] = kNormRtol * (std::abs(want[k] - bias_i) + std::abs(bias_i)) +
                 0x1p-22 * std::abs(mean[r]) * scale[r] * std::abs(w[i]) + FLT_MIN;
  }
  return allowed;
}

TEST_F(CudaOpsTest, LayerNormMatchesCpu) {
  int case_index = 0;
  for (const NormShape& shape : NormShapes()) {
    const int64_t rows = shape.rows, dim = shape.dim, n = rows * dim;
    const bool with_bias = case_index++ % 2 == 0;
    SCOPED_TRACE(absl::StrCat("rows ", rows, " dim ", dim, with_bias ? " bias" : " no bias"));
    // Rows of different means and spreads, so that subtracting the mean matters.
    std::vector<float> x(n);
    std::uniform_real_distribution<float> row_mean(-4.0f, 4.0f), row_std(0.1f, 3.0f);
    for (int64_t r = 0; r < rows; ++r) {
      const std::vector<float> row = RandomFloats(dim, row_mean(rng_), row_std(rng_), rng_);
      std::copy(row.begin(), row.end(), x.begin() + r * dim);
    }
    SetSpecialRows(x, rows, dim);
    if (rows > 4) std::fill(x.begin() + 4 * dim, x.begin() + 5 * dim, 2.5f);  // variance 0
    const std::vector<float> w = RandomFloats(dim, 1.0f, 0.3f, rng_);
    const std::vector<float> b = RandomFloats(dim, 0.0f, 0.5f, rng_);
    const float* bias = with_bias ? b.data() : nullptr;
    constexpr float kEps = 1e-5f;

    std::vector<float> want(n);
    cpu::LayerNorm(want.data(), x.data(), w.data(), bias, rows, dim, kEps);

    const DeviceArray<float> d_x = Upload(x), d_w = Upload(w), d_b = Upload(b);
    const DeviceArray<float> d_out = Poisoned<float>(n);
    const float* d_bias = with_bias ? d_b.get() : nullptr;
    LLMW_ASSERT_OK(
        cuda::LayerNorm(d_out.get(), d_x.get(), d_w.get(), d_bias, rows, dim, kEps, stream_.get()));
    const std::vector<float> got = Download(d_out);

    const std::vector<double> allowed = LayerNormAllowed(x, w, bias, want, rows, dim, kEps);
    ExpectNear(got, want, [&](size_t k) { return allowed[k]; });

    LLMW_ASSERT_OK(
        cuda::LayerNorm(d_x.get(), d_x.get(), d_w.get(), d_bias, rows, dim, kEps, stream_.get()));
    ExpectBitwiseEqual(Download(d_x), got);
  }
}

// inv_freq[i] = base^(-2i / rot_dim), as the models compute it.
std::vector<float> InverseFrequencies(int64_t half_rot, double base) {
  std::vector<float> inv_freq(half_rot);
  for (int64_t i = 0; i < half_rot; ++i) {
    inv_freq[i] = static_cast<float>(std::pow(base, -2.0 * i / (2.0 * half_rot)));
  }
  return inv_freq;
}

std::vector<int32_t> RandomPositions(int64_t rows, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> dist(0, (1 << 17) - 1);
  std::vector<int32_t> positions(rows);
  for (int32_t& p : positions) p = dist(rng);
  // The first position of a sequence, and the largest ones a float still holds exactly and not.
  const int32_t edges[] = {0, 1, (1 << 24) - 1, 2147483647};
  for (int64_t r = 0; r < rows && r < 4; ++r) positions[r] = edges[r];
  return positions;
}

TEST_F(CudaOpsTest, RopeAnglesMatchCpu) {
  for (int64_t rows : kTokenCounts) {
    // Partial rotary (phi-2: 32 of 80), head_dim 64, 80, 128, 256 in full.
    for (int64_t half_rot : {16, 32, 40, 64, 128}) {
      const double base = rows % 2 == 0 ? 10000.0 : 500000.0;  // Llama 2's and Llama 3's
      SCOPED_TRACE(absl::StrCat("rows ", rows, " half_rot ", half_rot));
      const std::vector<int32_t> positions = RandomPositions(rows, rng_);
      const std::vector<float> inv_freq = InverseFrequencies(half_rot, base);
      const int64_t n = rows * half_rot;
      std::vector<float> want_cos(n), want_sin(n);
      cpu::RopeAngles(want_cos.data(), want_sin.data(), positions.data(), rows, inv_freq.data(),
                      half_rot);

      const DeviceArray<int32_t> d_positions = Upload(positions);
      const DeviceArray<float> d_inv_freq = Upload(inv_freq);
      const DeviceArray<float> d_cos = Poisoned<float>(n), d_sin = Poisoned<float>(n);
      LLMW_ASSERT_OK(cuda::RopeAngles(d_cos.get(), d_sin.get(), d_positions.get(), rows,
                                      d_inv_freq.get(), half_rot, stream_.get()));
      // The angles are the same float products on both sides. CUDA's sincosf is within 2 ulp and
      // glibc's cosf and sinf within 1; 2^-20 relative is at least 8 ulp, twice their sum and more.
      const auto allowed = [](const std::vector<float>& want) {
        return [&want](size_t i) { return 0x1p-20 * std::abs(want[i]) + FLT_MIN; };
      };
      ExpectNear(Download(d_cos), want_cos, allowed(want_cos));
      ExpectNear(Download(d_sin), want_sin, allowed(want_sin));
    }
  }
}

struct RopeCase {
  int64_t rows;
  int64_t n_heads;
  int64_t head_dim;
  int64_t rot_dim;
};

TEST_F(CudaOpsTest, RopeMatchesCpu) {
  const RopeCase cases[] = {
      {1, 32, 128, 128}, {8, 8, 64, 64},    {9, 4, 80, 32},  // phi-2's partial rotation
      {64, 4, 256, 256}, {513, 2, 128, 64}, {9, 1, 80, 80}, {513, 8, 64, 64}, {8, 3, 256, 2},
  };
  for (const RopeCase& c : cases) {
    for (RopePairing pairing : {RopePairing::kAdjacent, RopePairing::kRotateHalf}) {
      const bool adjacent = pairing == RopePairing::kAdjacent;
      SCOPED_TRACE(absl::StrCat("rows ", c.rows, " heads ", c.n_heads, " head_dim ", c.head_dim,
                                " rot_dim ", c.rot_dim, adjacent ? " adjacent" : " rotate-half"));
      const int64_t half = c.rot_dim / 2, width = c.n_heads * c.head_dim, n = c.rows * width;
      std::vector<float> cos(c.rows * half), sin(c.rows * half);
      const std::vector<int32_t> positions = RandomPositions(c.rows, rng_);
      cpu::RopeAngles(cos.data(), sin.data(), positions.data(), c.rows,
                      InverseFrequencies(half, 10000.0).data(), half);
      const std::vector<float> x = RandomFloats(n, 0.0f, 1.0f, rng_);
      std::vector<float> want = x;
      cpu::Rope(want.data(), cos.data(), sin.data(), c.rows, c.n_heads, c.head_dim, c.rot_dim,
                pairing);

      const DeviceArray<float> d_x = Upload(x), d_cos = Upload(cos), d_sin = Upload(sin);
      LLMW_ASSERT_OK(cuda::Rope(d_x.get(), d_cos.get(), d_sin.get(), c.rows, c.n_heads, c.head_dim,
                                c.rot_dim, pairing, stream_.get()));

      // Both sides round the same products and sums in the same order (no FMA contraction on
      // either), so the results should be the same bits; one ulp of the pair's larger input is
      // allowed in case a compiler contracts anyway. Dims past rot_dim must stay as they were.
      std::vector<double> allowed(n, 0.0);
      for (int64_t head = 0; head < c.rows * c.n_heads; ++head) {
        for (int64_t i = 0; i < half; ++i) {
          const int64_t a = head * c.head_dim + (adjacent ? 2 * i : i);
          const int64_t b = head * c.head_dim + (adjacent ? 2 * i + 1 : i + half);
          allowed[a] = allowed[b] = 0x1p-23 * (std::abs(x[a]) + std::abs(x[b]));
        }
      }
      ExpectNear(Download(d_x), want, [&](size_t i) { return allowed[i]; });
    }
  }
}

// Inputs for the activations: normal values with wide spread, and at the front the edges (zero,
// tiny, where e^±x overflows, huge).
std::vector<float> ActivationInputs(int64_t n, std::mt19937& rng) {
  std::vector<float> x = RandomFloats(n, 0.0f, 4.0f, rng);
  const float edges[] = {0.0f,  -0.0f,  1e-30f, -1e-30f, 10.0f, -10.0f,
                         88.0f, -88.0f, 100.0f, -100.0f, 1e30f, -1e30f};
  for (int64_t i = 0; i < n && i < static_cast<int64_t>(std::size(edges)); ++i) x[i] = edges[i];
  return x;
}

// GELU tolerance: the argument of tanh is the same float on both sides; tanhf is within 2 ulp on
// each, so the two t (|t| <= 1) are at most 4 ulp = 2^-22 apart, 1 + t at most 1.5·2^-22 after
// its rounding, and 0.5·x·(1 + t) at most 0.75·2^-22·|x|: 2^-22·|x| is allowed. Plus 2^-21
// relative for the roundings of the products.
constexpr double kGeluRtol = 0x1p-21;
constexpr double kGeluTanhAtolPerX = 0x1p-22;

TEST_F(CudaOpsTest, ActivationsMatchCpu) {
  for (int64_t n : kElementCounts) {
    SCOPED_TRACE(absl::StrCat("n ", n));
    const std::vector<float> gate = ActivationInputs(n, rng_);
    const std::vector<float> up = RandomFloats(n, 0.0f, 1.0f, rng_);
    const DeviceArray<float> d_gate = Upload(gate), d_up = Upload(up);
    std::vector<float> want(n);

    {
      SCOPED_TRACE("SiluMul");
      cpu::SiluMul(want.data(), gate.data(), up.data(), n);
      const DeviceArray<float> d_out = Poisoned<float>(n);
      LLMW_ASSERT_OK(cuda::SiluMul(d_out.get(), d_gate.get(), d_up.get(), n, stream_.get()));
      // CUDA's expf is within 2 ulp, the CPU's vector exp (simd_exp.h) within a few; with the
      // division and products, 2e-6 relative (about 16 ulp). The CPU's exp clamps its argument at
      // 88, so for gate < -88 it returns about gate·e^-88·up (e^-88 < 1e-38) where the true value
      // is nearer 0.
      ExpectNear(Download(d_out), want, [&](size_t i) {
        return 2e-6 * std::abs(want[i]) + 1e-38 * std::abs(static_cast<double>(gate[i]) * up[i]) +
               FLT_MIN;
      });
    }
    {
      SCOPED_TRACE("GeluTanh");
      cpu::GeluTanh(want.data(), gate.data(), n);
      const DeviceArray<float> d_out = Poisoned<float>(n);
      LLMW_ASSERT_OK(cuda::GeluTanh(d_out.get(), d_gate.get(), n, stream_.get()));
      const std::vector<float> got = Download(d_out);
      ExpectNear(got, want, [&](size_t i) {
        return kGeluRtol * std::abs(want[i]) + kGeluTanhAtolPerX * std::abs(gate[i]) + FLT_MIN;
      });
      const DeviceArray<float> d_in_place = Upload(gate);
      LLMW_ASSERT_OK(cuda::GeluTanh(d_in_place.get(), d_in_place.get(), n, stream_.get()));
      ExpectBitwiseEqual(Download(d_in_place), got);
    }
    {
      SCOPED_TRACE("GeluTanhMul");
      cpu::GeluTanhMul(want.data(), gate.data(), up.data(), n);
      const DeviceArray<float> d_out = Poisoned<float>(n);
      LLMW_ASSERT_OK(cuda::GeluTanhMul(d_out.get(), d_gate.get(), d_up.get(), n, stream_.get()));
      const std::vector<float> got = Download(d_out);
      ExpectNear(got, want, [&](size_t i) {
        return kGeluRtol * std::abs(want[i]) +
               kGeluTanhAtolPerX * std::abs(static_cast<double>(gate[i]) * up[i]) + FLT_MIN;
      });
      // Out aliasing either input.
      const DeviceArray<float> d_gate_copy = Upload(gate), d_up_copy = Upload(up);
      LLMW_ASSERT_OK(
          cuda::GeluTanhMul(d_gate_copy.get(), d_gate_copy.get(), d_up.get(), n, stream_.get()));
      LLMW_ASSERT_OK(
          cuda::GeluTanhMul(d_up_copy.get(), d_gate.get(), d_up_copy.get(), n, stream_.get()));
      ExpectBitwiseEqual(Download(d_gate_copy), got);
      ExpectBitwiseEqual(Download(d_up_copy), got);
    }
  }
}

// Add, Scale, AddRowBias and GatherRows are one IEEE operation or a copy on both sides: the same
// bits are expected.
TEST_F(CudaOpsTest, AddAndScaleEqualCpu) {
  for (int64_t n : kElementCounts) {
    SCOPED_TRACE(absl::StrCat("n ", n));
    const std::vector<float> a = RandomFloats(n, 0.0f, 3.0f, rng_);
    const std::vector<float> b = RandomFloats(n, 1.0f, 1e-3f, rng_);
    const DeviceArray<float> d_a = Upload(a), d_b = Upload(b);
    std::vector<float> want(n);

    cpu::Add(want.data(), a.data(), b.data(), n);
    const DeviceArray<float> d_sum = Poisoned<float>(n);
    LLMW_ASSERT_OK(cuda::Add(d_sum.get(), d_a.get(), d_b.get(), n, stream_.get()));
    ExpectBitwiseEqual(Download(d_sum), want);
    const DeviceArray<float> d_a_copy = Upload(a), d_b_copy = Upload(b);
    LLMW_ASSERT_OK(cuda::Add(d_a_copy.get(), d_a_copy.get(), d_b.get(), n, stream_.get()));
    LLMW_ASSERT_OK(cuda::Add(d_b_copy.get(), d_a.get(), d_b_copy.get(), n, stream_.get()));
    ExpectBitwiseEqual(Download(d_a_copy), want);
    ExpectBitwiseEqual(Download(d_b_copy), want);

    for (float scale : {0.088388346f, -3.7f}) {  // 1/sqrt(128), and a negative one
      SCOPED_TRACE(absl::StrCat("scale ", scale));
      cpu::Scale(want.data(), a.data(), scale, n);
      const DeviceArray<float> d_out = Poisoned<float>(n);
      LLMW_ASSERT_OK(cuda::Scale(d_out.get(), d_a.get(), scale, n, stream_.get()));
      ExpectBitwiseEqual(Download(d_out), want);
      const DeviceArray<float> d_in_place = Upload(a);
      LLMW_ASSERT_OK(cuda::Scale(d_in_place.get(), d_in_place.get(), scale, n, stream_.get()));
      ExpectBitwiseEqual(Download(d_in_place), want);
    }
  }
}

TEST_F(CudaOpsTest, AddRowBiasEqualsCpu) {
  for (int64_t rows : kTokenCounts) {
    for (int64_t width : {1, 576, 4097}) {
      SCOPED_TRACE(absl::StrCat("rows ", rows, " width ", width));
      const std::vector<float> x = RandomFloats(rows * width, 0.0f, 2.0f, rng_);
      const std::vector<float> bias = RandomFloats(width, 0.0f, 0.5f, rng_);
      std::vector<float> want = x;
      cpu::AddRowBias(want.data(), bias.data(), rows, width);
      const DeviceArray<float> d_x = Upload(x), d_bias = Upload(bias);
      LLMW_ASSERT_OK(cuda::AddRowBias(d_x.get(), d_bias.get(), rows, width, stream_.get()));
      ExpectBitwiseEqual(Download(d_x), want);
    }
  }
}

TEST_F(CudaOpsTest, GatherRowsEqualsCpu) {
  for (int64_t source_rows : {9, 513}) {
    for (int64_t n : {1, 8, 9, 64}) {
      for (int64_t width : {1, 576, 4097}) {
        SCOPED_TRACE(absl::StrCat("from ", source_rows, " rows, n ", n, " width ", width));
        const std::vector<float> x = RandomFloats(source_rows * width, 0.0f, 1.0f, rng_);
        // Any order, repeats allowed, and both ends of x.
        std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(source_rows) - 1);
        std::vector<int32_t> rows(n);
        for (int32_t& r : rows) r = pick(rng_);
        rows[0] = static_cast<int32_t>(source_rows) - 1;
        if (n > 1) rows[1] = 0;
        if (n > 2) rows[2] = rows[0];
        std::vector<float> want(n * width);
        cpu::GatherRows(want.data(), x.data(), rows.data(), n, width);

        const DeviceArray<float> d_x = Upload(x);
        const DeviceArray<int32_t> d_rows = Upload(rows);
        const DeviceArray<float> d_out = Poisoned<float>(n * width);
        LLMW_ASSERT_OK(
            cuda::GatherRows(d_out.get(), d_x.get(), d_rows.get(), n, width, stream_.get()));
        ExpectBitwiseEqual(Download(d_out), want);
      }
    }
  }
}

// ---- The fused ops. ----

TEST(CudaFusedOpsArgsTest, RejectsBadArgumentsNamingThem) {
  float host = 0;  // Never dereferenced.
  float* p = &host;
  const int32_t index = 0;
  const int32_t* ip = &index;
  const PagedKvLayer kv{p, p, 16, 2, 64, DType::kF32};
  PagedKvLayer no_heads = kv;
  no_heads.n_kv_heads = 0;
  const InvalidCase cases[] = {
      {cuda::AddRmsNorm(p, nullptr, p, p, 2, 64, 1e-6f, 0, nullptr), "AddRmsNorm", "residual"},
      {cuda::AddRmsNorm(p, p, p, p, 2, -64, 1e-6f, 0, nullptr), "AddRmsNorm", "dim"},
      {cuda::AddLayerNorm(p, p, nullptr, p, p, 2, 64, 1e-5f, nullptr), "AddLayerNorm", "x"},
      {cuda::AddLayerNorm(p, p, p, p, p, -2, 64, 1e-5f, nullptr), "AddLayerNorm", "rows"},
      {cuda::RopeWriteKv(kv, p, p, p, p, p, ip, 3, 4, 63, RopePairing::kAdjacent, nullptr),
       "RopeWriteKv", "rot_dim"},
      {cuda::RopeWriteKv(kv, p, p, p, p, p, ip, 3, 4, 66, RopePairing::kRotateHalf, nullptr),
       "RopeWriteKv", "rot_dim"},
      {cuda::RopeWriteKv(kv, p, p, p, p, p, ip, 3, 0, 64, RopePairing::kAdjacent, nullptr),
       "RopeWriteKv", "n_heads"},
      {cuda::RopeWriteKv(kv, p, p, p, nullptr, p, ip, 3, 4, 64, RopePairing::kAdjacent, nullptr),
       "RopeWriteKv", "cos"},
      {cuda::RopeWriteKv(no_heads, p, p, p, p, p, ip, 3, 4, 64, RopePairing::kAdjacent, nullptr),
       "RopeWriteKv", "n_kv_heads"},
      {cuda::RopeWriteKv(kv, p, p, p, p, p, ip, -1, 4, 64, RopePairing::kAdjacent, nullptr),
       "RopeWriteKv", "n = "},
  };
  for (const InvalidCase& c : cases) {
    EXPECT_EQ(c.status.code(), absl::StatusCode::kInvalidArgument) << c.status;
    EXPECT_THAT(std::string(c.status.message()), HasSubstr(absl::StrCat("cuda::", c.op)));
    EXPECT_THAT(std::string(c.status.message()), HasSubstr(c.argument));
  }
  const PagedKvLayer empty{};
  EXPECT_TRUE(cuda::AddRmsNorm(nullptr, nullptr, nullptr, nullptr, 0, 64, 1e-6f, 0, nullptr).ok());
  EXPECT_TRUE(
      cuda::AddLayerNorm(nullptr, nullptr, nullptr, nullptr, nullptr, 4, 0, 1e-5f, nullptr).ok());
  EXPECT_TRUE(cuda::RopeWriteKv(empty, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0, 4,
                                64, RopePairing::kAdjacent, nullptr)
                  .ok());
}

// The residual is one f32 addition on both sides: the same bits. The norm is RmsNorm's kernel
// arithmetic on it, summed in another order: kNormRtol, as for RmsNorm.
TEST_F(CudaOpsTest, AddRmsNormMatchesCpu) {
  int case_index = 0;
  for (const NormShape& shape : NormShapes()) {
    const int64_t rows = shape.rows, dim = shape.dim, n = rows * dim;
    const float w_offset = case_index % 2 == 0 ? 0.0f : 1.0f;
    const float eps = case_index++ % 3 == 0 ? 1e-5f : 1e-6f;
    SCOPED_TRACE(absl::StrCat("rows ", rows, " dim ", dim, " w_offset ", w_offset));
    std::vector<float> residual = RandomFloats(n, 0.0f, 1.0f, rng_);
    std::vector<float> x = RandomFloats(n, 0.0f, 1.0f, rng_);
    SetSpecialRows(residual, rows, dim);
    SetSpecialRows(x, rows, dim);
    const std::vector<float> w = RandomFloats(dim, 0.1f, 0.5f, rng_);

    std::vector<float> want(n), want_residual = residual;
    cpu::AddRmsNorm(want.data(), want_residual.data(), x.data(), w.data(), rows, dim, eps,
                    w_offset);

    const DeviceArray<float> d_res = Upload(residual), d_x = Upload(x), d_w = Upload(w);
    const DeviceArray<float> d_out = Poisoned<float>(n);
    LLMW_ASSERT_OK(cuda::AddRmsNorm(d_out.get(), d_res.get(), d_x.get(), d_w.get(), rows, dim, eps,
                                    w_offset, stream_.get()));
    ExpectBitwiseEqual(Download(d_res), want_residual);
    const std::vector<float> got = Download(d_out);
    ExpectNear(got, want, [&](size_t i) { return kNormRtol * std::abs(want[i]) + FLT_MIN; });

    // With out = x, as the forward passes call it: the same kernel in the same order.
    const DeviceArray<float> d_res2 = Upload(residual);
    LLMW_ASSERT_OK(cuda::AddRmsNorm(d_x.get(), d_res2.get(), d_x.get(), d_w.get(), rows, dim, eps,
                                    w_offset, stream_.get()));
    ExpectBitwiseEqual(Download(d_x), got);
  }
}

TEST_F(CudaOpsTest, AddLayerNormMatchesCpu) {
  int case_index = 0;
  for (const NormShape& shape : NormShapes()) {
    const int64_t rows = shape.rows, dim = shape.dim, n = rows * dim;
    const bool with_bias = case_index++ % 2 == 0;
    SCOPED_TRACE(absl::StrCat("rows ", rows, " dim ", dim, with_bias ? " bias" : " no bias"));
    std::vector<float> residual = RandomFloats(n, 2.0f, 2.0f, rng_);  // a mean away from 0
    std::vector<float> x = RandomFloats(n, 0.0f, 1.0f, rng_);
    SetSpecialRows(residual, rows, dim);
    SetSpecialRows(x, rows, dim);
    const std::vector<float> w = RandomFloats(dim, 1.0f, 0.3f, rng_);
    const std::vector<float> b = RandomFloats(dim, 0.0f, 0.5f, rng_);
    const float* bias = with_bias ? b.data() : nullptr;
    constexpr float kEps = 1e-5f;

    std::vector<float> want(n), want_residual = residual;
    cpu::AddLayerNorm(want.data(), want_residual.data(), x.data(), w.data(), bias, rows, dim, kEps);

    const DeviceArray<float> d_res = Upload(residual), d_x = Upload(x), d_w = Upload(w);
    const DeviceArray<float> d_b = Upload(b), d_out = Poisoned<float>(n);
    const float* d_bias = with_bias ? d_b.get() : nullptr;
    LLMW_ASSERT_OK(cuda::AddLayerNorm(d_out.get(), d_res.get(), d_x.get(), d_w.get(), d_bias, rows,
                                      dim, kEps, stream_.get()));
    ExpectBitwiseEqual(Download(d_res), want_residual);
    const std::vector<float> got = Download(d_out);
    const std::vector<double> allowed =
        LayerNormAllowed(want_residual, w, bias, want, rows, dim, kEps);
    ExpectNear(got, want, [&](size_t k) { return allowed[k]; });

    const DeviceArray<float> d_res2 = Upload(residual);
    LLMW_ASSERT_OK(cuda::AddLayerNorm(d_x.get(), d_res2.get(), d_x.get(), d_w.get(), d_bias, rows,
                                      dim, kEps, stream_.get()));
    ExpectBitwiseEqual(Download(d_x), got);
  }
}

struct RopeWriteKvCase {
  int64_t n_heads, n_kv_heads, head_dim, rot_dim;
  RopePairing pairing;
  DType dtype;
  bool misaligned_v;  // values one float past a 16-byte boundary: the kernel's scalar path
};

// Rotation (explicit round-to-nearest on the GPU, no contraction on the CPU) and conversion are
// the same operations on both sides, so the queries, keys and every cache byte are the same bits;
// cache bytes no token owns must stay as they were.
TEST_F(CudaOpsTest, RopeWriteKvEqualsCpu) {
  const RopeWriteKvCase cases[] = {
      {32, 8, 128, 128, RopePairing::kAdjacent, DType::kF32, false},   // llama (GGUF)
      {32, 8, 64, 64, RopePairing::kRotateHalf, DType::kBF16, false},  // HF llama, bf16 cache
      {32, 32, 80, 32, RopePairing::kRotateHalf, DType::kF16, false},  // phi-2's partial rotation
      {8, 4, 256, 256, RopePairing::kRotateHalf, DType::kBF16, true},  // gemma
      {3, 1, 10, 6, RopePairing::kAdjacent, DType::kF16, false},       // a width not of 4s
      {4, 2, 64, 0, RopePairing::kRotateHalf, DType::kF32, true},      // no rotation
  };
  for (const RopeWriteKvCase& c : cases) {
    for (int64_t n : {1, 9, 64}) {
      SCOPED_TRACE(absl::StrCat("tokens ", n, " heads ", c.n_heads, "/", c.n_kv_heads, " head_dim ",
                                c.head_dim, " rot_dim ", c.rot_dim, " ",
                                std::string(DTypeName(c.dtype)),
                                c.misaligned_v ? " misaligned v" : ""));
      const int64_t half = c.rot_dim / 2, q_width = c.n_heads * c.head_dim;
      const int64_t kv_width = c.n_kv_heads * c.head_dim;
      // Slots: a shuffled subset of a cache of n + 7 token slots.
      const int64_t cache_slots = n + 7;
      std::vector<int32_t> slots(cache_slots);
      std::iota(slots.begin(), slots.end(), 0);
      std::shuffle(slots.begin(), slots.end(), rng_);
      slots.resize(n);
      std::vector<float> cos(n * half), sin(n * half);
      cpu::RopeAngles(cos.data(), sin.data(), RandomPositions(n, rng_).data(), n,
                      InverseFrequencies(half, 10000.0).data(), half);
      const std::vector<float> q = RandomFloats(n * q_width, 0.0f, 1.0f, rng_);
      const std::vector<float> k = RandomFloats(n * kv_width, 0.0f, 1.0f, rng_);
      const std::vector<float> v = RandomFloats(n * kv_width, 0.0f, 1.0f, rng_);
      // Each cache array as floats of 0xFF bytes, large enough for f32 elements.
      const int64_t cache_floats = cache_slots * kv_width;

      std::vector<float> want_q = q, want_k = k;
      std::vector<float> want_k_cache(cache_floats), want_v_cache(cache_floats);
      std::memset(want_k_cache.data(), 0xFF, cache_floats * sizeof(float));
      std::memset(want_v_cache.data(), 0xFF, cache_floats * sizeof(float));
      const PagedKvLayer host_kv{want_k_cache.data(), want_v_cache.data(), 1,
                                 c.n_kv_heads,        c.head_dim,          c.dtype};
      cpu::RopeWriteKv(host_kv, want_q.data(), want_k.data(), v.data(), cos.data(), sin.data(),
                       slots.data(), n, c.n_heads, c.rot_dim, c.pairing);

      std::vector<float> v_shifted = v;
      if (c.misaligned_v) v_shifted.insert(v_shifted.begin(), 0.0f);
      const DeviceArray<float> d_q = Upload(q), d_k = Upload(k), d_v = Upload(v_shifted);
      const DeviceArray<float> d_cos = Upload(cos), d_sin = Upload(sin);
      const DeviceArray<int32_t> d_slots = Upload(slots);
      const DeviceArray<float> d_k_cache = Poisoned<float>(cache_floats);
      const DeviceArray<float> d_v_cache = Poisoned<float>(cache_floats);
      const PagedKvLayer kv{d_k_cache.get(), d_v_cache.get(), 1, c.n_kv_heads, c.head_dim, c.dtype};
      LLMW_ASSERT_OK(cuda::RopeWriteKv(
          kv, d_q.get(), d_k.get(), d_v.get() + (c.misaligned_v ? 1 : 0), d_cos.get(), d_sin.get(),
          d_slots.get(), n, c.n_heads, c.rot_dim, c.pairing, stream_.get()));
      ExpectBitwiseEqual(Download(d_q), want_q);
      ExpectBitwiseEqual(Download(d_k), want_k);
      ExpectBitwiseEqual(Download(d_k_cache), want_k_cache);
      ExpectBitwiseEqual(Download(d_v_cache), want_v_cache);
    }
  }
}

}  // namespace
}  // namespace llmw
