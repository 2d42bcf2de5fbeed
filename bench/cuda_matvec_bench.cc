// The decode mat-vec on the GPU against the memory ceiling: cuda::Matmul (activation quantization
// plus mat-vec) on the weight shapes of SmolLM2-135M, Llama-3.2-1B and Llama-3.1-8B in bf16, q8_0,
// q4_0, q4_k and q6_k, at 1 and 8 activation rows, beside cuBLAS's bf16 GEMV (cublasGemmEx, one
// column) on the same shape and the device-to-device copy bandwidth of the same run; then
// Llama-3.1-8B's gate/up and q/k/v products as separate calls, one shared launch and the gated
// launch.
//
// Each figure is the median of 60 calls timed with CUDA events after warm-up, the calls rotating
// over copies of the weight whose total exceeds the 60 MB L2, so weights come from memory. GB/s
// counts the weight bytes read once per call. Weights are random bytes (the kernels' time does not
// depend on the values). A benchmark: it reports, never fails on a slow figure.
//
//   cuda_matvec_bench [--quick]    (--quick: the Llama-3.1-8B shapes only)
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/cuda/copy_bandwidth.h"
#include "kernels/cuda/cublas_handle.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/event_timer.h"
#include "kernels/cuda/matmul.h"
#include "kernels/cuda/stream.h"
#include "kernels/dtype.h"
#include "kernels/tensor.h"

namespace llmw::cuda {
namespace {

constexpr int kRuns = 60;
constexpr int kWarmup = 5;
// Rotating copies span at least this many bytes (over twice the H200's 60 MB L2).
constexpr int64_t kRotationBytes = int64_t{256} << 20;

struct Shape {
  const char* model;
  int64_t out, in;
};

const Shape kShapes[] = {
    {"SmolLM2-135M", 576, 576},    {"SmolLM2-135M", 1536, 576},    {"SmolLM2-135M", 576, 1536},
    {"SmolLM2-135M", 49152, 576},  {"Llama-3.2-1B", 2048, 2048},   {"Llama-3.2-1B", 512, 2048},
    {"Llama-3.2-1B", 8192, 2048},  {"Llama-3.2-1B", 2048, 8192},   {"Llama-3.2-1B", 128256, 2048},
    {"Llama-3.1-8B", 4096, 4096},  {"Llama-3.1-8B", 1024, 4096},   {"Llama-3.1-8B", 14336, 4096},
    {"Llama-3.1-8B", 4096, 14336}, {"Llama-3.1-8B", 128256, 4096},
};

const DType kTypes[] = {DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K};

bool Fail(const absl::Status& s, const char* what) {
  if (s.ok()) return false;
  std::fprintf(stderr, "cuda_matvec_bench: %s: %s\n", what, s.ToString().c_str());
  return true;
}

bool Fail(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return false;
  std::fprintf(stderr, "cuda_matvec_bench: %s: %s\n", what, cudaGetErrorString(e));
  return true;
}

// `copies` copies of `bytes` random bytes, one after another (each copy 256-byte aligned).
struct Weights {
  DeviceBuffer buffer;
  int64_t stride = 0;
  int copies = 0;
};

absl::StatusOr<Weights> RandomWeights(int64_t bytes, cudaStream_t stream) {
  Weights w;
  w.stride = (bytes + 255) / 256 * 256;
  w.copies = static_cast<int>(std::max<int64_t>(2, (kRotationBytes + bytes - 1) / bytes));
  absl::StatusOr<DeviceBuffer> buffer = DeviceBuffer::Allocate(w.stride * w.copies);
  if (!buffer.ok()) return buffer.status();
  w.buffer = *std::move(buffer);
  // One random block of host bytes, copied over the buffer at shifting offsets.
  constexpr int64_t kBlock = int64_t{16} << 20;
  static const std::vector<uint8_t> random = [] {
    std::vector<uint8_t> v(kBlock + 4096);
    std::mt19937 rng(1);
    for (uint8_t& b : v) b = static_cast<uint8_t>(rng());
    return v;
  }();
  const int64_t total = w.stride * w.copies;
  for (int64_t at = 0, i = 0; at < total; at += kBlock, ++i) {
    const int64_t n = std::min(kBlock, total - at);
    if (cudaError_t e = cudaMemcpyAsync(w.buffer.data_as<uint8_t>() + at, random.data() + i % 4096,
                                        static_cast<size_t>(n), cudaMemcpyHostToDevice, stream);
        e != cudaSuccess) {
      return absl::InternalError(cudaGetErrorString(e));
    }
  }
  return w;
}

// Median microseconds of `call(copy)` over kRuns calls rotating over `copies`.
template <typename Call>
absl::StatusOr<double> MedianUs(int copies, cudaStream_t stream, Call call) {
  return MedianMicroseconds(stream, kWarmup, kRuns, [&](int run) { return call(run % copies); });
}

// Llama-3.1-8B's gate/up (2 × 14336×4096) and q/k/v (4096, 1024, 1024 × 4096) products: separate
// Matmul calls, one MatmulShared launch and, for gate/up, MatvecGated. True on failure.
bool FusedLaunches(cudaStream_t s, cublasHandle_t cublas, MatmulScratch& scratch, const float* x,
                   float* y, double copy_gbs) {
  std::printf("\n%-26s %-5s %2s %10s %9s %6s\n", "Llama-3.1-8B launch", "type", "n", "us", "GB/s",
              "copy%");
  for (DType type : kTypes) {
    const int64_t mlp_bytes = RowBytes(type, 4096) * 14336;
    const int64_t q_bytes = RowBytes(type, 4096) * 4096, kv_bytes = RowBytes(type, 4096) * 1024;
    absl::StatusOr<Weights> mlp = RandomWeights(mlp_bytes, s);
    absl::StatusOr<Weights> q = RandomWeights(q_bytes, s);
    absl::StatusOr<Weights> kv = RandomWeights(kv_bytes, s);
    if (Fail(mlp.status(), "weights") || Fail(q.status(), "weights") ||
        Fail(kv.status(), "weights")) {
      return true;
    }
    auto at = [&](const Weights& w, int copy, int64_t out) {
      return Tensor(type, {out, 4096}, w.buffer.data_as<uint8_t>() + copy % w.copies * w.stride,
                    Device::kCuda);
    };
    for (int64_t n : {1, 8}) {
      struct Case {
        const char* name;
        int64_t bytes;
        std::function<absl::Status(int)> call;
      };
      const std::vector<Case> cases = {
          {"gate/up, 2 Matmul", 2 * mlp_bytes,
           [&](int c) {
             absl::Status st = Matmul(at(*mlp, c, 14336), x, n, y, scratch, cublas, s);
             if (!st.ok()) return st;
             return Matmul(at(*mlp, c + 1, 14336), x, n, y + 8 * 14336, scratch, cublas, s);
           }},
          {"gate/up, MatmulShared", 2 * mlp_bytes,
           [&](int c) {
             const Tensor gate = at(*mlp, c, 14336), up = at(*mlp, c + 1, 14336);
             const SharedProduct p[] = {{&gate, y}, {&up, y + 8 * 14336}};
             return MatmulShared(p, x, n, scratch, cublas, s);
           }},
          {"gate/up, MatvecGated", 2 * mlp_bytes,
           [&](int c) {
             return MatvecGated(at(*mlp, c, 14336), at(*mlp, c + 1, 14336), x, n,
                                GatedActivation::kSilu, y, scratch, s);
           }},
          {"q/k/v, 3 Matmul", q_bytes + 2 * kv_bytes,
           [&](int c) {
             absl::Status st = Matmul(at(*q, c, 4096), x, n, y, scratch, cublas, s);
             if (st.ok()) st = Matmul(at(*kv, c, 1024), x, n, y + 8 * 4096, scratch, cublas, s);
             if (st.ok()) st = Matmul(at(*kv, c + 1, 1024), x, n, y + 8 * 5120, scratch, cublas, s);
             return st;
           }},
          {"q/k/v, MatmulShared", q_bytes + 2 * kv_bytes,
           [&](int c) {
             const Tensor wq = at(*q, c, 4096), wk = at(*kv, c, 1024), wv = at(*kv, c + 1, 1024);
             const SharedProduct p[] = {{&wq, y}, {&wk, y + 8 * 4096}, {&wv, y + 8 * 5120}};
             return MatmulShared(p, x, n, scratch, cublas, s);
           }},
      };
      for (const Case& c : cases) {
        absl::StatusOr<double> us = MedianUs(std::max(mlp->copies, q->copies), s, c.call);
        if (Fail(us.status(), c.name)) return true;
        const double gbs = c.bytes / (*us * 1e3);
        std::printf("%-26s %-5s %2lld %10.1f %9.0f %5.0f%%\n", c.name,
                    std::string(DTypeName(type)).c_str(), static_cast<long long>(n), *us, gbs,
                    100.0 * gbs / copy_gbs);
      }
    }
  }
  return false;
}

int Run(bool quick) {
  absl::StatusOr<CudaStream> stream = CudaStream::Create();
  if (Fail(stream.status(), "stream")) return 1;
  absl::StatusOr<CublasHandle> cublas = CublasHandle::Create(stream->get());
  if (Fail(cublas.status(), "cuBLAS")) return 1;
  const cudaStream_t s = stream->get();

  const absl::StatusOr<double> copy_bytes_per_s = CudaCopyBandwidth();
  if (Fail(copy_bytes_per_s.status(), "copy")) return 1;
  const double copy = *copy_bytes_per_s * 1e-9;  // GB/s
  std::printf("device-to-device copy: %.0f GB/s (read + written)\n\n", copy);

  MatmulScratch scratch;
  if (Fail(scratch.Reserve(8, 14336, 1), "scratch")) return 1;
  absl::StatusOr<DeviceBuffer> x = DeviceBuffer::Allocate(8 * 14336 * sizeof(float));
  absl::StatusOr<DeviceBuffer> x16 = DeviceBuffer::Allocate(14336 * 2);
  absl::StatusOr<DeviceBuffer> y = DeviceBuffer::Allocate(8 * 128256 * sizeof(float));
  if (Fail(x.status(), "x") || Fail(x16.status(), "x16") || Fail(y.status(), "y")) return 1;
  {
    std::vector<float> host(8 * 14336);
    std::mt19937 rng(2);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& v : host) v = normal(rng);
    if (Fail(
            cudaMemcpy(x->data(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice),
            "x upload") ||
        Fail(cudaMemset(x16->data(), 0x3c, 14336 * 2), "x16")) {  // bf16 ≈ 0.0115
      return 1;
    }
  }

  std::printf("%-13s %13s %-5s %2s %10s %9s %6s   %17s %9s\n", "model", "out x in", "type", "n",
              "us", "GB/s", "copy%", "cuBLAS bf16 us", "GB/s");
  for (const Shape& shape : kShapes) {
    if (quick && std::strcmp(shape.model, "Llama-3.1-8B") != 0) continue;
    // cuBLAS's bf16 GEMV on the same shape.
    const int64_t bf16_bytes = RowBytes(DType::kBF16, shape.in) * shape.out;
    double cublas_us = -1.0;
    {
      absl::StatusOr<Weights> w = RandomWeights(bf16_bytes, s);
      if (Fail(w.status(), "weights")) return 1;
      const float alpha = 1.0f, beta = 0.0f;
      absl::StatusOr<double> us = MedianUs(w->copies, s, [&](int copy) {
        const cublasStatus_t e = cublasGemmEx(
            cublas->get(), CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(shape.out), 1,
            static_cast<int>(shape.in), &alpha, w->buffer.data_as<uint8_t>() + copy * w->stride,
            CUDA_R_16BF, static_cast<int>(shape.in), x16->data(), CUDA_R_16BF,
            static_cast<int>(shape.in), &beta, y->data(), CUDA_R_32F, static_cast<int>(shape.out),
            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        return e == CUBLAS_STATUS_SUCCESS ? absl::OkStatus()
                                          : absl::InternalError("cublasGemmEx failed");
      });
      if (Fail(us.status(), "cuBLAS GEMV")) return 1;
      cublas_us = *us;
    }
    for (DType type : kTypes) {
      if (shape.in % Traits(type).block_elems != 0) continue;  // K-quants need rows of 256
      const int64_t bytes = RowBytes(type, shape.in) * shape.out;
      absl::StatusOr<Weights> w = RandomWeights(bytes, s);
      if (Fail(w.status(), "weights")) return 1;
      for (int64_t n : {1, 8}) {
        absl::StatusOr<double> us = MedianUs(w->copies, s, [&](int copy) {
          const Tensor t(type, {shape.out, shape.in},
                         w->buffer.data_as<uint8_t>() + copy * w->stride, Device::kCuda);
          return Matmul(t, x->data_as<float>(), n, y->data_as<float>(), scratch, cublas->get(), s);
        });
        if (Fail(us.status(), "cuda::Matmul")) return 1;
        const double gbs = bytes / (*us * 1e3);
        std::printf("%-13s %6lldx%-6lld %-5s %2lld %10.1f %9.0f %5.0f%%   %17.1f %9.0f\n",
                    shape.model, static_cast<long long>(shape.out),
                    static_cast<long long>(shape.in), std::string(DTypeName(type)).c_str(),
                    static_cast<long long>(n), *us, gbs, 100.0 * gbs / copy, cublas_us,
                    bf16_bytes / (cublas_us * 1e3));
      }
    }
  }
  if (FusedLaunches(s, cublas->get(), scratch, x->data_as<float>(), y->data_as<float>(), copy)) {
    return 1;
  }
  std::printf(
      "\ncopy%%: the mat-vec's weight bytes per second against the copy's bytes moved per\n"
      "second (the memory roofline); cuBLAS: bf16 weights of the same shape, one token.\n");
  return 0;
}

}  // namespace
}  // namespace llmw::cuda

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  return llmw::cuda::Run(quick);
}
