// Argument checks and Status for the element-wise and row-wise kernels of norms.cu, rope.cu,
// activations.cu and rows.cu.
#include "kernels/cuda/ops.h"

#include <initializer_list>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/ops_launch.h"
#include "kernels/status_macros.h"

namespace llmw::cuda {
namespace {

struct Size {
  const char* name;
  int64_t value;
};

struct Pointer {
  const char* name;
  const void* value;
};

absl::Status Invalid(const char* op, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("cuda::", op, ": ", what));
}

// true when the op has work to queue: every size positive and every pointer set; false when some
// size is 0 (nothing to do, whatever the pointers). kInvalidArgument for a negative size, sizes
// whose product overflows, or a null pointer when there is work.
absl::StatusOr<bool> HasWork(const char* op, std::initializer_list<Size> sizes,
                             std::initializer_list<Pointer> pointers) {
  int64_t product = 1;
  for (const Size& size : sizes) {
    if (size.value < 0) return Invalid(op, absl::StrCat(size.name, " = ", size.value, " < 0"));
    if (__builtin_mul_overflow(product, size.value, &product)) {
      return Invalid(op, absl::StrCat(size.name, " = ", size.value, " makes the sizes overflow"));
    }
  }
  if (product == 0) return false;
  for (const Pointer& pointer : pointers) {
    if (pointer.value == nullptr) return Invalid(op, absl::StrCat(pointer.name, " is null"));
  }
  return true;
}

// Checks the arguments, then queues `launch()` when there is work. A launch error is reported
// under the op's name.
template <typename Launch>
absl::Status CheckAndLaunch(const char* op, std::initializer_list<Size> sizes,
                            std::initializer_list<Pointer> pointers, Launch launch) {
  ASSIGN_OR_RETURN(const bool work, HasWork(op, sizes, pointers));
  if (!work) return absl::OkStatus();
  const cudaError_t error = launch();
  if (error != cudaSuccess) {
    return CudaToStatus(error, absl::StrCat("cuda::", op).c_str(), __FILE__, __LINE__);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RmsNorm(float* out, const float* x, const float* weight, int64_t rows, int64_t dim,
                     float eps, float w_offset, cudaStream_t stream) {
  return CheckAndLaunch(
      "RmsNorm", {{"rows", rows}, {"dim", dim}}, {{"out", out}, {"x", x}, {"weight", weight}},
      [&] { return cuda_launch::RmsNormF32(out, x, weight, rows, dim, eps, w_offset, stream); });
}

absl::Status LayerNorm(float* out, const float* x, const float* weight, const float* bias,
                       int64_t rows, int64_t dim, float eps, cudaStream_t stream) {
  return CheckAndLaunch(
      "LayerNorm", {{"rows", rows}, {"dim", dim}}, {{"out", out}, {"x", x}, {"weight", weight}},
      [&] { return cuda_launch::LayerNormF32(out, x, weight, bias, rows, dim, eps, stream); });
}

absl::Status RopeAngles(float* cos, float* sin, const int32_t* positions, int64_t rows,
                        const float* inv_freq, int64_t half_rot, cudaStream_t stream) {
  return CheckAndLaunch(
      "RopeAngles", {{"rows", rows}, {"half_rot", half_rot}},
      {{"cos", cos}, {"sin", sin}, {"positions", positions}, {"inv_freq", inv_freq}}, [&] {
        return cuda_launch::RopeAnglesF32(cos, sin, positions, rows, inv_freq, half_rot, stream);
      });
}

absl::Status Rope(float* x, const float* cos, const float* sin, int64_t rows, int64_t n_heads,
                  int64_t head_dim, int64_t rot_dim, RopePairing pairing, cudaStream_t stream) {
  if (rot_dim % 2 != 0) return Invalid("Rope", absl::StrCat("rot_dim = ", rot_dim, " is odd"));
  if (rot_dim > head_dim) {
    return Invalid("Rope", absl::StrCat("rot_dim = ", rot_dim, " > head_dim = ", head_dim));
  }
  return CheckAndLaunch(
      "Rope", {{"rows", rows}, {"n_heads", n_heads}, {"head_dim", head_dim}, {"rot_dim", rot_dim}},
      {{"x", x}, {"cos", cos}, {"sin", sin}}, [&] {
        return cuda_launch::RopeF32(x, cos, sin, rows, n_heads, head_dim, rot_dim,
                                    pairing == RopePairing::kRotateHalf, stream);
      });
}

absl::Status GeluTanh(float* out, const float* x, int64_t n, cudaStream_t stream) {
  return CheckAndLaunch("GeluTanh", {{"n", n}}, {{"out", out}, {"x", x}},
                        [&] { return cuda_launch::GeluTanhF32(out, x, n, stream); });
}

absl::Status GeluTanhMul(float* out, const float* gate, const float* up, int64_t n,
                         cudaStream_t stream) {
  return CheckAndLaunch("GeluTanhMul", {{"n", n}}, {{"out", out}, {"gate", gate}, {"up", up}},
                        [&] { return cuda_launch::GeluTanhMulF32(out, gate, up, n, stream); });
}

absl::Status Scale(float* out, const float* x, float scale, int64_t n, cudaStream_t stream) {
  return CheckAndLaunch("Scale", {{"n", n}}, {{"out", out}, {"x", x}},
                        [&] { return cuda_launch::ScaleF32(out, x, scale, n, stream); });
}

absl::Status AddRowBias(float* x, const float* bias, int64_t rows, int64_t width,
                        cudaStream_t stream) {
  return CheckAndLaunch("AddRowBias", {{"rows", rows}, {"width", width}},
                        {{"x", x}, {"bias", bias}},
                        [&] { return cuda_launch::AddRowBiasF32(x, bias, rows, width, stream); });
}

absl::Status Add(float* out, const float* a, const float* b, int64_t n, cudaStream_t stream) {
  return CheckAndLaunch("Add", {{"n", n}}, {{"out", out}, {"a", a}, {"b", b}},
                        [&] { return cuda_launch::AddF32(out, a, b, n, stream); });
}

absl::Status GatherRows(float* out, const float* x, const int32_t* rows, int64_t n, int64_t width,
                        cudaStream_t stream) {
  if (out != nullptr && out == x) {
    return Invalid("GatherRows", "out is x (the rows are copied in parallel)");
  }
  return CheckAndLaunch("GatherRows", {{"n", n}, {"width", width}},
                        {{"out", out}, {"x", x}, {"rows", rows}},
                        [&] { return cuda_launch::GatherRowsF32(out, x, rows, n, width, stream); });
}

absl::Status AddRmsNorm(float* out, float* residual, const float* x, const float* weight,
                        int64_t rows, int64_t dim, float eps, float w_offset, cudaStream_t stream) {
  return CheckAndLaunch("AddRmsNorm", {{"rows", rows}, {"dim", dim}},
                        {{"out", out}, {"residual", residual}, {"x", x}, {"weight", weight}}, [&] {
                          return cuda_launch::AddRmsNormF32(out, residual, x, weight, rows, dim,
                                                            eps, w_offset, stream);
                        });
}

absl::Status AddLayerNorm(float* out, float* residual, const float* x, const float* weight,
                          const float* bias, int64_t rows, int64_t dim, float eps,
                          cudaStream_t stream) {
  return CheckAndLaunch("AddLayerNorm", {{"rows", rows}, {"dim", dim}},
                        {{"out", out}, {"residual", residual}, {"x", x}, {"weight", weight}}, [&] {
                          return cuda_launch::AddLayerNormF32(out, residual, x, weight, bias, rows,
                                                              dim, eps, stream);
                        });
}

}  // namespace llmw::cuda
