// Micro-benchmarks of the CPU matmul on SmolLM2-135M shapes (Q4_1 projections, the Q8_0 tied
// LM head) and of the thread pool's per-call overhead.
//
// Arguments: out, in, n, variant (-1 = what Matmul picks, else matmul_internal::Isa), threads
// (0 = all hardware threads), working set in MiB (0 = one weight matrix, reused and cache-hot;
// otherwise that many MiB of copies, cycled, as a decode step streams a whole model).
// Counters: GFLOP/s (2 * n * out * in per call) and weight GB/s (weight bytes read per call).
// Block-format weights are packed once, as the models do at load (PackedWeights).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernels/block_formats.h"
#include "kernels/cpu/huge_buffer.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/matmul_internal.h"
#include "kernels/cpu/packed_weights.h"
#include "kernels/cpu/thread_pool.h"

namespace llmw::cpu {
namespace {

using matmul_internal::Isa;

void BM_Matmul(benchmark::State& state, DType type) {
  const int64_t out = state.range(0), in = state.range(1), n = state.range(2);
  const int isa_arg = static_cast<int>(state.range(3));
  const int threads = static_cast<int>(state.range(4));
  const int64_t working_set = state.range(5) << 20;
  const Isa isa = isa_arg < 0 ? matmul_internal::BestIsa() : static_cast<Isa>(isa_arg);
  if (!matmul_internal::IsaAvailable(isa)) {
    state.SkipWithError("variant not available on this CPU");
    return;
  }

  const int64_t bytes = out * RowBytes(type, in);
  const int64_t copies = std::max<int64_t>(1, working_set / bytes);
  std::vector<uint8_t> weights(static_cast<size_t>(bytes * copies));
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> row(static_cast<size_t>(in));
  for (int64_t o = 0; o < out; ++o) {
    for (float& v : row) v = dist(rng);
    QuantizeRowReference(type, row.data(), weights.data() + o * RowBytes(type, in), in);
  }
  for (int64_t c = 1; c < copies; ++c) {
    std::memcpy(weights.data() + c * bytes, weights.data(), static_cast<size_t>(bytes));
  }
  std::vector<float> x(static_cast<size_t>(n * in)), y(static_cast<size_t>(n * out));
  for (float& v : x) v = dist(rng);

  std::vector<std::unique_ptr<PackedWeights>> packed;
  if (IsPackable(type)) {
    for (int64_t c = 0; c < copies; ++c) {
      packed.push_back(
          std::make_unique<PackedWeights>(Tensor(type, {out, in}, weights.data() + c * bytes)));
    }
  }

  ThreadPool pool(threads);
  MatmulScratch scratch;
  scratch.Reserve(n, in);
  int64_t next = 0;
  for (auto _ : state) {
    if (packed.empty()) {
      const Tensor w(type, {out, in}, weights.data() + next * bytes);
      matmul_internal::MatmulWithIsa(isa, w, x.data(), n, y.data(), pool, scratch);
    } else {
      matmul_internal::MatmulWithIsa(isa, *packed[next], x.data(), n, y.data(), pool, scratch);
    }
    benchmark::DoNotOptimize(y.data());
    next = (next + 1) % copies;
  }
  const double calls = static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] =
      benchmark::Counter(calls * 2.0 * n * out * in * 1e-9, benchmark::Counter::kIsRate);
  state.counters["wGB/s"] =
      benchmark::Counter(calls * static_cast<double>(bytes) * 1e-9, benchmark::Counter::kIsRate);
  state.SetLabel(std::string(matmul_internal::IsaName(isa)) + " threads " +
                 std::to_string(pool.num_threads()) + (copies > 1 ? " streamed" : " hot"));
}

// {out, in, n, variant, threads, working set MiB}
void SmolShapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"out", "in", "n", "isa", "thr", "MiB"});
  for (int64_t n : {1, 8, 16}) {
    for (int64_t mib : {0, 128}) {
      b->Args({1536, 576, n, -1, 0, mib});
      b->Args({576, 1536, n, -1, 0, mib});
    }
  }
  // Each variant and a single thread on the FFN up projection, cache-hot and streamed.
  for (int isa = 0; isa < 4; ++isa) {
    for (int64_t n : {1, 8, 16}) b->Args({1536, 576, n, isa, 1, 0});
  }
  for (int64_t n : {1, 8, 16}) b->Args({1536, 576, n, -1, 1, 128});
  b->UseRealTime();
}

void LmHeadShapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"out", "in", "n", "isa", "thr", "MiB"});
  for (int64_t n : {1, 8, 16}) b->Args({49152, 576, n, -1, 0, 0});
  b->Args({49152, 576, 1, -1, 1, 0});
  b->UseRealTime();
}

BENCHMARK_CAPTURE(BM_Matmul, Q4_1, DType::kQ4_1)->Apply(SmolShapes);
BENCHMARK_CAPTURE(BM_Matmul, Q8_0, DType::kQ8_0)->Apply(LmHeadShapes);
BENCHMARK_CAPTURE(BM_Matmul, Q8_0, DType::kQ8_0)
    ->ArgNames({"out", "in", "n", "isa", "thr", "MiB"})
    ->Args({1536, 576, 1, -1, 0, 0})
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Matmul, F32, DType::kF32)
    ->ArgNames({"out", "in", "n", "isa", "thr", "MiB"})
    ->Args({1536, 576, 1, -1, 0, 0})
    ->Args({1536, 576, 16, -1, 0, 0})
    ->UseRealTime();

// Every matmul of one SmolLM2-135M forward step, each weight distinct as in the real model
// (30 layers of Q4_1 q, k, v, o, gate, up, down; the tied Q8_0 LM head): the matmul share of a
// decode step (n = 1) or of a 16-token chunk, to set beside whole-model tokens/s of peers.
void BM_SmolLM2StepMatmuls(benchmark::State& state) {
  const int64_t n = state.range(0);
  struct Shape {
    DType type;
    int64_t out, in;
  };
  std::vector<Shape> shapes;
  for (int layer = 0; layer < 30; ++layer) {
    for (const Shape& s : {Shape{DType::kQ4_1, 576, 576}, Shape{DType::kQ4_1, 192, 576},
                           Shape{DType::kQ4_1, 192, 576}, Shape{DType::kQ4_1, 576, 576},
                           Shape{DType::kQ4_1, 1536, 576}, Shape{DType::kQ4_1, 1536, 576},
                           Shape{DType::kQ4_1, 576, 1536}}) {
      shapes.push_back(s);
    }
  }
  shapes.push_back({DType::kQ8_0, 49152, 576});

  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<std::vector<uint8_t>> weights;
  int64_t total_bytes = 0;
  for (const Shape& s : shapes) {
    weights.emplace_back(static_cast<size_t>(s.out * RowBytes(s.type, s.in)));
    std::vector<float> row(static_cast<size_t>(s.in));
    for (int64_t o = 0; o < s.out; ++o) {
      for (float& v : row) v = dist(rng);
      QuantizeRowReference(s.type, row.data(), weights.back().data() + o * RowBytes(s.type, s.in),
                           s.in);
    }
    total_bytes += static_cast<int64_t>(weights.back().size());
  }
  // Packed into one huge-page buffer, as the models' LayerMatmul does.
  std::vector<Tensor> tensors;
  int64_t packed_bytes = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    tensors.emplace_back(shapes[i].type,
                         std::initializer_list<int64_t>{shapes[i].out, shapes[i].in},
                         weights[i].data());
    packed_bytes += PackedWeights::StorageBytes(tensors.back());
  }
  const HugeBuffer storage = AllocateHugeBuffer(static_cast<size_t>(packed_bytes));
  std::vector<std::unique_ptr<PackedWeights>> packed;
  uint8_t* next = static_cast<uint8_t*>(storage.get());
  for (const Tensor& t : tensors) {
    packed.push_back(std::make_unique<PackedWeights>(t, next));
    next += PackedWeights::StorageBytes(t);
  }
  std::vector<float> x(static_cast<size_t>(n * 1536)), y(static_cast<size_t>(n * 49152));
  for (float& v : x) v = dist(rng);

  ThreadPool pool(static_cast<int>(state.range(1)));
  MatmulScratch scratch;
  scratch.Reserve(n, 1536);
  for (auto _ : state) {
    for (const auto& w : packed) Matmul(*w, x.data(), n, y.data(), pool, scratch);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["steps/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["wGB/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(total_bytes) * 1e-9,
      benchmark::Counter::kIsRate);
  state.SetLabel(std::string(matmul_internal::IsaName(matmul_internal::BestIsa())) + " threads " +
                 std::to_string(pool.num_threads()));
}
BENCHMARK(BM_SmolLM2StepMatmuls)
    ->ArgNames({"n", "thr"})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({8, 0})
    ->Args({16, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The cost of one ParallelFor with trivial tasks: the pool's dispatch and join.
void BM_ParallelFor(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  std::atomic<int64_t> sink{0};
  for (auto _ : state) {
    pool.ParallelFor(64, [&](int64_t begin, int64_t end) {
      sink.fetch_add(end - begin, std::memory_order_relaxed);
    });
  }
  state.SetLabel("threads " + std::to_string(pool.num_threads()));
}
BENCHMARK(BM_ParallelFor)->Arg(0)->Arg(2)->UseRealTime();

}  // namespace
}  // namespace llmw::cpu

BENCHMARK_MAIN();
