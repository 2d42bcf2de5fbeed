// cuda::TopCandidates against its CPU twin, cpu::TopCandidates: the same ids and the same value
// bits (a selection does no arithmetic, so no tolerance), over vocabularies from 1 to 262,144,
// rows with ties, -inf, +inf, NaN and signed zeros, top_n from 1 to 1,024 (and the whole row),
// and the values at extra ids. Outputs start as poison with a poisoned guard after them.
//
// Device tests skip without a usable GPU and fail under LLMW_REQUIRE_GPU=1 (cuda_device_test.h).
#include "kernels/cuda/top_candidates.h"

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/cpu/top_candidates.h"
#include "kernels/cuda/device_buffer.h"
#include "tests/gpu/cuda_device_test.h"
#include "tests/unit/kernels/logit_rows_test_util.h"

namespace llmw {
namespace {

using ::testing::HasSubstr;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int64_t kGuard = 64;

TEST(CudaTopCandidatesArgsTest, RejectsBadArgumentsNamingThem) {
  float f = 0;
  int32_t i = 0;
  const struct {
    absl::Status status;
    const char* argument;
  } cases[] = {
      {cuda::TopCandidates(&i, &f, &f, &f, -1, 8, 1, &i, &i, nullptr, 0, nullptr), "rows"},
      {cuda::TopCandidates(&i, &f, &f, &f, 1, 0, 1, &i, &i, nullptr, 0, nullptr), "vocab"},
      {cuda::TopCandidates(&i, &f, &f, &f, 1, int64_t{1} << 31, 1, &i, &i, nullptr, 0, nullptr),
       "vocab"},
      {cuda::TopCandidates(&i, &f, &f, &f, 1, 8, 0, &i, &i, nullptr, 0, nullptr), "top_n"},
      {cuda::TopCandidates(&i, &f, &f, &f, 1, 8, 9, &i, &i, nullptr, 0, nullptr), "top_n"},
      {cuda::TopCandidates(&i, &f, &f, nullptr, 1, 8, 2, &i, &i, nullptr, 0, nullptr), "null"},
      {cuda::TopCandidates(&i, &f, &f, &f, 1, 8, 2, &i, nullptr, nullptr, 0, nullptr), "null"},
      {cuda::TopCandidates(&i, &f, &f, &f, 1, 8, 2, &i, &i, nullptr, -8, nullptr), "scratch"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(c.status.code(), absl::StatusCode::kInvalidArgument) << c.status;
    EXPECT_THAT(std::string(c.status.message()), HasSubstr("cuda::TopCandidates"));
    EXPECT_THAT(std::string(c.status.message()), HasSubstr(c.argument));
  }
  EXPECT_TRUE(cuda::TopCandidates(nullptr, nullptr, nullptr, nullptr, 0, 8, 2, nullptr, nullptr,
                                  nullptr, 0, nullptr)
                  .ok());
}

bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

class CudaTopCandidatesTest : public CudaDeviceTest {
 protected:
  // A device copy of `host` followed by kGuard poison elements (all bytes 0xFF).
  template <typename T>
  DeviceBuffer Upload(const std::vector<T>& host, int64_t extra = kGuard) {
    absl::StatusOr<DeviceBuffer> buffer =
        DeviceBuffer::Allocate((host.size() + extra) * sizeof(T) + sizeof(T));
    EXPECT_TRUE(buffer.ok()) << buffer.status();
    if (!buffer.ok()) return DeviceBuffer();
    EXPECT_EQ(cudaMemsetAsync(buffer->data(), 0xFF, buffer->size(), stream_.get()), cudaSuccess);
    if (!host.empty()) {
      EXPECT_TRUE(CopyToDevice(*buffer, host.data(), host.size() * sizeof(T), stream_.get()).ok());
    }
    return *std::move(buffer);
  }
  template <typename T>
  std::vector<T> Download(const DeviceBuffer& buffer, int64_t n) {
    std::vector<T> all(n + kGuard);
    EXPECT_TRUE(CopyToHost(all.data(), buffer, all.size() * sizeof(T), stream_.get()).ok());
    EXPECT_TRUE(stream_.Synchronize().ok());
    for (int64_t i = n; i < n + kGuard; ++i) {
      uint32_t bits;
      std::memcpy(&bits, &all[i], sizeof(bits));
      EXPECT_EQ(bits, 0xFFFFFFFFu) << "write past the end at " << i;
    }
    all.resize(n);
    return all;
  }

  void Check(int64_t rows, int64_t vocab, int kind, int64_t top_n, std::mt19937& rng) {
    SCOPED_TRACE(::testing::Message() << "rows " << rows << " vocab " << vocab << " kind " << kind
                                      << " top_n " << top_n);
    const std::vector<float> x = testing::LogitRows(rows, vocab, kind, rng);
    std::vector<int32_t> offsets = {0}, extra_ids;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < 3 * r; ++j) {
        extra_ids.push_back(j == 0 ? static_cast<int32_t>(vocab)
                                   : static_cast<int32_t>(rng() % vocab));
      }
      offsets.push_back(static_cast<int32_t>(extra_ids.size()));
    }
    std::vector<int32_t> want_ids(rows * top_n);
    std::vector<float> want_values(rows * top_n), want_extra(extra_ids.size());
    cpu::TopCandidates(want_ids.data(), want_values.data(), want_extra.data(), x.data(), rows,
                       vocab, top_n, extra_ids.data(), offsets.data());

    const DeviceBuffer logits = Upload(x);
    const DeviceBuffer ids_in = Upload(extra_ids);
    const DeviceBuffer offsets_in = Upload(offsets);
    // Without scratch: one block per row; with it, few rows of a large vocabulary in slices.
    for (const bool sliced : {false, true}) {
      SCOPED_TRACE(sliced ? "with scratch" : "without scratch");
      const DeviceBuffer scratch =
          Upload(std::vector<float>(), sliced ? cuda::kTopCandidatesScratchBytes / 4 : 0);
      const DeviceBuffer top_ids = Upload(std::vector<int32_t>(), rows * top_n + kGuard);
      const DeviceBuffer top_values = Upload(std::vector<float>(), rows * top_n + kGuard);
      const DeviceBuffer extra_values =
          Upload(std::vector<float>(), static_cast<int64_t>(extra_ids.size()) + kGuard);
      const absl::Status status = cuda::TopCandidates(
          top_ids.data_as<int32_t>(), top_values.data_as<float>(), extra_values.data_as<float>(),
          logits.data_as<float>(), rows, vocab, top_n, ids_in.data_as<int32_t>(),
          offsets_in.data_as<int32_t>(), sliced ? scratch.data() : nullptr,
          sliced ? cuda::kTopCandidatesScratchBytes : 0, stream_.get());
      ASSERT_TRUE(status.ok()) << status;
      Compare(top_ids, top_values, extra_values, want_ids, want_values, want_extra);
      if (HasFatalFailure()) return;
    }
  }

  void Compare(const DeviceBuffer& top_ids, const DeviceBuffer& top_values,
               const DeviceBuffer& extra_values, const std::vector<int32_t>& want_ids,
               const std::vector<float>& want_values, const std::vector<float>& want_extra) {
    const int64_t rows_top_n = static_cast<int64_t>(want_ids.size());
    const std::vector<int32_t> got_ids = Download<int32_t>(top_ids, rows_top_n);
    const std::vector<float> got_values = Download<float>(top_values, rows_top_n);
    const std::vector<float> got_extra =
        Download<float>(extra_values, static_cast<int64_t>(want_extra.size()));
    ASSERT_EQ(got_ids, want_ids);
    for (size_t i = 0; i < got_values.size(); ++i) {
      ASSERT_TRUE(SameBits(got_values[i], want_values[i])) << "value " << i;
    }
    for (size_t j = 0; j < got_extra.size(); ++j) {
      ASSERT_TRUE(SameBits(got_extra[j], want_extra[j]) ||
                  (std::isnan(got_extra[j]) && std::isnan(want_extra[j])))
          << "extra value " << j;
    }
  }
};

TEST_F(CudaTopCandidatesTest, MatchesTheCpuTwin) {
  std::mt19937 rng(3);
  for (const int64_t vocab : {1, 31, 1024, 1025, 4099, 49152, 151936, 262144}) {
    for (int kind = 0; kind < testing::kLogitRowKinds; ++kind) {
      for (const int64_t top_n : {int64_t{1}, int64_t{2}, int64_t{41}, int64_t{1024}, vocab}) {
        if (top_n > vocab || (top_n == vocab && vocab > 4099)) continue;
        Check(3, vocab, kind, top_n, rng);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_F(CudaTopCandidatesTest, ManyRows) {
  std::mt19937 rng(4);
  Check(64, 49152, 0, 50, rng);
  Check(257, 151936, 1, 3, rng);
}

// Not a check: how long the selection takes (in slices, and one block a row) for 1, 8 and 64 rows
// of 128,256 and 262,144 logits, next to copying those rows to page-locked host memory (what it
// saves), printed for the GPU run's log.
TEST_F(CudaTopCandidatesTest, ReportsTime) {
  constexpr int64_t kMaxRows = 64, kTopN = 64;
  std::mt19937 rng(5);
  void* host = nullptr;
  ASSERT_EQ(cudaMallocHost(&host, kMaxRows * 262144 * sizeof(float)), cudaSuccess);
  cudaEvent_t start, stop;
  ASSERT_EQ(cudaEventCreate(&start), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&stop), cudaSuccess);
  // Microseconds per call of `run`, over 20 calls after a warm-up.
  const auto time = [&](const auto& run) {
    run();
    constexpr int kRepeats = 20;
    EXPECT_EQ(cudaEventRecord(start, stream_.get()), cudaSuccess);
    for (int i = 0; i < kRepeats; ++i) run();
    EXPECT_EQ(cudaEventRecord(stop, stream_.get()), cudaSuccess);
    EXPECT_TRUE(stream_.Synchronize().ok());
    float ms = 0;
    EXPECT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaSuccess);
    return 1000.0 * ms / kRepeats;
  };
  for (const int64_t vocab : {128256, 262144}) {
    const std::vector<float> x = testing::LogitRows(kMaxRows, vocab, 0, rng);
    const DeviceBuffer logits = Upload(x);
    const DeviceBuffer offsets = Upload(std::vector<int32_t>(kMaxRows + 1, 0));
    const DeviceBuffer ids = Upload(std::vector<int32_t>(), kMaxRows * kTopN + kGuard);
    const DeviceBuffer values = Upload(std::vector<float>(), kMaxRows * kTopN + kGuard);
    const DeviceBuffer extra = Upload(std::vector<float>(), kGuard);
    const DeviceBuffer scratch = Upload(std::vector<float>(), cuda::kTopCandidatesScratchBytes / 4);
    for (const int64_t rows : {1, 8, 64}) {
      const auto select = [&](bool sliced) {
        EXPECT_TRUE(cuda::TopCandidates(
                        ids.data_as<int32_t>(), values.data_as<float>(), extra.data_as<float>(),
                        logits.data_as<float>(), rows, vocab, kTopN, offsets.data_as<int32_t>(),
                        offsets.data_as<int32_t>(), sliced ? scratch.data() : nullptr,
                        sliced ? cuda::kTopCandidatesScratchBytes : 0, stream_.get())
                        .ok());
      };
      const double one_block_us = time([&] { select(false); });
      const double select_us = time([&] { select(true); });
      const double copy_us = time([&] {
        EXPECT_EQ(cudaMemcpyAsync(host, logits.data(), rows * vocab * sizeof(float),
                                  cudaMemcpyDeviceToHost, stream_.get()),
                  cudaSuccess);
      });
      std::printf(
          "TopCandidates: %lld rows x %lld logits, top %lld: %.1f us (one block a row: %.1f us); "
          "copying the rows: %.1f us\n",
          static_cast<long long>(rows), static_cast<long long>(vocab),
          static_cast<long long>(kTopN), select_us, one_block_us, copy_us);
    }
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaFreeHost(host);
}

}  // namespace
}  // namespace llmw
