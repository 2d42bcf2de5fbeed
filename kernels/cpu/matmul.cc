// Matmul: workspace, validation, the reference, run-time variant choice and the parallel split.
#include "kernels/cpu/matmul.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kernels/block_formats.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/matmul_internal.h"

namespace llmw::cpu {
namespace {

namespace mi = matmul_internal;

// Output rows per parallel task for float weights and the scalar kernels.
constexpr int64_t kRowGroup = 4;
// Packed row groups a thread packs at once when Matmul gets an unpacked block-format tensor.
constexpr int64_t kPackBatch = 4;
// Activation rows per pass over the weights, chosen so one pass's activations stay in L2.
constexpr int64_t kActivationChunkBytes = 96 * 1024;
// Below this many activation elements, quantizing on the calling thread beats waking the pool.
constexpr int64_t kParallelQuantizeElems = 16 * 1024;
// K-quant weight rows dequantized at once: a multiple of every register tile height, and few
// enough that the f32 rows stay in L2 next to the activations.

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "llmw: %s\n", message.c_str());
  std::abort();
}

int64_t RoundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

bool IsFloat(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

mi::RangeKernel PickKernel(const mi::KernelTable& t, DType type) {
  switch (type) {
    case DType::kF32:
      return t.f32;
    case DType::kF16:
      return t.f16;
    case DType::kBF16:
      return t.bf16;
    case DType::kQ4_0:
      return t.q4_0;
    case DType::kQ4_1:
      return t.q4_1;
    case DType::kQ5_0:
      return t.q5_0;
    case DType::kQ5_1:
      return t.q5_1;
    case DType::kQ8_0:
      return t.q8_0;
    default:
      return nullptr;
  }
}

}  // namespace

float* MatmulScratch::WeightRows(int64_t floats) {
  if (floats > weight_rows_capacity_) {
    const int64_t bytes = RoundUp(floats * static_cast<int64_t>(sizeof(float)), 64);
    void* p = std::aligned_alloc(64, static_cast<size_t>(bytes));
    if (p == nullptr) Die("MatmulScratch: out of memory");
    weight_rows_.reset(p);
    weight_rows_capacity_ = floats;
  }
  return static_cast<float*>(weight_rows_.get());
}

void MatmulScratch::Reserve(int64_t max_n, int64_t max_in) {
  max_in = RoundUp(max_in, 32);
  if (max_n <= capacity_n_ && max_in <= capacity_in_) return;
  max_n = std::max(max_n, capacity_n_);
  max_in = std::max(max_in, capacity_in_);
  const int64_t quant_bytes = RoundUp(max_n * max_in, 64);
  const int64_t float_bytes =
      RoundUp(max_n * BlocksPerRow(max_in) * static_cast<int64_t>(sizeof(float)), 64);
  const int64_t bias_bytes = float_bytes;  // one int32 per block
  char* p = static_cast<char*>(
      std::aligned_alloc(64, static_cast<size_t>(quant_bytes + bias_bytes + 2 * float_bytes)));
  if (p == nullptr) Die("MatmulScratch: out of memory");
  buffer_.reset(p);
  bias_ = reinterpret_cast<int32_t*>(p + quant_bytes);
  scales_ = reinterpret_cast<float*>(p + quant_bytes + bias_bytes);
  sums_ = reinterpret_cast<float*>(p + quant_bytes + bias_bytes + float_bytes);
  capacity_n_ = max_n;
  capacity_in_ = max_in;
}

void MatmulReference(const Tensor& w, const float* x, int64_t n, float* y) {
  const int64_t out = w.dim(0), in = w.row_elems();
  std::vector<float> row(static_cast<size_t>(in));
  for (int64_t o = 0; o < out; ++o) {
    DequantizeRow(w.dtype(), w.row(o), row.data(), in);
    for (int64_t c = 0; c < n; ++c) {
      const float* xc = x + c * in;
      double sum = 0.0;
      for (int64_t k = 0; k < in; ++k) sum += static_cast<double>(row[k]) * xc[k];
      y[c * out + o] = static_cast<float>(sum);
    }
  }
}

void Matmul(const Tensor& w, const float* x, int64_t n, float* y, ThreadPool& pool,
            MatmulScratch& scratch) {
  mi::MatmulWithIsa(mi::BestIsa(), w, x, n, y, pool, scratch);
}

void Matmul(const PackedWeights& w, const float* x, int64_t n, float* y, ThreadPool& pool,
            MatmulScratch& scratch) {
  mi::MatmulWithIsa(mi::BestIsa(), w, x, n, y, pool, scratch);
}

void MatmulShared(std::span<const MatmulTarget> targets, const float* x, int64_t n,
                  ThreadPool& pool, MatmulScratch& scratch) {
  mi::MatmulSharedWithIsa(mi::BestIsa(), targets, x, n, pool, scratch);
}

namespace matmul_internal {

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvxVnni:
      return "avxvnni";
    case Isa::kAvx512Vnni:
      return "avx512vnni";
  }
  return "?";
}

bool IsaAvailable(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
      return HasAvx2();
    case Isa::kAvxVnni:
      return HasAvxVnni();
    case Isa::kAvx512Vnni:
      return HasAvx512Vnni();
  }
  return false;
}

std::vector<Isa> AvailableIsas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvxVnni, Isa::kAvx512Vnni}) {
    if (IsaAvailable(isa)) isas.push_back(isa);
  }
  return isas;
}

Isa BestIsa() {
  static const Isa best = AvailableIsas().back();
  return best;
}

int BiasOffset(const KernelTable& table, DType type) {
  switch (type) {
    case DType::kQ4_0:
      return 8;
    case DType::kQ5_0:
      return 16;
    case DType::kQ8_0:
      return table.q8_unsigned ? 128 : 0;
    default:
      return 0;
  }
}

const KernelTable& Kernels(Isa isa) {
  if (!IsaAvailable(isa)) Die(absl::StrCat("matmul variant ", IsaName(isa), " is not available"));
  switch (isa) {
#if defined(__x86_64__)
    case Isa::kAvx2:
      return Avx2Kernels();
    case Isa::kAvxVnni:
      return AvxVnniKernels();
    case Isa::kAvx512Vnni:
      return Avx512VnniKernels();
#endif
    default:
      return ScalarKernels();
  }
}

namespace {

// Quantizes the n activation rows into scratch and points args at them.
void QuantizeActivations(const KernelTable& table, DType type, const float* x, int64_t n,
                         ThreadPool& pool, MatmulScratch& scratch, Args& args) {
  const int64_t in = args.in;
  scratch.Reserve(n, in);
  const int64_t x_blocks = MatmulScratch::BlocksPerRow(in);
  const int bias_offset = BiasOffset(table, type);
  args.xq = scratch.quants();
  args.xb = scratch.bias();
  args.xd = scratch.scales();
  args.xs = scratch.sums();
  args.x_blocks = x_blocks;
  auto quantize_rows = [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      table.quantize(x + c * in, in, bias_offset, scratch.quants() + c * in,
                     scratch.scales() + c * x_blocks, scratch.sums() + c * x_blocks,
                     scratch.bias() + c * x_blocks);
    }
  };
  if (n * in >= kParallelQuantizeElems) {
    pool.ParallelFor(n, quantize_rows);
  } else {
    quantize_rows(0, n);
  }
}

// Activation rows per pass over the weights.
int64_t ChunkRows(int64_t n, int64_t x_row_bytes) {
  return std::min(n, std::max<int64_t>(4, kActivationChunkBytes / x_row_bytes / 4 * 4));
}

// Runs the kernel over all of each args[i].y (weights that share the activations). Tasks are
// (activation chunk, group of `group_rows` output rows of one weight) pairs, chunk-major and the
// weights' groups one after another, so a thread's range of tasks is mostly contiguous output
// rows over one chunk of activations.
void RunKernel(RangeKernel kernel, const Args* args, int count, int64_t n, int64_t group_rows,
               int64_t x_row_bytes, ThreadPool& pool) {
  const int64_t chunk_rows = ChunkRows(n, x_row_bytes);
  const int64_t chunks = (n + chunk_rows - 1) / chunk_rows;
  int64_t groups = 0;
  for (int i = 0; i < count; ++i) groups += (args[i].out + group_rows - 1) / group_rows;
  pool.ParallelFor(chunks * groups, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end;) {
      const int64_t chunk = t / groups;
      int64_t g0 = t % groups;
      int i = 0;
      int64_t own = (args[0].out + group_rows - 1) / group_rows;  // groups of weight i
      for (; g0 >= own; own = (args[++i].out + group_rows - 1) / group_rows) g0 -= own;
      const int64_t g1 = std::min(own, g0 + (end - t));
      kernel(args[i], g0 * group_rows, std::min(args[i].out, g1 * group_rows), chunk * chunk_rows,
             std::min(n, (chunk + 1) * chunk_rows));
      t += g1 - g0;
    }
  });
}

// A block-format tensor for a packed kernel: each thread owns a buffer of kPackBatch row groups
// and a fixed range of batches; it packs a batch and runs the kernel on it for all rows of x.
void PackAndRun(RangeKernel kernel, const Tensor& w, Args args, int64_t n, ThreadPool& pool,
                MatmulScratch& scratch) {
  const int64_t out = w.dim(0);
  const PackLayout layout = PackLayoutFor(w.dtype(), w.row_elems());
  const int64_t batch_rows = kPackBatch * kPackRows;
  const int64_t batches = (out + batch_rows - 1) / batch_rows;
  const int slots = static_cast<int>(std::min<int64_t>(pool.num_threads(), batches));
  const int64_t buffer_bytes = kPackBatch * layout.bytes;
  uint8_t* buffers = reinterpret_cast<uint8_t*>(
      scratch.WeightRows(slots * buffer_bytes / static_cast<int64_t>(sizeof(float))));
  args.w_stride = layout.bytes;
  args.layout = layout;
  const int64_t chunk_rows = ChunkRows(n, args.in);
  pool.ParallelFor(slots, [&](int64_t begin, int64_t end) {
    for (int64_t slot = begin; slot < end; ++slot) {
      uint8_t* buffer = buffers + slot * buffer_bytes;
      const auto [b0, b1] = ThreadPool::Chunk(batches, slots, static_cast<int>(slot));
      for (int64_t batch = b0; batch < b1; ++batch) {
        const int64_t o0 = batch * batch_rows, count = std::min(batch_rows, out - o0);
        for (int64_t g = 0; g * kPackRows < count; ++g) {
          PackRowGroup(w, o0 + g * kPackRows, buffer + g * layout.bytes);
        }
        Args local = args;
        local.w = buffer;
        local.y = args.y + o0;  // the kernel writes y[c * out + o] for o in [0, count)
        for (int64_t c = 0; c < n; c += chunk_rows) {
          kernel(local, 0, count, c, std::min(n, c + chunk_rows));
        }
      }
    }
  });
}

}  // namespace

void MatmulWithIsa(Isa isa, const Tensor& w, const float* x, int64_t n, float* y, ThreadPool& pool,
                   MatmulScratch& scratch) {
  const int64_t out = w.dim(0), in = w.row_elems();
  if (n <= 0 || out <= 0) return;
  const KernelTable& table = Kernels(isa);
  if (IsKQuant(w.dtype())) {
    if (w.rank() != 2 || in % Traits(w.dtype()).block_elems != 0) {
      Die(absl::StrCat("Matmul: unsupported weight ", w.DebugString()));
    }
    return KQuantMatmul(w, x, n, y, pool, scratch.kquant());
  }
  const RangeKernel kernel = PickKernel(table, w.dtype());
  if (kernel == nullptr || w.rank() != 2 || in % Traits(w.dtype()).block_elems != 0) {
    Die(absl::StrCat("Matmul: unsupported weight ", w.DebugString()));
  }

  Args args{};
  args.w = static_cast<const uint8_t*>(w.data());
  args.w_stride = w.row_bytes();
  args.in = in;
  args.x = x;
  args.y = y;
  args.out = out;
  if (IsFloat(w.dtype())) {
    return RunKernel(kernel, &args, 1, n, kRowGroup, in * static_cast<int64_t>(sizeof(float)),
                     pool);
  }
  QuantizeActivations(table, w.dtype(), x, n, pool, scratch, args);
  if (table.packed) return PackAndRun(kernel, w, args, n, pool, scratch);
  RunKernel(kernel, &args, 1, n, kRowGroup, in, pool);
}

void MatmulWithIsa(Isa isa, const PackedWeights& w, const float* x, int64_t n, float* y,
                   ThreadPool& pool, MatmulScratch& scratch) {
  const MatmulTarget target{&w, y};
  MatmulSharedWithIsa(isa, std::span<const MatmulTarget>(&target, 1), x, n, pool, scratch);
}

void MatmulSharedWithIsa(Isa isa, std::span<const MatmulTarget> targets, const float* x, int64_t n,
                         ThreadPool& pool, MatmulScratch& scratch) {
  if (targets.empty() || n <= 0) return;
  const Tensor& first = targets[0].w->source();
  const KernelTable& table = Kernels(isa);
  if (!table.packed) {  // the scalar kernels read the tensors' own layout
    for (const MatmulTarget& t : targets) {
      MatmulWithIsa(isa, t.w->source(), x, n, t.y, pool, scratch);
    }
    return;
  }
  bool shared = targets.size() <= kMaxSharedTargets;
  for (const MatmulTarget& t : targets) {
    shared = shared && t.w->source().dtype() == first.dtype() &&
             t.w->source().row_elems() == first.row_elems();
  }
  if (!shared) {
    for (const MatmulTarget& t : targets) {
      MatmulSharedWithIsa(isa, std::span<const MatmulTarget>(&t, 1), x, n, pool, scratch);
    }
    return;
  }
  Args args[kMaxSharedTargets];
  for (size_t i = 0; i < targets.size(); ++i) {
    const PackedWeights& w = *targets[i].w;
    args[i].w = w.group(0);
    args[i].w_stride = w.layout().bytes;
    args[i].layout = w.layout();
    args[i].in = first.row_elems();
    args[i].x = x;
    args[i].y = targets[i].y;
    args[i].out = w.source().dim(0);
  }
  QuantizeActivations(table, first.dtype(), x, n, pool, scratch, args[0]);
  for (size_t i = 1; i < targets.size(); ++i) {
    args[i].xq = args[0].xq;
    args[i].xb = args[0].xb;
    args[i].xd = args[0].xd;
    args[i].xs = args[0].xs;
    args[i].x_blocks = args[0].x_blocks;
  }
  RunKernel(PickKernel(table, first.dtype()), args, static_cast<int>(targets.size()), n, kPackRows,
            first.row_elems(), pool);
}

}  // namespace matmul_internal
}  // namespace llmw::cpu
