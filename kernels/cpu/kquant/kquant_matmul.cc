// KQuantMatmul: workspace, run-time variant choice and the parallel split over output rows.
#include "kernels/cpu/kquant/kquant_matmul.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "kernels/block_formats.h"
#include "kernels/cpu/kquant/kquant_internal.h"

namespace llmw::cpu {
namespace {

namespace ki = kquant_internal;

using ki::kGroupRows;
// Below this many activation elements, quantizing on the calling thread beats waking the pool.
constexpr int64_t kParallelQuantizeElems = 16 * 1024;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "llmw: %s\n", message.c_str());
  std::abort();
}

void* AlignedAlloc(int64_t bytes) {
  const int64_t rounded = (std::max<int64_t>(bytes, 64) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, static_cast<size_t>(rounded));
  if (p == nullptr) Die("KQuantScratch: out of memory");
  return p;
}

// Each thread's part of the weight buffer: kGroupRows decoded rows and the kernel's workspace.
int64_t SlotBytes(int64_t n, int64_t nb) {
  const int64_t decoded = kGroupRows * nb * static_cast<int64_t>(sizeof(ki::DecodedBlock));
  return decoded + (ki::DotWorkspaceBytes(n, nb) + 63) / 64 * 64;
}

}  // namespace

void KQuantScratch::Reserve(int64_t max_n, int64_t max_in, int max_threads) {
  Activations(max_n * (max_in / kQ8KElems));
  WeightBuffer(max_threads * SlotBytes(max_n, max_in / kQ8KElems));
}

BlockQ8K* KQuantScratch::Activations(int64_t blocks) {
  if (blocks > activation_blocks_) {
    activations_.reset(AlignedAlloc(blocks * static_cast<int64_t>(sizeof(BlockQ8K))));
    activation_blocks_ = blocks;
  }
  return static_cast<BlockQ8K*>(activations_.get());
}

void* KQuantScratch::WeightBuffer(int64_t bytes) {
  if (bytes > weight_bytes_) {
    weights_.reset(AlignedAlloc(bytes));
    weight_bytes_ = bytes;
  }
  return weights_.get();
}

void QuantizeRowQ8K(const float* x, int64_t in, BlockQ8K* out) {
  ki::KernelsFor(ki::BestIsa()).quantize(x, in, out);
}

bool KQuantFastPathSupports(DType w) { return IsKQuant(w); }

void KQuantMatmul(const Tensor& w, const float* x, int64_t n, float* y, ThreadPool& pool,
                  KQuantScratch& scratch) {
  ki::KQuantMatmulWithIsa(ki::BestIsa(), w, x, n, y, pool, scratch);
}

namespace kquant_internal {

const Kernels& KernelsFor(Isa isa) {
  if (!IsaAvailable(isa)) Die(absl::StrCat("K-quant variant ", IsaName(isa), " is not available"));
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx2:
    case Isa::kAvxVnni:
      return Avx2Kernels();
    case Isa::kAvx512Vnni:
      return Avx512Kernels();
#endif
    default:
      return ScalarKernels();
  }
}

void KQuantMatmulWithIsa(Isa isa, const Tensor& w, const float* x, int64_t n, float* y,
                         ThreadPool& pool, KQuantScratch& scratch) {
  if (!KQuantFastPathSupports(w.dtype()) || w.device() != Device::kCpu || w.rank() != 2 ||
      w.row_elems() % kQ8KElems != 0) {
    Die(absl::StrCat("KQuantMatmul: unsupported weight ", w.DebugString()));
  }
  const int64_t out = w.dim(0), in = w.row_elems(), nb = in / kQ8KElems;
  if (n <= 0 || out <= 0) return;
  const Kernels& k = KernelsFor(isa);

  BlockQ8K* xq = scratch.Activations(n * nb);
  auto quantize_rows = [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) k.quantize(x + c * in, in, xq + c * nb);
  };
  if (n * in >= kParallelQuantizeElems) {
    pool.ParallelFor(n, quantize_rows);
  } else {
    quantize_rows(0, n);
  }

  // Each slot owns a buffer (decoded rows, then the kernel's workspace) and a fixed range of row
  // groups.
  const int64_t groups = (out + kGroupRows - 1) / kGroupRows;
  const int slots = static_cast<int>(std::min<int64_t>(pool.num_threads(), groups));
  const int64_t slot_bytes = SlotBytes(n, nb);
  auto* buffers = static_cast<uint8_t*>(scratch.WeightBuffer(slots * slot_bytes));
  pool.ParallelFor(slots, [&](int64_t begin, int64_t end) {
    for (int64_t slot = begin; slot < end; ++slot) {
      uint8_t* buffer = buffers + slot * slot_bytes;
      auto* rows = reinterpret_cast<DecodedBlock*>(buffer);
      void* workspace = buffer + kGroupRows * nb * static_cast<int64_t>(sizeof(DecodedBlock));
      const auto [g0, g1] = ThreadPool::Chunk(groups, slots, static_cast<int>(slot));
      for (int64_t g = g0; g < g1; ++g) {
        const int64_t o0 = g * kGroupRows, count = std::min(kGroupRows, out - o0);
        for (int64_t r = 0; r < count; ++r) k.decode(w.dtype(), w.row(o0 + r), nb, rows + r * nb);
        k.dot(rows, count, xq, n, nb, w.dtype(), y + o0, out, workspace);
      }
    }
  });
}

}  // namespace kquant_internal
}  // namespace llmw::cpu
