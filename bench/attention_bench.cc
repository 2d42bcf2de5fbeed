// Times cuda::PagedAttention at Llama-3.1-8B's attention shape (32 query heads over 8 KV heads of
// 128, bf16 cache, blocks of 16 in shuffled order): decode batches split over the KV length and
// unsplit, as achieved bandwidth of the K and V reads (every decode cache is larger than the
// GPU's 60 MB L2), and prefill chunks of 2,048 and 8,192 tokens as TFLOP/s. Medians of CUDA-event
// times after two warm-up calls. Reports numbers; never fails on them.
// Usage: attention_bench [--runs N]
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/event_timer.h"
#include "kernels/cuda/stream.h"
#include "kernels/decode_plan.h"
#include "kernels/status_macros.h"

namespace llmw {
namespace {

constexpr int64_t kHeads = 32, kKvHeads = 8, kHeadDim = 128, kBlockSize = 16;
constexpr int64_t kTokenBytes = 2 * kKvHeads * kHeadDim * 2;  // K and V of one position, bf16

struct Timed {
  double median_us = 0;
};

absl::StatusOr<DeviceBuffer> Upload(const void* data, size_t bytes, cudaStream_t stream) {
  ASSIGN_OR_RETURN(DeviceBuffer buffer, DeviceBuffer::Allocate(bytes));
  RETURN_IF_ERROR(CopyToDevice(buffer, data, bytes, stream));
  return buffer;
}

// One step of `n_chunks` chunks of `chunk_tokens` tokens each, every sequence `context`
// positions long (its chunk last), over a cache of shuffled blocks; times `runs` calls.
absl::StatusOr<Timed> TimeStep(int64_t n_chunks, int64_t chunk_tokens, int64_t context,
                               const cuda::AttentionScratch& scratch, int runs,
                               CudaStream& stream) {
  const int64_t blocks_per_sequence = (context + kBlockSize - 1) / kBlockSize;
  const int64_t num_blocks = n_chunks * blocks_per_sequence;
  std::vector<int32_t> tables(num_blocks);
  std::iota(tables.begin(), tables.end(), 0);
  std::shuffle(tables.begin(), tables.end(), std::mt19937(7));
  std::vector<StepChunk> chunks;
  for (int64_t c = 0; c < n_chunks; ++c) {
    chunks.push_back({static_cast<int32_t>(c * chunk_tokens), static_cast<int32_t>(chunk_tokens),
                      static_cast<int32_t>(context - chunk_tokens),
                      static_cast<int32_t>(c * blocks_per_sequence)});
  }
  const int64_t n_tokens = n_chunks * chunk_tokens;
  std::vector<float> q(n_tokens * kHeads * kHeadDim);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (float& x : q) x = normal(rng);

  const size_t cache_bytes = static_cast<size_t>(num_blocks * kBlockSize * kTokenBytes / 2);
  ASSIGN_OR_RETURN(DeviceBuffer k, DeviceBuffer::Allocate(cache_bytes));
  ASSIGN_OR_RETURN(DeviceBuffer v, DeviceBuffer::Allocate(cache_bytes));
  // 0x3c3c as bf16 is about 0.0115: finite scores and values.
  LLMW_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(k.data(), 0x3c, cache_bytes, stream.get()));
  LLMW_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(v.data(), 0x3c, cache_bytes, stream.get()));
  ASSIGN_OR_RETURN(DeviceBuffer d_q, Upload(q.data(), q.size() * sizeof(float), stream.get()));
  ASSIGN_OR_RETURN(DeviceBuffer out, DeviceBuffer::Allocate(q.size() * sizeof(float)));
  ASSIGN_OR_RETURN(DeviceBuffer d_chunks,
                   Upload(chunks.data(), chunks.size() * sizeof(StepChunk), stream.get()));
  ASSIGN_OR_RETURN(DeviceBuffer d_tables,
                   Upload(tables.data(), tables.size() * sizeof(int32_t), stream.get()));

  const PagedKvLayer kv{k.data(), v.data(), kBlockSize, kKvHeads, kHeadDim, DType::kBF16};
  StepLayout step;
  step.n_tokens = n_tokens;
  step.n_chunks = n_chunks;
  step.decodes_only = chunk_tokens == 1;
  step.chunks = d_chunks.data_as<StepChunk>();
  step.block_tables = d_tables.data_as<int32_t>();
  const AttentionParams params{kHeads, 1.0f / 11.3137085f, 0, 0};

  const auto call = [&](int) {
    return cuda::PagedAttention(out.data_as<float>(), d_q.data_as<float>(), kv, step, params,
                                scratch, stream.get());
  };
  ASSIGN_OR_RETURN(const double us, MedianMicroseconds(stream.get(), /*warmup=*/2, runs, call));
  return Timed{us};
}

absl::Status Run(int runs) {
  ASSIGN_OR_RETURN(CudaStream stream, CudaStream::Create());
  cuda::AttentionScratch split;
  RETURN_IF_ERROR(split.Reserve(kHeads * kHeadDim));
  const cuda::AttentionScratch unsplit;
  std::printf(
      "attention: %lld query heads over %lld KV heads of %lld, bf16 cache, blocks of %lld;"
      " split plans aim at %lld blocks\n",
      static_cast<long long>(kHeads), static_cast<long long>(kKvHeads),
      static_cast<long long>(kHeadDim), static_cast<long long>(kBlockSize),
      static_cast<long long>(split.target_blocks()));
  const int64_t decodes[][2] = {{1, 32768}, {1, 131072}, {8, 4096},
                                {8, 32768}, {64, 4096},  {64, 16384}};
  for (const auto& [batch, context] : decodes) {
    const double gb = static_cast<double>(batch * context * kTokenBytes) / 1e9;
    const DecodePlan plan =
        PlanDecode(batch, kHeads, kKvHeads, kHeadDim, split.target_blocks(), split.floats());
    ASSIGN_OR_RETURN(const Timed s, TimeStep(batch, 1, context, split, runs, stream));
    ASSIGN_OR_RETURN(const Timed u, TimeStep(batch, 1, context, unsplit, runs, stream));
    std::printf(
        "attention decode batch %3lld context %6lld: %lld splits %9.1f us %7.1f GB/s | "
        "unsplit %9.1f us %7.1f GB/s\n",
        static_cast<long long>(batch), static_cast<long long>(context),
        static_cast<long long>(plan.splits), s.median_us, gb / (s.median_us * 1e-6), u.median_us,
        gb / (u.median_us * 1e-6));
  }
  for (const int64_t tokens : {2048, 8192}) {
    // Causal: each query head scores and sums over tokens · (tokens + 1) / 2 positions.
    const double flops = 4.0 * kHeads * kHeadDim * static_cast<double>(tokens) * (tokens + 1) / 2;
    ASSIGN_OR_RETURN(const Timed p, TimeStep(1, tokens, tokens, split, runs, stream));
    std::printf("attention prefill %lld tokens: %9.1f us %7.1f TFLOP/s\n",
                static_cast<long long>(tokens), p.median_us, flops / (p.median_us * 1e-6) / 1e12);
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace llmw

int main(int argc, char** argv) {
  int runs = 20;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: attention_bench [--runs N]\n");
      return 2;
    }
  }
  const absl::Status status = llmw::Run(runs);
  if (!status.ok()) {
    std::fprintf(stderr, "attention_bench: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
