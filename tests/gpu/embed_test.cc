// cuda::Embed against cpu::Embed, bit for bit, for every table dtype (reference-quantized and
// random block bytes), repeated and edge token ids, and scales of 1 (no multiply), a power of two
// and an inexact one; tokens outside the table give NaN rows and leave the others intact. Plus
// the argument checks, which run without a GPU.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/ops.h"
#include "kernels/cuda/matmul.h"
#include "tests/gpu/weights_test_util.h"
#include "tests/unit/kernels/block_weights_test_util.h"

namespace llmw {
namespace {

using testing_util::BlockWeights;

constexpr int64_t kVocab = 50;

std::string Name(DType t) { return std::string(DTypeName(t)); }

// n token ids: the first and last rows, then a repeating walk over the table.
std::vector<int32_t> Tokens(int64_t n) {
  std::vector<int32_t> tokens(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) tokens[t] = static_cast<int32_t>((t * 17 + 3) % kVocab);
  tokens[0] = 0;
  if (n > 1) tokens[1] = kVocab - 1;
  return tokens;
}

class EmbedTest : public gpu_testing::CudaWeightsTest {
 protected:
  // The GPU's rows for `tokens`, NaN-poisoned before the call.
  std::vector<float> GpuEmbed(const Tensor& device_table, const std::vector<int32_t>& tokens,
                              float scale) {
    const int64_t n = static_cast<int64_t>(tokens.size()), width = device_table.row_elems();
    float* out = Poisoned<float>(n * width);
    const absl::Status status =
        cuda::Embed(out, device_table, ToDevice(tokens), n, scale, stream_.get());
    EXPECT_TRUE(status.ok()) << status;
    return ToHost(out, n * width);
  }
};

TEST_F(EmbedTest, EqualsCpuEmbedBitForBit) {
  for (DType type : testing_util::AllWeightTypes()) {
    // Float tables also get a width that is not a multiple of 32.
    for (int64_t width : {int64_t{512}, int64_t{77}}) {
      if (testing_util::IsBlockFormat(type) && width % 256 != 0) continue;
      for (bool raw : {false, true}) {
        const BlockWeights table(type, kVocab, width, 23, raw);
        const Tensor device_table = ToDevice(table.tensor);
        for (int64_t n : {1, 9, 64}) {
          for (float scale : {1.0f, 0.125f, std::sqrt(2048.0f)}) {
            SCOPED_TRACE(Name(type) + (raw ? " raw" : "") + " width " + std::to_string(width) +
                         " n " + std::to_string(n) + " scale " + std::to_string(scale));
            const std::vector<int32_t> tokens = Tokens(n);
            std::vector<float> want(static_cast<size_t>(n * width));
            cpu::Embed(want.data(), table.tensor, tokens.data(), n, scale);
            const std::vector<float> got = GpuEmbed(device_table, tokens, scale);
            int mismatches = 0;
            for (size_t i = 0; i < want.size(); ++i) {
              if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0 && mismatches++ < 5) {
                ADD_FAILURE() << "out[" << i / width << "][" << i % width << "] = " << got[i]
                              << ", cpu::Embed " << want[i];
              }
            }
            EXPECT_EQ(mismatches, 0);
          }
        }
      }
    }
  }
}

TEST_F(EmbedTest, TokensOutsideTheTableGiveNaNRows) {
  constexpr int64_t kWidth = 256;
  for (DType type : {DType::kBF16, DType::kQ4_K}) {
    SCOPED_TRACE(Name(type));
    const BlockWeights table(type, kVocab, kWidth, 5);
    const std::vector<int32_t> tokens = {3, -1, static_cast<int32_t>(kVocab), 7};
    const std::vector<float> got = GpuEmbed(ToDevice(table.tensor), tokens, 1.0f);
    for (int64_t i = 0; i < kWidth; ++i) {
      EXPECT_TRUE(std::isnan(got[kWidth + i])) << "token -1, element " << i;
      EXPECT_TRUE(std::isnan(got[2 * kWidth + i])) << "token vocab, element " << i;
    }
    const std::vector<float> row3 = table.Row(3), row7 = table.Row(7);
    EXPECT_EQ(std::memcmp(got.data(), row3.data(), kWidth * sizeof(float)), 0);
    EXPECT_EQ(std::memcmp(got.data() + 3 * kWidth, row7.data(), kWidth * sizeof(float)), 0);
  }
}

// ---- Argument checks: no device is touched, so these run everywhere. ----

TEST(EmbedArgsTest, RejectsBadTablesAndCalls) {
  void* p = reinterpret_cast<void*>(uintptr_t{1} << 20);
  float* out = static_cast<float*>(p);
  const int32_t* tokens = static_cast<const int32_t*>(p);
  const absl::StatusCode invalid = absl::StatusCode::kInvalidArgument;
  const Tensor table(DType::kQ8_0, {10, 64}, p, Device::kCuda);
  EXPECT_EQ(cuda::Embed(out, Tensor(DType::kQ8_0, {10, 64}, p), tokens, 1, 1.0f, nullptr).code(),
            invalid);  // a host table
  EXPECT_EQ(
      cuda::Embed(out, Tensor(DType::kQ8_K, {10, 256}, p, Device::kCuda), tokens, 1, 1.0f, nullptr)
          .code(),
      invalid);
  EXPECT_EQ(
      cuda::Embed(out, Tensor(DType::kQ8_0, {10, 48}, p, Device::kCuda), tokens, 1, 1.0f, nullptr)
          .code(),
      invalid);
  EXPECT_EQ(cuda::Embed(out, table, tokens, -1, 1.0f, nullptr).code(), invalid);
  EXPECT_EQ(cuda::Embed(nullptr, table, tokens, 1, 1.0f, nullptr).code(), invalid);
  EXPECT_EQ(cuda::Embed(out, table, nullptr, 1, 1.0f, nullptr).code(), invalid);
  EXPECT_TRUE(cuda::Embed(nullptr, table, nullptr, 0, 1.0f, nullptr).ok());
}

}  // namespace
}  // namespace llmw
