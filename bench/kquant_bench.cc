// The integer K-quant matmul against the dequantize-to-f32 path of cpu::Matmul, on the K-quant
// tensors of Gemma 3 270M (Q4_K_M): median time per call at n = 1 (decode) and n = 64 (prefill).
//
//   kquant_bench [model.gguf] [threads]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernels/cpu/kquant/kquant_internal.h"
#include "kernels/cpu/kquant/kquant_matmul.h"
#include "kernels/cpu/matmul.h"
#include "models/formats/gguf_file.h"

namespace llmw::cpu {
namespace {

// Median microseconds of `fn` over enough repetitions to fill about `budget_ms`.
template <typename Fn>
double MedianUs(Fn fn, double budget_ms) {
  using Clock = std::chrono::steady_clock;
  fn();  // warm up: scratch sizes, caches
  const auto probe = Clock::now();
  fn();
  const double once = std::chrono::duration<double, std::milli>(Clock::now() - probe).count();
  const int reps = std::clamp(static_cast<int>(budget_ms / std::max(once, 1e-3)), 5, 2000);
  std::vector<double> us(static_cast<size_t>(reps));
  for (double& t : us) {
    const auto start = Clock::now();
    fn();
    t = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  }
  std::nth_element(us.begin(), us.begin() + reps / 2, us.end());
  return us[reps / 2];
}

int Run(const std::string& path, int threads) {
  absl::StatusOr<std::unique_ptr<GgufFile>> file = GgufFile::Open(path);
  if (!file.ok()) {
    std::fprintf(stderr, "%s\n", std::string(file.status().message()).c_str());
    return 1;
  }
  std::vector<std::string> names = {"blk.0.attn_output.weight", "blk.0.ffn_down.weight"};
  for (int layer = 1; layer < 64; ++layer) {
    const std::string name = "blk." + std::to_string(layer) + ".ffn_down.weight";
    const GgufTensorInfo* info = (*file)->FindTensor(name);
    if (info == nullptr) break;
    if (info->type != (*file)->FindTensor(names[1])->type) {
      names.push_back(name);
      break;
    }
  }
  ThreadPool pool(threads);
  MatmulScratch f32_scratch;
  KQuantScratch scratch;
  std::printf("threads %d, K-quant variant %s; median us per call\n", threads,
              kquant_internal::IsaName(kquant_internal::BestIsa()));
  std::printf("%-26s %-16s %4s %12s %12s %8s\n", "tensor", "type", "n", "f32 path", "integer",
              "speedup");
  for (const std::string& name : names) {
    const GgufTensorInfo* info = (*file)->FindTensor(name);
    if (info == nullptr) continue;
    const Tensor w = (*file)->TensorView(*info);
    if (!KQuantFastPathSupports(w.dtype())) continue;
    const int64_t out = w.dim(0), in = w.row_elems();
    for (int64_t n : {1, 64}) {
      std::mt19937 rng(5);
      std::normal_distribution<float> dist(0.0f, 1.0f);
      std::vector<float> x(static_cast<size_t>(n * in)), y(static_cast<size_t>(n * out));
      for (float& v : x) v = dist(rng);
      f32_scratch.Reserve(n, in);
      scratch.Reserve(n, in, threads);
      const double base =
          MedianUs([&] { Matmul(w, x.data(), n, y.data(), pool, f32_scratch); }, 300);
      const double fast =
          MedianUs([&] { KQuantMatmul(w, x.data(), n, y.data(), pool, scratch); }, 300);
      std::printf("%-26s %-16s %4lld %12.1f %12.1f %7.2fx\n", name.c_str(), w.DebugString().c_str(),
                  static_cast<long long>(n), base, fast, base / fast);
    }
  }
  return 0;
}

}  // namespace
}  // namespace llmw::cpu

int main(int argc, char** argv) {
  const char* home = std::getenv("HOME");
  const std::string path = argc > 1 ? argv[1]
                                    : std::string(home ? home : "/root") +
                                          "/.cache/llm-worker/models/gemma-3-270m-q4_k_m.gguf";
  const int threads =
      argc > 2 ? std::atoi(argv[2]) : static_cast<int>(std::thread::hardware_concurrency());
  return llmw::cpu::Run(path, std::max(1, threads));
}
