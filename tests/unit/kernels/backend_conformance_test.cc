// Every Backend op against a scalar reference written here, on random inputs, for each backend
// this build and machine can run. Inputs go to the backend through Allocate/Upload and results
// come back through Download, outputs are poisoned (NaN) before each op so that an element left
// unwritten fails, and every tolerance says why it is what it is. A backend joins the suite by
// adding its factory to Backends(); one that cannot run here skips, unless LLMW_REQUIRE_GPU=1
// makes that a failure.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/backend.h"
#include "kernels/backend_factory.h"
#include "kernels/block_formats.h"
#include "kernels/cpu/top_candidates.h"
#include "kernels/fp16.h"

namespace llmw {
namespace {

using ::testing::HasSubstr;

struct BackendCase {
  std::string name;
  BackendOptions options;
  // The relative precision of a matmul's products beyond the rounding of its activations:
  // f32 accumulation of 512 products on the CPU (512 · 2^-24); on CUDA, operands rounded to bf16
  // for tensor-core GEMMs (2 · 2^-9) when more than a few tokens share the weights.
  double matmul_precision;
};

std::vector<BackendCase> Backends() {
  return {
      {"cpu1", {.device = Device::kCpu, .threads = 1}, 3e-5},
      {"cpu3", {.device = Device::kCpu, .threads = 3}, 3e-5},
      // Skips where the build or the machine has no GPU.
      {"cuda", {.device = Device::kCuda}, 4e-3},
  };
}

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// |got - want| <= atol + rtol · |want| for every element; prints the first mismatches.
void ExpectClose(const std::vector<float>& got, const std::vector<double>& want, double atol,
                 double rtol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int shown = 0, bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double bound = atol + rtol * std::abs(want[i]);
    if (!(std::abs(got[i] - want[i]) <= bound)) {
      ++bad;
      if (shown++ < 5) {
        ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", want " << want[i]
                      << " ± " << bound;
      }
    }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " elements off";
}

std::vector<float> Normal(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

class BackendConformanceTest : public ::testing::TestWithParam<BackendCase> {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Backend>> backend = CreateBackend(GetParam().options);
    if (!backend.ok()) {
      const char* require = std::getenv("LLMW_REQUIRE_GPU");
      if (require != nullptr && std::string(require) == "1") FAIL() << backend.status();
      GTEST_SKIP() << GetParam().name << ": " << backend.status();
    }
    backend_ = std::move(*backend);
  }

  void TearDown() override {
    buffers_.clear();  // before the backend
    backend_.reset();
  }

  Backend& backend() { return *backend_; }

  void* Memory(int64_t bytes) {
    absl::StatusOr<Buffer> buffer = backend_->Allocate(std::max<int64_t>(bytes, 1));
    EXPECT_TRUE(buffer.ok()) << buffer.status();
    if (!buffer.ok()) return nullptr;
    buffers_.push_back(std::move(*buffer));
    return buffers_.back().data();
  }

  // A backend copy of host f32 values with `shape`.
  Tensor F32(const std::vector<float>& values, std::initializer_list<int64_t> shape) {
    void* data = Memory(static_cast<int64_t>(values.size() * sizeof(float)));
    backend_->Upload(data, values.data(), static_cast<int64_t>(values.size() * sizeof(float)));
    Sync();
    return Tensor(DType::kF32, shape, data, backend_->device());
  }
  // An output of `shape` filled with NaN.
  Tensor Poisoned(std::initializer_list<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return F32(std::vector<float>(static_cast<size_t>(n), kNaN), shape);
  }
  template <typename T>
  const T* Ints(const std::vector<T>& values) {
    const int64_t bytes = static_cast<int64_t>(values.size() * sizeof(T));
    void* data = Memory(bytes);
    backend_->Upload(data, values.data(), bytes);
    Sync();
    return static_cast<const T*>(data);
  }
  std::vector<float> Read(const Tensor& t) {
    std::vector<float> out(static_cast<size_t>(t.elems()));
    backend_->Download(out.data(), t.data(), t.bytes());
    Sync();
    return out;
  }
  void Sync() {
    const absl::Status s = backend_->Synchronize();
    ASSERT_TRUE(s.ok()) << s;
  }

  // A weight in `type` quantized from N(0, 1) values by the reference quantizer, placed on the
  // backend. Its host bytes (`host`) stay put for the rest of the test, as a placed weight's
  // must: backends may key what they prepared by the host address.
  Tensor Weight(DType type, int64_t rows, int64_t cols, std::mt19937& rng, WeightUse use,
                const std::vector<uint8_t>** host_bytes = nullptr) {
    std::vector<uint8_t>& host = host_weights_.emplace_back();
    if (host_bytes != nullptr) *host_bytes = &host;
    host.assign(static_cast<size_t>(rows * RowBytes(type, cols)), 0);
    std::vector<float> row;
    for (int64_t r = 0; r < rows; ++r) {
      row = Normal(static_cast<size_t>(cols), rng);
      QuantizeRowReference(type, row.data(), host.data() + r * RowBytes(type, cols), cols);
    }
    Tensor t(type, {rows, cols}, host.data());
    Tensor placed = t;
    const WeightSlot slot{&placed, use};
    absl::Status s = backend_->PlaceWeights({&slot, 1});
    EXPECT_TRUE(s.ok()) << s;
    // Scratch for the largest call of these tests, sized after the weights as at load.
    s = backend_->ReserveScratch(64, 4096);
    EXPECT_TRUE(s.ok()) << s;
    return placed;
  }

  // A step with the given chunks over host block tables, uploaded.
  struct HostChunk {
    std::vector<int32_t> tokens;
    int64_t start_pos;
    std::vector<int32_t> blocks;  // the sequence's block table
    bool logits_all = false;
  };
  StepLayout Step(const std::vector<HostChunk>& chunks, int64_t block_size) {
    std::vector<int32_t> tokens, positions, slots, rows, tables;
    std::vector<StepChunk> descs;
    for (const HostChunk& c : chunks) {
      const int64_t first = static_cast<int64_t>(tokens.size());
      const int64_t len = static_cast<int64_t>(c.tokens.size());
      descs.push_back({static_cast<int32_t>(first), static_cast<int32_t>(len),
                       static_cast<int32_t>(c.start_pos), static_cast<int32_t>(tables.size())});
      tables.insert(tables.end(), c.blocks.begin(), c.blocks.end());
      for (int64_t i = 0; i < len; ++i) {
        const int64_t pos = c.start_pos + i;
        tokens.push_back(c.tokens[i]);
        positions.push_back(static_cast<int32_t>(pos));
        slots.push_back(
            static_cast<int32_t>(c.blocks[pos / block_size] * block_size + pos % block_size));
        if (c.logits_all || i + 1 == len) rows.push_back(static_cast<int32_t>(first + i));
      }
    }
    return StepLayout{.n_tokens = static_cast<int64_t>(tokens.size()),
                      .n_chunks = static_cast<int64_t>(descs.size()),
                      .n_logit_rows = static_cast<int64_t>(rows.size()),
                      .tokens = Ints(tokens),
                      .positions = Ints(positions),
                      .kv_slots = Ints(slots),
                      .logit_rows = Ints(rows),
                      .chunks = Ints(descs),
                      .block_tables = Ints(tables)};
  }

 private:
  std::unique_ptr<Backend> backend_;
  std::vector<Buffer> buffers_;
  std::deque<std::vector<uint8_t>> host_weights_;
};

TEST_P(BackendConformanceTest, MemoryRoundTripsAndFailuresAreReportedOnce) {
  std::mt19937 rng(1);
  const std::vector<float> values = Normal(1000, rng);
  const Tensor t = F32(values, {10, 100});
  EXPECT_EQ(Read(t), values);

  // Mismatched shapes fail the op; Synchronize names it, then the record is clear.
  const Tensor small = Poisoned({10, 50});
  backend().Add(small, t, t);
  const absl::Status s = backend().Synchronize();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("Add"));
  EXPECT_TRUE(backend().Synchronize().ok());
}

TEST_P(BackendConformanceTest, Embed) {
  std::mt19937 rng(2);
  const int64_t vocab = 37, width = 256;  // whole K-quant super-blocks
  const std::vector<int32_t> ids = {5, 0, 36, 5, 17, 2, 9, 30, 11};
  const StepLayout step = Step({{ids, 0, {0}}}, 16);
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_1,
                     DType::kQ4_K, DType::kQ6_K}) {
    for (float scale : {1.0f, std::sqrt(640.0f)}) {
      const std::vector<uint8_t>* bytes;
      const Tensor table = Weight(type, vocab, width, rng, WeightUse::kOther, &bytes);
      const std::vector<uint8_t>& host = *bytes;
      const Tensor out = Poisoned({static_cast<int64_t>(ids.size()), width});
      backend().Embed(out, table, step, scale);
      std::vector<double> want;
      std::vector<float> row(width);
      for (int32_t id : ids) {
        DequantizeRow(type, host.data() + id * RowBytes(type, width), row.data(), width);
        for (float v : row) want.push_back(scale == 1.0f ? v : v * scale);
      }
      // Dequantization is exact and the scale one f32 multiply: the same bits.
      ExpectClose(Read(out), want, 0, 0, std::string(DTypeName(type)));
    }
  }
}

TEST_P(BackendConformanceTest, RmsNormRowsHeadsAndOffsetWeights) {
  std::mt19937 rng(3);
  struct Shape {
    int64_t rows, dim;
  };
  for (const Shape& s : {Shape{9, 64}, Shape{1, 80}, Shape{9, 640}, Shape{9 * 4, 256}}) {
    for (float offset : {0.0f, 1.0f}) {
      const std::vector<float> x = Normal(s.rows * s.dim, rng, 3.0f);
      const std::vector<float> w = Normal(s.dim, rng, 0.5f);
      const Tensor xt = F32(x, {s.rows, s.dim}), wt = F32(w, {s.dim});
      const Tensor out = Poisoned({s.rows, s.dim});
      backend().RmsNorm(out, xt, wt, 1e-6f, offset);
      std::vector<double> want;
      for (int64_t r = 0; r < s.rows; ++r) {
        double ms = 0;
        for (int64_t i = 0; i < s.dim; ++i) ms += double{x[r * s.dim + i]} * x[r * s.dim + i];
        const double inv = 1.0 / std::sqrt(ms / s.dim + 1e-6);
        for (int64_t i = 0; i < s.dim; ++i) {
          want.push_back(x[r * s.dim + i] * inv * (double{w[i]} + offset));
        }
      }
      // f32 products of a double-accumulated scale: a few ulps.
      ExpectClose(Read(out), want, 1e-6, 2e-6, "rms_norm dim " + std::to_string(s.dim));
      // In place, as the per-head norms run.
      backend().RmsNorm(xt, xt, wt, 1e-6f, offset);
      ExpectClose(Read(xt), want, 1e-6, 2e-6, "rms_norm in place");
    }
  }
}

TEST_P(BackendConformanceTest, LayerNormWithBias) {
  std::mt19937 rng(4);
  for (int64_t dim : {80, 2560}) {
    const int64_t rows = 9;
    std::vector<float> x = Normal(rows * dim, rng, 2.0f);
    for (float& v : x) v += 5.0f;  // a mean far from 0
    const std::vector<float> w = Normal(dim, rng), b = Normal(dim, rng);
    const Tensor out = Poisoned({rows, dim});
    backend().LayerNorm(out, F32(x, {rows, dim}), F32(w, {dim}), F32(b, {dim}), 1e-5f);
    std::vector<double> want;
    for (int64_t r = 0; r < rows; ++r) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < dim; ++i) mean += x[r * dim + i];
      mean /= dim;
      for (int64_t i = 0; i < dim; ++i) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
      const double inv = 1.0 / std::sqrt(var / dim + 1e-5);
      for (int64_t i = 0; i < dim; ++i) want.push_back((x[r * dim + i] - mean) * inv * w[i] + b[i]);
    }
    // The mean is rounded to f32 before it is subtracted: relative error ~1e-7 of |x| ≈ 5.
    ExpectClose(Read(out), want, 1e-5, 1e-5, "layer_norm dim " + std::to_string(dim));
  }
}

// The largest error 8-bit activations can add to y[c][o] = Σ w·x: each element of a block of
// `block` values is off by at most amax(block) / 254; the bound doubles that.
double ActivationRoundingBound(const std::vector<float>& w_row, const float* x, int64_t in,
                               int64_t block) {
  double bound = 0;
  for (int64_t b = 0; b < in; b += block) {
    float amax = 0;
    double wsum = 0;
    for (int64_t k = b; k < b + block; ++k) {
      amax = std::max(amax, std::abs(x[k]));
      wsum += std::abs(w_row[k]);
    }
    bound += wsum * amax / 127.0;
  }
  return bound;
}

TEST_P(BackendConformanceTest, MatmulOfEveryWeightTypeWithBias) {
  std::mt19937 rng(5);
  const int64_t out = 37, in = 512;  // a partial group of 16 rows; two K-quant super-blocks
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                     DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
                     DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    for (int64_t n : {1, 9}) {
      SCOPED_TRACE(std::string(DTypeName(type)) + " n " + std::to_string(n));
      const std::vector<uint8_t>* bytes;
      const Tensor w = Weight(type, out, in, rng, WeightUse::kMatmul, &bytes);
      const std::vector<uint8_t>& host = *bytes;
      const std::vector<float> x = Normal(n * in, rng), bias = Normal(out, rng);
      const Tensor y = Poisoned({n, out});
      backend().Matmul(y, F32(x, {n, in}), w, F32(bias, {out}));
      const std::vector<float> got = Read(y);
      const bool float_weights = Traits(type).block_elems == 1;
      const int64_t block = Traits(type).block_elems == 256 ? 256 : 32;
      std::vector<float> row(in);
      for (int64_t c = 0; c < n; ++c) {
        for (int64_t o = 0; o < out; ++o) {
          DequantizeRow(type, host.data() + o * RowBytes(type, in), row.data(), in);
          double want = bias[o], magnitude = std::abs(bias[o]);
          for (int64_t k = 0; k < in; ++k) {
            want += double{row[k]} * x[c * in + k];
            magnitude += std::abs(double{row[k]} * x[c * in + k]);
          }
          // The backend's product precision (BackendCase), and for block formats the 8-bit
          // activations.
          const double bound =
              GetParam().matmul_precision * magnitude +
              (float_weights ? 0 : ActivationRoundingBound(row, x.data() + c * in, in, block));
          EXPECT_NEAR(got[c * out + o], want, bound) << "row " << c << " output " << o;
        }
      }
    }
  }
}

TEST_P(BackendConformanceTest, SharedInputMatmulEqualsSeparateCalls) {
  std::mt19937 rng(6);
  const int64_t n = 5, in = 256;
  for (const std::vector<DType>& types :
       {std::vector<DType>{DType::kQ4_1, DType::kQ4_1, DType::kQ4_1},
        std::vector<DType>{DType::kQ8_0, DType::kQ8_0},
        std::vector<DType>{DType::kQ4_K, DType::kQ6_K},
        std::vector<DType>{DType::kF16, DType::kQ5_0, DType::kBF16}}) {
    const Tensor x = F32(Normal(n * in, rng), {n, in});
    std::vector<MatmulOutput> outputs;
    std::vector<Tensor> separate;
    for (size_t i = 0; i < types.size(); ++i) {
      const int64_t rows = 16 * static_cast<int64_t>(i + 1) + 3;
      const Tensor w = Weight(types[i], rows, in, rng, WeightUse::kMatmul);
      const Tensor bias = i == 0 ? F32(Normal(rows, rng), {rows}) : Tensor();
      outputs.push_back({Poisoned({n, rows}), w, bias});
      separate.push_back(Poisoned({n, rows}));
      backend().Matmul(separate.back(), x, w, bias);
    }
    backend().MatmulShared(outputs, x);
    for (size_t i = 0; i < types.size(); ++i) {
      EXPECT_EQ(Read(outputs[i].y), Read(separate[i])) << DTypeName(types[i]);
    }
  }
}

TEST_P(BackendConformanceTest, RopeAnglesAndBothPairingsWithPartialRotation) {
  std::mt19937 rng(7);
  const std::vector<int32_t> positions = {0, 1, 7, 511, 512, 4095, 8000};
  const int64_t n = static_cast<int64_t>(positions.size());
  StepLayout step = Step({{std::vector<int32_t>(n, 0), 0, {0}}}, 8192);
  step.positions = Ints(positions);
  struct Head {
    int64_t head_dim, rot_dim, heads;
  };
  for (const Head& h : {Head{64, 64, 9}, Head{80, 32, 4}, Head{256, 256, 2}}) {
    const int64_t half = h.rot_dim / 2;
    std::vector<float> inv_freq(half);
    for (int64_t i = 0; i < half; ++i) {
      inv_freq[i] = static_cast<float>(std::pow(10000.0, -2.0 * i / h.rot_dim));
    }
    const Tensor cos = Poisoned({n, half}), sin = Poisoned({n, half});
    backend().RopeAngles(cos, sin, step, F32(inv_freq, {half}));
    // The angle is the f32 product position · inv_freq (the op's contract); its cosine and
    // sine are then correctly rounded to within an ulp or two.
    std::vector<double> want_cos, want_sin;
    for (int32_t p : positions) {
      for (float f : inv_freq) {
        const float angle = static_cast<float>(p) * f;
        want_cos.push_back(std::cos(double{angle}));
        want_sin.push_back(std::sin(double{angle}));
      }
    }
    const std::vector<float> got_cos = Read(cos), got_sin = Read(sin);
    ExpectClose(got_cos, want_cos, 4e-7, 0, "cos");  // 2 ulp of CUDA's sincosf at 1
    ExpectClose(got_sin, want_sin, 4e-7, 0, "sin");

    for (RopePairing pairing : {RopePairing::kAdjacent, RopePairing::kRotateHalf}) {
      const std::vector<float> x = Normal(n * h.heads * h.head_dim, rng);
      const Tensor xt = F32(x, {n, h.heads * h.head_dim});
      backend().Rope(xt, cos, sin, h.head_dim, h.rot_dim, pairing);
      std::vector<double> want(x.begin(), x.end());
      for (int64_t t = 0; t < n; ++t) {
        for (int64_t head = 0; head < h.heads; ++head) {
          const int64_t base = (t * h.heads + head) * h.head_dim;
          for (int64_t i = 0; i < half; ++i) {
            const int64_t a = pairing == RopePairing::kAdjacent ? 2 * i : i;
            const int64_t b = pairing == RopePairing::kAdjacent ? 2 * i + 1 : i + half;
            const double c = got_cos[t * half + i], s = got_sin[t * half + i];
            want[base + a] = x[base + a] * c - x[base + b] * s;
            want[base + b] = x[base + a] * s + x[base + b] * c;
          }
        }
      }
      ExpectClose(Read(xt), want, 4e-6, 1e-6, "rope");
    }
  }
}

TEST_P(BackendConformanceTest, Activations) {
  std::mt19937 rng(8);
  const int64_t rows = 9, width = 333;  // not a multiple of any vector width
  std::vector<float> a = Normal(rows * width, rng, 4.0f), b = Normal(rows * width, rng);
  a[0] = 0, a[1] = 80, a[2] = -80;  // saturating exponentials
  const auto silu = [](double g) { return g / (1 + std::exp(-g)); };
  const auto gelu = [](double x) {
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  };
  std::vector<double> silu_mul, gelu_only, gelu_mul, sum, scaled;
  for (size_t i = 0; i < a.size(); ++i) {
    silu_mul.push_back(silu(a[i]) * b[i]);
    gelu_only.push_back(gelu(a[i]));
    gelu_mul.push_back(gelu(a[i]) * b[i]);
    sum.push_back(double{a[i]} + b[i]);
    scaled.push_back(double{a[i]} * 0.125);
  }
  const Tensor at = F32(a, {rows, width}), bt = F32(b, {rows, width});
  // Exponentials from a vector polynomial (a few ulps) and tanh: 1e-6 relative, plus an absolute
  // floor for results near 0.
  Tensor out = Poisoned({rows, width});
  backend().SiluMul(out, at, bt);
  ExpectClose(Read(out), silu_mul, 1e-6, 1e-6, "silu_mul");
  out = Poisoned({rows, width});
  backend().GeluTanh(out, at);
  ExpectClose(Read(out), gelu_only, 1e-6, 1e-6, "gelu_tanh");
  out = Poisoned({rows, width});
  backend().GeluTanhMul(out, at, bt);
  ExpectClose(Read(out), gelu_mul, 1e-6, 1e-6, "gelu_tanh_mul");
  // Sums and power-of-two scales are exact in f32 up to the one rounding of the result.
  out = Poisoned({rows, width});
  backend().Add(out, at, bt);
  ExpectClose(Read(out), sum, 0, 1e-7, "add");
  out = Poisoned({rows, width});
  backend().Scale(out, at, 0.125f);
  ExpectClose(Read(out), scaled, 0, 0, "scale");
  // In place, the output aliasing the first input.
  const Tensor gate = F32(a, {rows, width});
  backend().SiluMul(gate, gate, bt);
  ExpectClose(Read(gate), silu_mul, 1e-6, 1e-6, "silu_mul in place");
}

TEST_P(BackendConformanceTest, GatherRows) {
  std::mt19937 rng(9);
  const int64_t width = 96;
  // Chunks of 3, 1 (all logits: 1 row), 4 (all logits) and 2 tokens.
  const StepLayout step = Step(
      {{{1, 2, 3}, 0, {0}}, {{4}, 5, {1}, true}, {{5, 6, 7, 8}, 2, {2}, true}, {{9, 10}, 7, {3}}},
      16);
  const std::vector<float> x = Normal(step.n_tokens * width, rng);
  const Tensor out = Poisoned({step.n_logit_rows, width});
  backend().GatherRows(out, F32(x, {step.n_tokens, width}), step);
  std::vector<double> want;
  for (int64_t token : {2, 3, 4, 5, 6, 7, 9}) {
    want.insert(want.end(), x.begin() + token * width, x.begin() + (token + 1) * width);
  }
  ASSERT_EQ(step.n_logit_rows, 7);
  ExpectClose(Read(out), want, 0, 0, "gather");
}

TEST_P(BackendConformanceTest, TopCandidatesEqualTheCpuFunction) {
  std::mt19937 rng(10);
  const int64_t rows = 3, vocab = 5003, top_n = 40;
  std::vector<float> x = Normal(rows * vocab, rng);
  for (int64_t i = 0; i < rows * vocab; i += 7) x[i] = 0.5f;  // ties
  const std::vector<int32_t> extra_ids = {17, 4, 5002, 0, 9};
  const std::vector<int32_t> offsets = {0, 1, 1, 5};
  std::vector<int32_t> want_ids(rows * top_n);
  std::vector<float> want_values(rows * top_n), want_extra(extra_ids.size());
  cpu::TopCandidates(want_ids.data(), want_values.data(), want_extra.data(), x.data(), rows, vocab,
                     top_n, extra_ids.data(), offsets.data());
  auto* ids = static_cast<int32_t*>(Memory(rows * top_n * 4));
  auto* values = static_cast<float*>(Memory(rows * top_n * 4));
  auto* extra = static_cast<float*>(Memory(static_cast<int64_t>(extra_ids.size()) * 4));
  backend().TopCandidates(ids, values, extra, F32(x, {rows, vocab}), top_n, Ints(extra_ids),
                          Ints(offsets));
  std::vector<int32_t> got_ids(want_ids.size());
  std::vector<float> got_values(want_values.size()), got_extra(want_extra.size());
  backend().Download(got_ids.data(), ids, rows * top_n * 4);
  backend().Download(got_values.data(), values, rows * top_n * 4);
  backend().Download(got_extra.data(), extra, static_cast<int64_t>(extra_ids.size()) * 4);
  Sync();
  EXPECT_EQ(got_ids, want_ids);
  EXPECT_EQ(got_values, want_values);
  EXPECT_EQ(got_extra, want_extra);
}

TEST_P(BackendConformanceTest, MaskLogitsSetsTheForbiddenEntriesOfMaskedRowsToMinusInfinity) {
  std::mt19937 rng(11);
  const int64_t rows = 4, vocab = 5003, words = (vocab + 31) / 32;
  const std::vector<float> x = Normal(rows * vocab, rng);
  std::vector<uint32_t> allowed(2 * words);
  for (uint32_t& w : allowed) w = static_cast<uint32_t>(rng());
  allowed[3] = 0;                   // a word that allows nothing
  allowed[words + 5] = UINT32_MAX;  // one that allows everything
  const std::vector<int32_t> offsets = {0, -1, static_cast<int32_t>(words), -1};
  const Tensor logits = F32(x, {rows, vocab});
  backend().MaskLogits(logits, Ints(allowed), Ints(offsets));
  const std::vector<float> got = Read(logits);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t v = 0; v < vocab; ++v) {
      const bool kept = offsets[r] < 0 || ((allowed[offsets[r] + v / 32] >> (v % 32)) & 1u) != 0;
      const float want = kept ? x[r * vocab + v] : -std::numeric_limits<float>::infinity();
      ASSERT_EQ(got[r * vocab + v], want) << "row " << r << ", token " << v;
    }
  }
}

// The value the cache holds for `v` stored as `dtype`.
float Stored(float v, DType dtype) {
  if (dtype == DType::kF16) return Fp16ToFp32(Fp32ToFp16(v));
  if (dtype == DType::kBF16) return Bf16ToFp32(Fp32ToBf16(v));
  return v;
}

struct AttentionCase {
  int64_t head_dim, n_heads, n_kv_heads, window;
  float softcap;
  DType dtype;
};

std::string Describe(const AttentionCase& c) {
  return "head_dim " + std::to_string(c.head_dim) + ", heads " + std::to_string(c.n_heads) + "/" +
         std::to_string(c.n_kv_heads) + ", window " + std::to_string(c.window) + ", softcap " +
         std::to_string(c.softcap) + ", " + std::string(DTypeName(c.dtype));
}

// Three sequences share one step: A prefills positions 0..12, B decodes position 29, C runs
// positions 17..20 and shares A's first two blocks (a cached prefix). Blocks of 4 tokens are
// scattered through the cache; B's and C's earlier positions were written by an earlier step.
TEST_P(BackendConformanceTest, WriteKvAndPagedAttentionOverSharedScatteredBlocks) {
  for (const AttentionCase& ac :
       {AttentionCase{64, 9, 3, 0, 0, DType::kF32}, AttentionCase{80, 4, 4, 0, 0, DType::kF32},
        AttentionCase{128, 8, 2, 5, 0, DType::kF32}, AttentionCase{256, 4, 1, 0, 0, DType::kF32},
        AttentionCase{64, 9, 3, 0, 0, DType::kF16}, AttentionCase{256, 4, 1, 6, 0, DType::kBF16},
        AttentionCase{128, 8, 2, 0, 30.0f, DType::kF32}}) {
    SCOPED_TRACE(Describe(ac));
    std::mt19937 rng(10);
    const int64_t block_size = 4, num_blocks = 40, kv_width = ac.n_kv_heads * ac.head_dim;
    const int64_t q_width = ac.n_heads * ac.head_dim;
    std::vector<int32_t> free_blocks(num_blocks);
    std::iota(free_blocks.begin(), free_blocks.end(), 0);
    std::shuffle(free_blocks.begin(), free_blocks.end(), rng);
    const auto take = [&](int n) {
      std::vector<int32_t> blocks(free_blocks.end() - n, free_blocks.end());
      free_blocks.resize(free_blocks.size() - n);
      return blocks;
    };
    const std::vector<int32_t> table_a = take(4);             // positions 0..15
    const std::vector<int32_t> table_b = take(8);             // positions 0..31
    std::vector<int32_t> table_c = {table_a[0], table_a[1]};  // shared prefix 0..7
    for (int32_t b : take(4)) table_c.push_back(b);           // positions 8..23
    const int64_t elem_bytes = Traits(ac.dtype).block_bytes;
    const int64_t array_bytes = num_blocks * block_size * kv_width * elem_bytes;
    char* storage = static_cast<char*>(Memory(2 * array_bytes));
    const PagedKvLayer kv{storage,       storage + array_bytes, block_size,
                          ac.n_kv_heads, ac.head_dim,           ac.dtype};

    // Each sequence's keys and values by position, as the model computed them (f32).
    std::vector<std::vector<float>> keys(3), values(3);
    const int64_t lengths[3] = {13, 30, 21};
    for (int s = 0; s < 3; ++s) {
      keys[s] = Normal(lengths[s] * kv_width, rng);
      values[s] = Normal(lengths[s] * kv_width, rng);
    }
    // C's shared prefix holds A's keys and values.
    std::copy_n(keys[0].begin(), 8 * kv_width, keys[2].begin());
    std::copy_n(values[0].begin(), 8 * kv_width, values[2].begin());
    const auto rows = [&](int64_t first, int64_t count, const std::vector<float>& src) {
      return std::vector<float>(src.begin() + first * kv_width,
                                src.begin() + (first + count) * kv_width);
    };
    const auto concat = [](std::vector<float> a, const std::vector<float>& b) {
      a.insert(a.end(), b.begin(), b.end());
      return a;
    };
    // The earlier step: B's positions 0..28 and C's 8..16.
    const StepLayout earlier =
        Step({{std::vector<int32_t>(29, 0), 0, table_b}, {std::vector<int32_t>(9, 0), 8, table_c}},
             block_size);
    backend().WriteKv(kv, F32(concat(rows(0, 29, keys[1]), rows(8, 9, keys[2])), {38, kv_width}),
                      F32(concat(rows(0, 29, values[1]), rows(8, 9, values[2])), {38, kv_width}),
                      earlier);
    // This step.
    const StepLayout step = Step({{std::vector<int32_t>(13, 0), 0, table_a},
                                  {std::vector<int32_t>(1, 0), 29, table_b},
                                  {std::vector<int32_t>(4, 0), 17, table_c}},
                                 block_size);
    const int64_t n = step.n_tokens;  // 18
    backend().WriteKv(
        kv,
        F32(concat(concat(rows(0, 13, keys[0]), rows(29, 1, keys[1])), rows(17, 4, keys[2])),
            {n, kv_width}),
        F32(concat(concat(rows(0, 13, values[0]), rows(29, 1, values[1])), rows(17, 4, values[2])),
            {n, kv_width}),
        step);
    const std::vector<float> q = Normal(n * q_width, rng);
    const Tensor out = Poisoned({n, q_width});
    const float scale = 1.0f / std::sqrt(static_cast<float>(ac.head_dim));
    backend().PagedAttention(out, F32(q, {n, q_width}), kv, step,
                             AttentionParams{ac.n_heads, scale, ac.window, ac.softcap});
    const std::vector<float> got = Read(out);

    // The cache holds each written element converted to its dtype, at its slot.
    std::vector<uint8_t> cache(static_cast<size_t>(2 * array_bytes));
    backend().Download(cache.data(), storage, 2 * array_bytes);
    Sync();
    const auto cached = [&](int64_t array, int32_t block, int64_t offset, int64_t i) {
      const int64_t element = (block * block_size + offset) * kv_width + i;
      const uint8_t* p = cache.data() + array * array_bytes + element * elem_bytes;
      uint16_t h;
      std::memcpy(&h, p, 2);
      if (ac.dtype == DType::kF16) return Fp16ToFp32(h);
      if (ac.dtype == DType::kBF16) return Bf16ToFp32(h);
      float f;
      std::memcpy(&f, p, 4);
      return f;
    };
    const std::vector<int32_t>* tables[3] = {&table_a, &table_b, &table_c};
    for (int s = 0; s < 3; ++s) {
      for (int64_t pos = 0; pos < lengths[s]; ++pos) {
        const int32_t block = (*tables[s])[pos / block_size];
        for (int64_t i = 0; i < kv_width; ++i) {
          ASSERT_EQ(cached(0, block, pos % block_size, i),
                    Stored(keys[s][pos * kv_width + i], ac.dtype))
              << "key of sequence " << s << " at " << pos;
          ASSERT_EQ(cached(1, block, pos % block_size, i),
                    Stored(values[s][pos * kv_width + i], ac.dtype))
              << "value of sequence " << s << " at " << pos;
        }
      }
    }

    // Dense attention in double over the stored keys and values.
    struct Token {
      int seq;
      int64_t pos;
    };
    std::vector<Token> tokens;
    for (int64_t p = 0; p < 13; ++p) tokens.push_back({0, p});
    tokens.push_back({1, 29});
    for (int64_t p = 17; p < 21; ++p) tokens.push_back({2, p});
    std::vector<double> want;
    for (int64_t t = 0; t < n; ++t) {
      const Token& tok = tokens[t];
      const int64_t first = ac.window > 0 ? std::max<int64_t>(0, tok.pos - ac.window + 1) : 0;
      for (int64_t h = 0; h < ac.n_heads; ++h) {
        const int64_t kvh = h / (ac.n_heads / ac.n_kv_heads);
        std::vector<double> w;
        double max = -INFINITY;
        for (int64_t j = first; j <= tok.pos; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < ac.head_dim; ++d) {
            dot += double{q[t * q_width + h * ac.head_dim + d]} *
                   Stored(keys[tok.seq][j * kv_width + kvh * ac.head_dim + d], ac.dtype);
          }
          double score = dot * scale;
          if (ac.softcap > 0) score = ac.softcap * std::tanh(score / ac.softcap);
          w.push_back(score);
          max = std::max(max, score);
        }
        double total = 0;
        for (double& v : w) total += (v = std::exp(v - max));
        for (int64_t d = 0; d < ac.head_dim; ++d) {
          double acc = 0;
          for (int64_t j = first; j <= tok.pos; ++j) {
            acc += w[j - first] / total *
                   Stored(values[tok.seq][j * kv_width + kvh * ac.head_dim + d], ac.dtype);
          }
          want.push_back(acc);
        }
      }
    }
    // f32 scores, online softmax and accumulation over at most 30 positions of N(0, 1) values
    // against a double reference: errors of order 1e-6; bounded at 1e-4 + 1e-4 relative.
    ExpectClose(got, want, 1e-4, 1e-4, "attention");
  }
}

// The fused ops equal the sequences they replace: on the CPU (the reference) bit for bit; on a
// GPU within the tolerance the sequence's own ops are held to here.
bool IsReference(const Backend& backend) { return backend.device() == Device::kCpu; }

// A fused norm's outputs against those of Add then the norm (`sequence`) and of the fused op with
// out = x: the residuals are one f32 addition everywhere, the same bits; so is the aliased call;
// the norms are the same bits on the reference and within (atol, rtol) elsewhere.
void ExpectFusedNormMatches(const Backend& backend, const std::vector<float>& got,
                            const std::vector<float>& got_residual,
                            const std::vector<float>& sequence,
                            const std::vector<float>& sequence_residual,
                            const std::vector<float>& aliased,
                            const std::vector<float>& aliased_residual, double atol, double rtol) {
  EXPECT_EQ(sequence_residual, got_residual);
  EXPECT_EQ(aliased_residual, got_residual);
  EXPECT_EQ(aliased, got) << "out = x";
  if (IsReference(backend)) {
    EXPECT_EQ(sequence, got);
  } else {
    ExpectClose(got, std::vector<double>(sequence.begin(), sequence.end()), atol, rtol,
                "against the sequence");
  }
}

TEST_P(BackendConformanceTest, AddRmsNormEqualsAddThenRmsNorm) {
  std::mt19937 rng(11);
  struct Shape {
    int64_t rows, dim;
  };
  for (const Shape& s : {Shape{9, 64}, Shape{1, 80}, Shape{9, 640}, Shape{5, 333}}) {
    for (float offset : {0.0f, 1.0f}) {
      SCOPED_TRACE("dim " + std::to_string(s.dim) + " offset " + std::to_string(offset));
      const std::vector<float> residual = Normal(s.rows * s.dim, rng, 3.0f);
      const std::vector<float> x = Normal(s.rows * s.dim, rng), w = Normal(s.dim, rng, 0.5f);
      const Tensor wt = F32(w, {s.dim});
      const Tensor res = F32(residual, {s.rows, s.dim}), xt = F32(x, {s.rows, s.dim});
      const Tensor out = Poisoned({s.rows, s.dim});
      backend().AddRmsNorm(out, res, xt, wt, 1e-6f, offset);
      const std::vector<float> got_res = Read(res), got = Read(out);

      std::vector<double> want_res, want;
      for (int64_t r = 0; r < s.rows; ++r) {
        double ms = 0;
        for (int64_t i = 0; i < s.dim; ++i) {
          const float sum = residual[r * s.dim + i] + x[r * s.dim + i];
          want_res.push_back(sum);
          ms += double{sum} * sum;
        }
        const double inv = 1.0 / std::sqrt(ms / s.dim + 1e-6);
        for (int64_t i = 0; i < s.dim; ++i) {
          want.push_back(want_res[r * s.dim + i] * inv * (double{w[i]} + offset));
        }
      }
      // The sum is one f32 addition everywhere; the norm as RmsNorm's test holds it.
      ExpectClose(got_res, want_res, 0, 0, "residual");
      ExpectClose(got, want, 1e-6, 2e-6, "add_rms_norm");

      // The sequence it replaces, and the fused op with out = x, as the forward passes call it.
      const Tensor res2 = F32(residual, {s.rows, s.dim}), out2 = Poisoned({s.rows, s.dim});
      backend().Add(res2, res2, xt);
      backend().RmsNorm(out2, res2, wt, 1e-6f, offset);
      const Tensor res3 = F32(residual, {s.rows, s.dim}), x3 = F32(x, {s.rows, s.dim});
      backend().AddRmsNorm(x3, res3, x3, wt, 1e-6f, offset);
      ExpectFusedNormMatches(backend(), got, got_res, Read(out2), Read(res2), Read(x3), Read(res3),
                             1e-6, 2e-6);
    }
  }
}

TEST_P(BackendConformanceTest, AddLayerNormEqualsAddThenLayerNorm) {
  std::mt19937 rng(12);
  for (int64_t dim : {80, 333, 2560}) {
    SCOPED_TRACE("dim " + std::to_string(dim));
    const int64_t rows = 9;
    std::vector<float> residual = Normal(rows * dim, rng, 2.0f);
    for (float& v : residual) v += 5.0f;  // a mean far from 0
    const std::vector<float> x = Normal(rows * dim, rng), w = Normal(dim, rng),
                             b = Normal(dim, rng);
    const Tensor wt = F32(w, {dim}), bt = F32(b, {dim});
    const Tensor res = F32(residual, {rows, dim}), xt = F32(x, {rows, dim});
    const Tensor out = Poisoned({rows, dim});
    backend().AddLayerNorm(out, res, xt, wt, bt, 1e-5f);
    const std::vector<float> got_res = Read(res), got = Read(out);

    std::vector<double> want_res, want;
    for (int64_t r = 0; r < rows; ++r) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < dim; ++i) {
        want_res.push_back(residual[r * dim + i] + x[r * dim + i]);
        mean += want_res.back();
      }
      mean /= dim;
      for (int64_t i = 0; i < dim; ++i) {
        var += (want_res[r * dim + i] - mean) * (want_res[r * dim + i] - mean);
      }
      const double inv = 1.0 / std::sqrt(var / dim + 1e-5);
      for (int64_t i = 0; i < dim; ++i) {
        want.push_back((want_res[r * dim + i] - mean) * inv * w[i] + b[i]);
      }
    }
    ExpectClose(got_res, want_res, 0, 0, "residual");
    // As LayerNorm's test: the mean is rounded to f32 before it is subtracted.
    ExpectClose(got, want, 1e-5, 1e-5, "add_layer_norm");

    const Tensor res2 = F32(residual, {rows, dim}), out2 = Poisoned({rows, dim});
    backend().Add(res2, res2, xt);
    backend().LayerNorm(out2, res2, wt, bt, 1e-5f);
    const Tensor res3 = F32(residual, {rows, dim}), x3 = F32(x, {rows, dim});
    backend().AddLayerNorm(x3, res3, x3, wt, bt, 1e-5f);
    ExpectFusedNormMatches(backend(), got, got_res, Read(out2), Read(res2), Read(x3), Read(res3),
                           1e-5, 1e-5);
  }
}

// Rotation and conversion are the same float operations in both forms on every backend, so the
// fused op's queries, keys and cache bytes equal those of Rope, Rope, WriteKv bit for bit.
TEST_P(BackendConformanceTest, RopeWriteKvEqualsRopeThenWriteKv) {
  std::mt19937 rng(13);
  struct Case {
    int64_t head_dim, rot_dim, n_heads, n_kv_heads;
    RopePairing pairing;
    DType dtype;
  };
  for (const Case& c : {Case{64, 64, 9, 3, RopePairing::kAdjacent, DType::kF32},
                        Case{80, 32, 4, 4, RopePairing::kRotateHalf, DType::kF16},
                        Case{256, 256, 8, 2, RopePairing::kRotateHalf, DType::kBF16},
                        Case{10, 6, 3, 1, RopePairing::kAdjacent, DType::kF32}}) {
    SCOPED_TRACE("head_dim " + std::to_string(c.head_dim) + " rot_dim " +
                 std::to_string(c.rot_dim) + " " + std::string(DTypeName(c.dtype)));
    const int64_t block_size = 4, num_blocks = 6, half = c.rot_dim / 2;
    const int64_t q_width = c.n_heads * c.head_dim, kv_width = c.n_kv_heads * c.head_dim;
    // Two sequences in scattered blocks: positions 0..6 and 13..14.
    const StepLayout step = Step(
        {{std::vector<int32_t>(7, 0), 0, {4, 1}}, {std::vector<int32_t>(2, 0), 13, {5, 0, 3, 2}}},
        block_size);
    const int64_t n = step.n_tokens;
    const std::vector<float> angles = Normal(n * half, rng, 3.0f);
    std::vector<float> cosines, sines;
    for (float angle : angles) {
      cosines.push_back(std::cos(angle));
      sines.push_back(std::sin(angle));
    }
    const Tensor cos_t = F32(cosines, {n, half}), sin_t = F32(sines, {n, half});
    const std::vector<float> q = Normal(n * q_width, rng), k = Normal(n * kv_width, rng);
    const std::vector<float> v = Normal(n * kv_width, rng);
    const int64_t array_bytes = num_blocks * block_size * kv_width * Traits(c.dtype).block_bytes;
    // A cache whose every byte starts as 0xFF, so that stray writes show.
    const auto cache = [&]() {
      char* storage = static_cast<char*>(Memory(2 * array_bytes));
      const std::vector<uint8_t> poison(static_cast<size_t>(2 * array_bytes), 0xFF);
      backend().Upload(storage, poison.data(), 2 * array_bytes);
      return PagedKvLayer{storage, storage + array_bytes, block_size, c.n_kv_heads, c.head_dim,
                          c.dtype};
    };
    const auto bytes = [&](const PagedKvLayer& kv) {
      std::vector<uint8_t> out(static_cast<size_t>(2 * array_bytes));
      backend().Download(out.data(), kv.k, 2 * array_bytes);
      Sync();
      return out;
    };

    const PagedKvLayer fused_kv = cache();
    const Tensor qf = F32(q, {n, q_width}), kf = F32(k, {n, kv_width});
    backend().RopeWriteKv(fused_kv, qf, kf, F32(v, {n, kv_width}), cos_t, sin_t, step, c.rot_dim,
                          c.pairing);
    const PagedKvLayer kv = cache();
    const Tensor qs = F32(q, {n, q_width}), ks = F32(k, {n, kv_width});
    backend().Rope(qs, cos_t, sin_t, c.head_dim, c.rot_dim, c.pairing);
    backend().Rope(ks, cos_t, sin_t, c.head_dim, c.rot_dim, c.pairing);
    backend().WriteKv(kv, ks, F32(v, {n, kv_width}), step);
    const std::vector<float> got_q = Read(qf);
    EXPECT_EQ(got_q, Read(qs));
    EXPECT_EQ(Read(kf), Read(ks));
    EXPECT_EQ(bytes(fused_kv), bytes(kv));

    // The queries against the rotation in double.
    std::vector<double> want(q.begin(), q.end());
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < c.n_heads; ++h) {
        const int64_t base = (t * c.n_heads + h) * c.head_dim;
        for (int64_t i = 0; i < half; ++i) {
          const int64_t a = base + (c.pairing == RopePairing::kAdjacent ? 2 * i : i);
          const int64_t b = base + (c.pairing == RopePairing::kAdjacent ? 2 * i + 1 : i + half);
          const double c_i = cosines[t * half + i], s_i = sines[t * half + i];
          want[a] = q[a] * c_i - q[b] * s_i;
          want[b] = q[a] * s_i + q[b] * c_i;
        }
      }
    }
    ExpectClose(got_q, want, 4e-6, 1e-6, "rotated queries");
  }
}

TEST_P(BackendConformanceTest, MatmulGatedEqualsMatmulsThenActivation) {
  std::mt19937 rng(14);
  const int64_t in = 256, ffn = 67;
  const auto activation = [](GatedActivation act, double g) {
    if (act == GatedActivation::kSilu) return g / (1 + std::exp(-g));
    return 0.5 * g * (1 + std::tanh(std::sqrt(2 / M_PI) * (g + 0.044715 * g * g * g)));
  };
  for (DType type : {DType::kQ4_K, DType::kQ8_0, DType::kF16}) {
    for (GatedActivation act : {GatedActivation::kSilu, GatedActivation::kGeluTanh}) {
      for (int64_t n : {1, 9}) {
        SCOPED_TRACE(std::string(DTypeName(type)) + " n " + std::to_string(n) +
                     (act == GatedActivation::kSilu ? " silu" : " gelu"));
        const std::vector<uint8_t>*gate_bytes, *up_bytes;
        const Tensor w_gate = Weight(type, ffn, in, rng, WeightUse::kMatmul, &gate_bytes);
        const Tensor w_up = Weight(type, ffn, in, rng, WeightUse::kMatmul, &up_bytes);
        const std::vector<float> xs = Normal(n * in, rng);
        const Tensor x = F32(xs, {n, in});
        const Tensor out = Poisoned({n, ffn}), up = Poisoned({n, ffn});
        backend().MatmulGated(out, x, w_gate, w_up, act, up);
        const std::vector<float> got = Read(out);

        const Tensor gate2 = Poisoned({n, ffn}), up2 = Poisoned({n, ffn});
        const MatmulOutput gate_up[] = {{gate2, w_gate, {}}, {up2, w_up, {}}};
        backend().MatmulShared(gate_up, x);
        const std::vector<float> g = Read(gate2), u = Read(up2);
        if (act == GatedActivation::kSilu) {
          backend().SiluMul(gate2, gate2, up2);
        } else {
          backend().GeluTanhMul(gate2, gate2, up2);
        }
        const std::vector<float> sequence = Read(gate2);
        if (IsReference(backend())) {
          EXPECT_EQ(got, sequence);
          continue;
        }
        // Elsewhere the fused op may sum the products in another order or kernel. Each of its
        // gate and up values and the sequence's is within the backend's matmul precision of
        // Σ|w·x| of the exact one, so they differ by twice that; through act(g)·u (slopes below
        // 1.2) the outputs differ by at most the bound below.
        const double precision = 2 * GetParam().matmul_precision;
        std::vector<float> gate_row(in), up_row(in);
        for (int64_t c = 0; c < n; ++c) {
          for (int64_t o = 0; o < ffn; ++o) {
            DequantizeRow(type, gate_bytes->data() + o * RowBytes(type, in), gate_row.data(), in);
            DequantizeRow(type, up_bytes->data() + o * RowBytes(type, in), up_row.data(), in);
            double gate_magnitude = 0, up_magnitude = 0;
            for (int64_t k = 0; k < in; ++k) {
              gate_magnitude += std::abs(double{gate_row[k]} * xs[c * in + k]);
              up_magnitude += std::abs(double{up_row[k]} * xs[c * in + k]);
            }
            const size_t i = static_cast<size_t>(c * ffn + o);
            const double a = activation(act, g[i]);
            const double up_error = precision * up_magnitude;
            const double gate_error = precision * gate_magnitude;
            const double bound = 1.2 * gate_error * (std::abs(u[i]) + up_error) +
                                 std::abs(a) * up_error + 1e-6 * std::abs(a * u[i]);
            EXPECT_NEAR(got[i], sequence[i], bound) << "row " << c << " output " << o;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendConformanceTest, ::testing::ValuesIn(Backends()),
                         [](const ::testing::TestParamInfo<BackendCase>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace llmw
