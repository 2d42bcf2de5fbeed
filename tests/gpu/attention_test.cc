// Tests of cuda::WriteKv and cuda::PagedAttention against their CPU twins, cpu::WriteKv and
// cpu::PagedAttention, on twin caches: the same shuffled block tables and slots, one in host
// memory and one on the GPU. The written caches must be equal byte for byte (unwritten slots
// included); attention outputs within a float-rounding tolerance.
//
// Each step mixes what a serving batch holds: a prefill chunk from position 0, decodes (in the
// middle of a block, at its last slot, at the first slot of a new one), a chunk that continues a
// prefill, and a chunk whose sequence shares its first blocks with another's (a reused prefix).
// Batches of 1, 8 and 64 decodes over contexts of 1 to 4,000 positions drive the split decode
// kernel through several splits, and through none (an empty scratch), against the same CPU twin.
//
// Tests that need a GPU skip when none is usable; with LLMW_REQUIRE_GPU=1 they fail instead.
#include "kernels/cuda/attention.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/stream.h"
#include "kernels/decode_plan.h"
#include "kernels/dtype.h"
#include "tests/gpu/cuda_device_test.h"

namespace llmw {
namespace {

int64_t ElemBytes(DType dtype) { return dtype == DType::kF32 ? 4 : 2; }

// ---- Host-only checks: every one fails before a launch, so these run everywhere. ----

// Non-null stand-ins for device pointers: the checks must reject each call before one is used.
struct FakePointers {
  float floats[1] = {};
  int32_t ints[1] = {};
  StepChunk chunk;

  PagedKvLayer Layer() { return PagedKvLayer{floats, floats, 16, 2, 64, DType::kF16}; }
  StepLayout Step() {
    StepLayout step;
    step.n_tokens = 3;
    step.n_chunks = 1;
    step.chunks = &chunk;
    step.block_tables = ints;
    return step;
  }
};

void ExpectInvalid(const absl::Status& status, const std::string& mentions) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(std::string(status.message()).find(mentions), std::string::npos) << status;
}

TEST(CudaWriteKvArgsTest, RejectsBadArgumentsWithoutLaunching) {
  FakePointers fake;
  const float* x = fake.floats;
  const int32_t* slots = fake.ints;
  EXPECT_TRUE(cuda::WriteKv(PagedKvLayer{}, nullptr, nullptr, nullptr, 0, nullptr).ok());
  ExpectInvalid(cuda::WriteKv(fake.Layer(), x, x, slots, -1, nullptr), "cuda::WriteKv: n = -1");
  ExpectInvalid(cuda::WriteKv(fake.Layer(), x, x, slots, int64_t{1} << 31, nullptr), "n = ");
  ExpectInvalid(cuda::WriteKv(fake.Layer(), nullptr, x, slots, 4, nullptr), "null");
  ExpectInvalid(cuda::WriteKv(fake.Layer(), x, x, nullptr, 4, nullptr), "null");
  PagedKvLayer kv = fake.Layer();
  kv.v = nullptr;
  ExpectInvalid(cuda::WriteKv(kv, x, x, slots, 4, nullptr), "kv.k or kv.v");
  kv = fake.Layer();
  kv.dtype = DType::kQ8_0;
  ExpectInvalid(cuda::WriteKv(kv, x, x, slots, 4, nullptr), "kv.dtype");
  kv = fake.Layer();
  kv.head_dim = 0;
  ExpectInvalid(cuda::WriteKv(kv, x, x, slots, 4, nullptr), "kv.head_dim = 0");
}

TEST(CudaPagedAttentionArgsTest, RejectsBadArgumentsWithoutLaunching) {
  FakePointers fake;
  float* out = fake.floats;
  const float* q = fake.floats;
  const AttentionParams params{8, 0.125f, 0, 0};
  StepLayout empty = fake.Step();
  empty.n_tokens = 0;
  const cuda::AttentionScratch scratch;  // never reserved: needs no device
  EXPECT_TRUE(cuda::PagedAttention(nullptr, nullptr, PagedKvLayer{}, empty, AttentionParams{},
                                   scratch, nullptr)
                  .ok());

  auto call = [&](const PagedKvLayer& kv, const StepLayout& step, const AttentionParams& p) {
    return cuda::PagedAttention(out, q, kv, step, p, scratch, nullptr);
  };
  StepLayout step = fake.Step();
  step.n_tokens = -2;
  ExpectInvalid(call(fake.Layer(), step, params), "cuda::PagedAttention: step.n_tokens = -2");
  step = fake.Step();
  step.n_chunks = 0;
  ExpectInvalid(call(fake.Layer(), step, params), "step.n_chunks = 0");
  step = fake.Step();
  step.block_tables = nullptr;
  ExpectInvalid(call(fake.Layer(), step, params), "null");
  ExpectInvalid(
      cuda::PagedAttention(nullptr, q, fake.Layer(), fake.Step(), params, scratch, nullptr),
      "null");

  PagedKvLayer kv = fake.Layer();
  kv.dtype = DType::kQ4_0;
  ExpectInvalid(call(kv, fake.Step(), params), "kv.dtype");
  kv = fake.Layer();
  kv.n_kv_heads = 0;
  ExpectInvalid(call(kv, fake.Step(), params), "kv.n_kv_heads = 0");
  kv = fake.Layer();
  kv.head_dim = 257;
  ExpectInvalid(call(kv, fake.Step(), params), "kv.head_dim = 257 > 256");
  kv = fake.Layer();
  kv.block_size = 0;
  ExpectInvalid(call(kv, fake.Step(), params), "kv.block_size = 0");

  ExpectInvalid(call(fake.Layer(), fake.Step(), AttentionParams{0, 1.0f, 0, 0}),
                "params.n_heads = 0");
  ExpectInvalid(call(fake.Layer(), fake.Step(), AttentionParams{7, 1.0f, 0, 0}),
                "params.n_heads = 7");
  ExpectInvalid(call(fake.Layer(), fake.Step(), AttentionParams{65536, 1.0f, 0, 0}),
                "params.n_heads = 65536");
}

// ---- Device checks. ----

class CudaDeviceFixture : public CudaDeviceTest {
 protected:
  // A device copy of `bytes` bytes at `data` (empty, with a test failure, if that fails).
  DeviceBuffer ToDevice(const void* data, size_t bytes) {
    absl::StatusOr<DeviceBuffer> buffer = DeviceBuffer::Allocate(bytes);
    if (!buffer.ok()) {
      ADD_FAILURE() << buffer.status();
      return DeviceBuffer();
    }
    if (absl::Status s = CopyToDevice(*buffer, data, bytes, stream_.get()); !s.ok()) {
      ADD_FAILURE() << s;
    }
    return *std::move(buffer);
  }
  template <typename T>
  DeviceBuffer ToDevice(const std::vector<T>& host) {
    return ToDevice(host.data(), host.size() * sizeof(T));
  }

  // The contents of `buffer`, after every queued op.
  template <typename T>
  std::vector<T> ToHost(const DeviceBuffer& buffer) {
    std::vector<T> host(buffer.size() / sizeof(T));
    EXPECT_TRUE(CopyToHost(host.data(), buffer, host.size() * sizeof(T), stream_.get()).ok());
    const absl::Status done = stream_.Synchronize();
    EXPECT_TRUE(done.ok()) << done;
    return host;
  }

  CudaStream stream_;
};

// A KV cache in host memory and its twin on the device, both filled with 0xff bytes (NaN in all
// three dtypes), so a slot attention reads without anything written there poisons its result.
struct TwinCache {
  std::vector<uint8_t> host_k, host_v;
  DeviceBuffer device_k, device_v;
  PagedKvLayer host, device;
};

// Fails when the two caches differ in any byte; prints the first differing elements.
void ExpectSameBytes(const std::vector<uint8_t>& want, const std::vector<uint8_t>& got, DType dtype,
                     const char* which) {
  ASSERT_EQ(want.size(), got.size());
  const int64_t elem = ElemBytes(dtype);
  int reported = 0;
  for (size_t i = 0; i < want.size(); i += elem) {
    if (std::memcmp(&want[i], &got[i], elem) == 0) continue;
    uint32_t w = 0, g = 0;
    std::memcpy(&w, &want[i], elem);
    std::memcpy(&g, &got[i], elem);
    if (reported++ < 10) {
      ADD_FAILURE() << which << " element " << i / elem << ": cpu 0x" << std::hex << w
                    << ", cuda 0x" << g;
    }
  }
  EXPECT_EQ(reported, 0) << which << ": elements that differ";
}

// ---- WriteKv on values where rounding is delicate. ----

using CudaWriteKvTest = CudaDeviceFixture;

// Floats at the edges of f16 and bf16 rounding: ties to even both ways, the overflow threshold
// of f16 (65520 goes to infinity, the float below it to 65504), f16 subnormals and the smallest
// values that round to zero, infinities, signed zeros and NaNs with payloads and signs.
std::vector<float> EdgeFloats() {
  const uint32_t bits[] = {
      0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001,
      0x7fa5a5a5, 0xffbfffff, 0x477fe000, 0x477fefff, 0x477ff000, 0x477ff001, 0x7f7fffff,
      0x38800000, 0x387fffff, 0x33800000, 0x33000000, 0x33000001, 0x32ffffff, 0x00000001,
      0x807fffff, 0x3f801000, 0x3f803000, 0x3f801001, 0x3f808000, 0x3f818000, 0x3f817fff,
      0x3f800fff, 0x3c00a000, 0x35800000, 0x358003ff, 0x3f7fffff, 0xc2c80000, 0x4b7fffff,
  };
  std::vector<float> out;
  for (uint32_t b : bits) out.push_back(std::bit_cast<float>(b));
  return out;
}

TEST_F(CudaWriteKvTest, StoresTheCpuBytesForEveryDType) {
  const int64_t n_kv_heads = 3, head_dim = 40, block_size = 4, num_blocks = 9, n = 22;
  const int64_t width = n_kv_heads * head_dim;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::uniform_real_distribution<float> log_magnitude(-30.0f, 20.0f);
  std::vector<float> k(n * width), v(n * width);
  for (int64_t i = 0; i < n * width; ++i) {
    // Magnitudes from 2^-30 to 2^20 cover f16's subnormals and overflow as well as normal values.
    k[i] = normal(rng) * std::exp2(log_magnitude(rng));
    v[i] = normal(rng);
  }
  const std::vector<float> edges = EdgeFloats();
  std::copy(edges.begin(), edges.end(), k.begin());
  std::copy(edges.begin(), edges.end(), v.end() - static_cast<int64_t>(edges.size()));
  // Distinct slots, shuffled over the cache, leaving some unwritten.
  std::vector<int32_t> slots(num_blocks * block_size);
  std::iota(slots.begin(), slots.end(), 0);
  std::shuffle(slots.begin(), slots.end(), rng);
  slots.resize(n);

  const DeviceBuffer d_k = ToDevice(k), d_v = ToDevice(v), d_slots = ToDevice(slots);
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    SCOPED_TRACE(DTypeName(dtype));
    const size_t bytes = num_blocks * block_size * width * ElemBytes(dtype);
    std::vector<uint8_t> host_k(bytes, 0xff), host_v(bytes, 0xff);
    DeviceBuffer cache_k = ToDevice(host_k), cache_v = ToDevice(host_v);
    ASSERT_FALSE(HasFailure());
    cpu::WriteKv({host_k.data(), host_v.data(), block_size, n_kv_heads, head_dim, dtype}, k.data(),
                 v.data(), slots.data(), n);
    const absl::Status s = cuda::WriteKv(
        {cache_k.data(), cache_v.data(), block_size, n_kv_heads, head_dim, dtype},
        d_k.data_as<float>(), d_v.data_as<float>(), d_slots.data_as<int32_t>(), n, stream_.get());
    ASSERT_TRUE(s.ok()) << s;
    ExpectSameBytes(host_k, ToHost<uint8_t>(cache_k), dtype, "K");
    ExpectSameBytes(host_v, ToHost<uint8_t>(cache_v), dtype, "V");
  }
}

// ---- A mixed step over twin caches. ----

struct AttentionCase {
  DType dtype;
  int64_t head_dim;
  int64_t n_heads;
  int64_t n_kv_heads;
  int64_t window;  // 0: none
  float softcap;   // 0: none
  int64_t block_size;
  int32_t prefill_tokens;  // the length of the chunk that starts at position 0
};

std::string Describe(const AttentionCase& c) {
  return absl::StrCat(std::string(DTypeName(c.dtype)), "_d", c.head_dim, "_h", c.n_heads, "kv",
                      c.n_kv_heads, "_w", c.window, "_cap", static_cast<int>(c.softcap), "_bs",
                      c.block_size, "_p", c.prefill_tokens);
}
std::string CaseName(const testing::TestParamInfo<AttentionCase>& info) {
  return Describe(info.param);
}
void PrintTo(const AttentionCase& c, std::ostream* os) { *os << Describe(c); }

// One sequence of the step: `cached` positions already in the cache, then `n_tokens` new ones.
struct SequenceSpec {
  int32_t cached;
  int32_t n_tokens;
  int shares_prefix_of = -1;  // index of an earlier sequence whose first blocks this one reuses
};

// The sequences of the mixed step (block size `bs`).
std::vector<SequenceSpec> MixedSequences(int32_t bs, int32_t prefill_tokens) {
  return {
      {0, prefill_tokens},  // a prompt's first chunk
      {300, 1},             // a decode after a long context
      {2 * bs, 8, 1},       // a prompt whose first two blocks are sequence 1's
      {40, 9},              // a prompt's second chunk
      {bs - 1, 1},          // a decode into the last slot of the first block
      {bs, 1},              // a decode into the first slot of the second block
      {0, 1},               // a one-token prompt
  };
}

// The host side of a step: its arrays, and the keys and values its sequences' earlier positions
// hold (written before it, as by earlier steps).
struct HostStep {
  int64_t num_blocks = 0;
  std::vector<StepChunk> chunks;
  std::vector<int32_t> block_tables, positions, kv_slots;
  std::vector<int32_t> history_slots;  // slots of the positions cached before the step
};

// Lays the sequences out over a cache of shuffled physical blocks, with a few spare ones that no
// table names. Shared prefix blocks are the same physical blocks in both tables and are cached
// once (by the sequence that owns them).
HostStep LayOut(const std::vector<SequenceSpec>& sequences, int32_t bs, std::mt19937& rng) {
  std::vector<std::vector<int32_t>> tables(sequences.size());
  int32_t owned_blocks = 0;
  for (const SequenceSpec& s : sequences) {
    const int32_t blocks = (s.cached + s.n_tokens + bs - 1) / bs;
    owned_blocks += blocks - (s.shares_prefix_of >= 0 ? s.cached / bs : 0);
  }
  HostStep step;
  step.num_blocks = owned_blocks + 3;
  std::vector<int32_t> free_blocks(step.num_blocks);
  std::iota(free_blocks.begin(), free_blocks.end(), 0);
  std::shuffle(free_blocks.begin(), free_blocks.end(), rng);

  int32_t first_token = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    const SequenceSpec& s = sequences[i];
    std::vector<int32_t>& table = tables[i];
    int32_t shared_positions = 0;
    if (s.shares_prefix_of >= 0) {
      shared_positions = s.cached;  // whole blocks (a multiple of bs) of the other sequence
      const std::vector<int32_t>& other = tables[s.shares_prefix_of];
      table.assign(other.begin(), other.begin() + shared_positions / bs);
    }
    while (static_cast<int64_t>(table.size()) * bs < s.cached + s.n_tokens) {
      table.push_back(free_blocks.back());
      free_blocks.pop_back();
    }
    const int32_t table_offset = static_cast<int32_t>(step.block_tables.size());
    step.block_tables.insert(step.block_tables.end(), table.begin(), table.end());
    auto slot = [&](int32_t pos) { return table[pos / bs] * bs + pos % bs; };
    for (int32_t pos = shared_positions; pos < s.cached; ++pos) {
      step.history_slots.push_back(slot(pos));
    }
    step.chunks.push_back({first_token, s.n_tokens, s.cached, table_offset});
    for (int32_t pos = s.cached; pos < s.cached + s.n_tokens; ++pos) {
      step.positions.push_back(pos);
      step.kv_slots.push_back(slot(pos));
    }
    first_token += s.n_tokens;
  }
  return step;
}

// The step's arrays on the device, and a StepLayout that points at them.
struct DeviceStep {
  DeviceBuffer chunks, block_tables, positions, kv_slots;
  StepLayout layout;
};

// Tolerance of the attention outputs, convex combinations of values drawn from N(0, 1). Both
// sides compute in f32 from the same cache bits, in different orders: the CPU sums a dot product
// in 8 FMA lanes, the GPU's decode kernel over up to 32 lanes then a butterfly, its prefill kernel
// in one running sum per score; the CPU's online softmax runs over tiles of 8 positions with a
// polynomial exp, the GPU's per lane group (decode) or per tile of 32 positions (prefill), with
// expf (2 ulp) and tanhf, its groups and splits merged by their maxima (one more rounding each).
// A CPU replay of an earlier kernel's order (4 interleaved warps merged at the end) stayed within
// 3.1e-6 of cpu::PagedAttention on contexts up to 513 positions; reordering f32 sums moves results
// by a few ulp of the partial sums, growing as the square root of their length (×3 at 4,000
// positions), so 3e-5 + 1e-4·|x| still leaves a factor of three or more. In that replay a dropped
// position, a wrong KV head or a window one position too long moved some output by more than
// 0.39 in every case where it changed anything.
constexpr double kAttentionAtol = 3e-5;
constexpr double kAttentionRtol = 1e-4;

void ExpectClose(const std::vector<float>& want, const std::vector<float>& got, int64_t n_heads,
                 int64_t head_dim) {
  ASSERT_EQ(want.size(), got.size());
  int reported = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double tolerance = kAttentionAtol + kAttentionRtol * std::abs(want[i]);
    if (std::abs(static_cast<double>(got[i]) - want[i]) <= tolerance) continue;
    if (reported++ < 10) {
      const int64_t row = static_cast<int64_t>(i) / head_dim;
      ADD_FAILURE() << "token " << row / n_heads << " head " << row % n_heads << " elem "
                    << static_cast<int64_t>(i) % head_dim << ": cpu " << want[i] << ", cuda "
                    << got[i];
    }
  }
  EXPECT_EQ(reported, 0) << "outputs out of tolerance";
}

class CudaPagedAttentionTest : public CudaDeviceFixture,
                               public testing::WithParamInterface<AttentionCase> {
 protected:
  DeviceStep UploadStep(const HostStep& step) {
    DeviceStep d;
    d.chunks = ToDevice(step.chunks);
    d.block_tables = ToDevice(step.block_tables);
    d.positions = ToDevice(step.positions);
    d.kv_slots = ToDevice(step.kv_slots);
    d.layout = HostLayout(step);
    d.layout.chunks = d.chunks.data_as<StepChunk>();
    d.layout.block_tables = d.block_tables.data_as<int32_t>();
    d.layout.positions = d.positions.data_as<int32_t>();
    d.layout.kv_slots = d.kv_slots.data_as<int32_t>();
    return d;
  }

  static StepLayout HostLayout(const HostStep& step) {
    StepLayout layout;
    layout.n_tokens = static_cast<int64_t>(step.kv_slots.size());
    layout.n_chunks = static_cast<int64_t>(step.chunks.size());
    layout.chunks = step.chunks.data();
    layout.block_tables = step.block_tables.data();
    layout.positions = step.positions.data();
    layout.kv_slots = step.kv_slots.data();
    return layout;
  }

  // Both caches, poisoned, then the history and the step's own keys and values written through
  // cpu::WriteKv and cuda::WriteKv; the written caches are compared byte for byte.
  TwinCache WriteCaches(const HostStep& step, const DeviceStep& d_step) {
    const AttentionCase& c = GetParam();
    const int64_t width = c.n_kv_heads * c.head_dim;
    TwinCache cache;
    const size_t bytes = step.num_blocks * c.block_size * width * ElemBytes(c.dtype);
    cache.host_k.assign(bytes, 0xff);
    cache.host_v.assign(bytes, 0xff);
    cache.device_k = ToDevice(cache.host_k);
    cache.device_v = ToDevice(cache.host_v);
    cache.host = {cache.host_k.data(), cache.host_v.data(), c.block_size,
                  c.n_kv_heads,        c.head_dim,          c.dtype};
    cache.device = cache.host;
    cache.device.k = cache.device_k.data();
    cache.device.v = cache.device_v.data();

    std::normal_distribution<float> normal;
    auto write = [&](const std::vector<int32_t>& slots, const int32_t* device_slots) {
      const int64_t n = static_cast<int64_t>(slots.size());
      std::vector<float> k(n * width), v(n * width);
      for (float& x : k) x = normal(rng_);
      for (float& x : v) x = normal(rng_);
      const DeviceBuffer d_k = ToDevice(k), d_v = ToDevice(v);
      cpu::WriteKv(cache.host, k.data(), v.data(), slots.data(), n);
      const absl::Status s = cuda::WriteKv(cache.device, d_k.data_as<float>(), d_v.data_as<float>(),
                                           device_slots, n, stream_.get());
      EXPECT_TRUE(s.ok()) << s;
      // Wait before d_k and d_v go.
      EXPECT_TRUE(stream_.Synchronize().ok());
    };
    const DeviceBuffer history_slots = ToDevice(step.history_slots);
    write(step.history_slots, history_slots.data_as<int32_t>());
    write(step.kv_slots, d_step.kv_slots.data_as<int32_t>());
    ExpectSameBytes(cache.host_k, ToHost<uint8_t>(cache.device_k), c.dtype, "K");
    ExpectSameBytes(cache.host_v, ToHost<uint8_t>(cache.device_v), c.dtype, "V");
    return cache;
  }

  AttentionParams Params() const {
    const AttentionCase& c = GetParam();
    return {c.n_heads, 1.0f / std::sqrt(static_cast<float>(c.head_dim)), c.window, c.softcap};
  }

  // Queries of `n` tokens from N(0, 2²), so that softmaxes are neither flat nor one-hot.
  std::vector<float> Queries(int64_t n) {
    const AttentionCase& c = GetParam();
    std::normal_distribution<float> normal(0.0f, 2.0f);
    std::vector<float> q(n * c.n_heads * c.head_dim);
    for (float& x : q) x = normal(rng_);
    return q;
  }

  // Scratch for split decodes of this case's queries on this GPU.
  const cuda::AttentionScratch& Scratch() {
    if (scratch_.floats() == 0) {
      const absl::Status s = scratch_.Reserve(GetParam().n_heads * GetParam().head_dim);
      EXPECT_TRUE(s.ok()) << s;
    }
    return scratch_;
  }

  // cuda::PagedAttention's output, into a buffer poisoned with NaN first; split decodes unless
  // `unsplit` (an empty scratch).
  std::vector<float> RunCuda(const std::vector<float>& q, const PagedKvLayer& kv,
                             const StepLayout& step, bool unsplit = false) {
    const DeviceBuffer d_q = ToDevice(q);
    const std::vector<float> poison(q.size(), std::numeric_limits<float>::quiet_NaN());
    const DeviceBuffer d_out = ToDevice(poison);
    const cuda::AttentionScratch no_scratch;
    const absl::Status s =
        cuda::PagedAttention(d_out.data_as<float>(), d_q.data_as<float>(), kv, step, Params(),
                             unsplit ? no_scratch : Scratch(), stream_.get());
    EXPECT_TRUE(s.ok()) << s;
    return ToHost<float>(d_out);
  }

  std::vector<float> RunCpu(const std::vector<float>& q, const PagedKvLayer& kv,
                            const StepLayout& step) {
    std::vector<float> out(q.size(), std::numeric_limits<float>::quiet_NaN());
    cpu::PagedAttention(out.data(), q.data(), kv, step, Params(), pool_);
    return out;
  }

  // The mixed step of this case over written twin caches, and its queries.
  struct MixedStep {
    HostStep host;
    DeviceStep device;
    TwinCache cache;
    std::vector<float> q;
  };
  MixedStep PrepareMixedStep() {
    const int32_t bs = static_cast<int32_t>(GetParam().block_size);
    MixedStep m;
    m.host = LayOut(MixedSequences(bs, GetParam().prefill_tokens), bs, rng_);
    m.device = UploadStep(m.host);
    m.cache = WriteCaches(m.host, m.device);
    m.q = Queries(m.device.layout.n_tokens);
    return m;
  }

  std::mt19937 rng_{2024};
  cpu::ThreadPool pool_{0};
  cuda::AttentionScratch scratch_;
};

TEST_P(CudaPagedAttentionTest, MixedStepMatchesCpu) {
  const AttentionCase& c = GetParam();
  const MixedStep m = PrepareMixedStep();
  ASSERT_FALSE(HasFailure());
  const std::vector<float> want = RunCpu(m.q, m.cache.host, HostLayout(m.host));
  const std::vector<float> got = RunCuda(m.q, m.cache.device, m.device.layout);
  ExpectClose(want, got, c.n_heads, c.head_dim);
}

// The same step gives the same bits every time (what a replayed CUDA graph relies on), and a
// decode alone — planned with other splits, as its batch is smaller — agrees with the CPU too.
TEST_P(CudaPagedAttentionTest, RepeatsBitForBitAndADecodeAloneMatchesCpu) {
  const AttentionCase& c = GetParam();
  const MixedStep m = PrepareMixedStep();
  ASSERT_FALSE(HasFailure());
  const std::vector<float> mixed = RunCuda(m.q, m.cache.device, m.device.layout);
  const std::vector<float> again = RunCuda(m.q, m.cache.device, m.device.layout);
  ASSERT_EQ(mixed.size(), again.size());
  EXPECT_EQ(std::memcmp(mixed.data(), again.data(), mixed.size() * sizeof(float)), 0);

  const HostStep& step = m.host;
  const StepChunk decode = step.chunks[1];
  const int64_t width = c.n_heads * c.head_dim;
  HostStep alone;
  alone.chunks = {{0, 1, decode.start_pos, 0}};
  alone.block_tables.assign(step.block_tables.begin() + decode.block_table,
                            step.block_tables.end());
  alone.positions = {step.positions[decode.first_token]};
  alone.kv_slots = {step.kv_slots[decode.first_token]};
  const DeviceStep d_alone = UploadStep(alone);
  const std::vector<float> q_alone(m.q.begin() + decode.first_token * width,
                                   m.q.begin() + (decode.first_token + 1) * width);
  const std::vector<float> one = RunCuda(q_alone, m.cache.device, d_alone.layout);
  ExpectClose(RunCpu(q_alone, m.cache.host, HostLayout(alone)), one, c.n_heads, c.head_dim);
}

// Batches of decodes only, over contexts that end inside, at the end of and just past a block,
// and long ones (4,000 positions: every split has several blocks), with shuffled blocks, partial
// last blocks and a sequence that reuses another's first blocks. Run split (the plan for this
// GPU, which splits a batch of one) and unsplit, and with step.decodes_only both ways (the
// prefill kernel must leave every decode alone).
TEST_P(CudaPagedAttentionTest, DecodeBatchesMatchCpuSplitOrNot) {
  const AttentionCase& c = GetParam();
  const int32_t bs = static_cast<int32_t>(c.block_size);
  const int32_t contexts[] = {1, 15, 16, 17, 513, 4000};
  for (int batch : {1, 8, 64}) {
    SCOPED_TRACE(absl::StrCat(batch, " decodes"));
    std::vector<SequenceSpec> sequences;
    for (int i = 0; i < batch; ++i) {
      // The batch of one takes the longest context; the others cycle through them all.
      const int32_t context = batch == 1 ? 4000 : contexts[i % 6];
      sequences.push_back({context - 1, 1});
    }
    if (batch > 5) sequences[5] = {2 * bs, 1, 4};  // reuses two blocks of the 513-position one
    const HostStep host = LayOut(sequences, bs, rng_);
    DeviceStep device = UploadStep(host);
    const TwinCache cache = WriteCaches(host, device);
    const std::vector<float> q = Queries(device.layout.n_tokens);
    ASSERT_FALSE(HasFailure());
    const std::vector<float> want = RunCpu(q, cache.host, HostLayout(host));

    const DecodePlan plan = PlanDecode(batch, c.n_heads, c.n_kv_heads, c.head_dim,
                                       Scratch().target_blocks(), Scratch().floats());
    if (batch == 1) {
      EXPECT_GT(plan.splits, 1) << "a single decode, " << Scratch().target_blocks() << " blocks";
    }
    const std::vector<float> split = RunCuda(q, cache.device, device.layout);
    ExpectClose(want, split, c.n_heads, c.head_dim);
    ExpectClose(want, RunCuda(q, cache.device, device.layout, /*unsplit=*/true), c.n_heads,
                c.head_dim);

    device.layout.decodes_only = true;
    const std::vector<float> decode_kernel_only = RunCuda(q, cache.device, device.layout);
    ASSERT_EQ(decode_kernel_only.size(), split.size());
    EXPECT_EQ(std::memcmp(decode_kernel_only.data(), split.data(), split.size() * sizeof(float)),
              0);
  }
}

// head_dim 64/80/128/256 in every cache dtype, GQA 1, 4 and 8 (query heads per KV head),
// windows shorter than a block and across blocks, softcaps, block sizes 16 and 5, and prefill
// chunks of 9, 64 and 513 tokens.
constexpr AttentionCase kCases[] = {
    {DType::kF32, 64, 4, 4, 0, 0, 16, 9},     {DType::kF32, 80, 8, 2, 7, 0, 16, 64},
    {DType::kF32, 128, 16, 2, 0, 3, 16, 9},   {DType::kF32, 256, 8, 8, 40, 3, 5, 9},
    {DType::kF32, 128, 32, 8, 0, 0, 16, 513}, {DType::kF16, 64, 8, 1, 40, 0, 16, 9},
    {DType::kF16, 80, 4, 4, 0, 3, 5, 9},      {DType::kF16, 128, 8, 2, 7, 3, 16, 64},
    {DType::kF16, 256, 16, 2, 0, 0, 16, 9},   {DType::kBF16, 64, 16, 4, 0, 3, 16, 9},
    {DType::kBF16, 80, 8, 1, 40, 3, 16, 9},   {DType::kBF16, 128, 4, 4, 7, 0, 5, 9},
    {DType::kBF16, 256, 8, 2, 0, 0, 16, 64},  {DType::kBF16, 64, 8, 1, 300, 50, 16, 513},
    {DType::kF16, 96, 12, 4, 1, 0, 8, 8},
};

INSTANTIATE_TEST_SUITE_P(Shapes, CudaPagedAttentionTest, testing::ValuesIn(kCases), CaseName);

}  // namespace
}  // namespace llmw
