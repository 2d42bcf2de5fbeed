// cuda::MatmulGated: one fused launch for the few rows of a decode step, else the two matmuls and
// the activation it equals.
#include "kernels/cuda/matmul_gated.h"

#include "absl/strings/str_cat.h"
#include "kernels/cuda/ops.h"
#include "kernels/status_macros.h"

namespace llmw::cuda {

absl::Status MatmulGated(const Tensor& w_gate, const Tensor& w_up, GatedActivation act,
                         const float* x, int64_t n, float* out, float* up, MatmulScratch& scratch,
                         cublasHandle_t cublas, cudaStream_t stream) {
  if (w_gate.rows() != w_up.rows() || w_gate.row_elems() != w_up.row_elems()) {
    return absl::InvalidArgumentError(absl::StrCat("cuda::MatmulGated: gate ", w_gate.DebugString(),
                                                   " and up ", w_up.DebugString(),
                                                   " differ in shape"));
  }
  if (n <= cuda_launch::kMatVecMaxRows && w_gate.dtype() == w_up.dtype()) {
    return MatvecGated(w_gate, w_up, x, n, act, out, scratch, stream);
  }
  RETURN_IF_ERROR(Matmul(w_gate, x, n, out, scratch, cublas, stream));
  RETURN_IF_ERROR(Matmul(w_up, x, n, up, scratch, cublas, stream));
  const int64_t elems = n * w_gate.rows();
  return act == GatedActivation::kSilu ? SiluMul(out, out, up, elems, stream)
                                       : GeluTanhMul(out, out, up, elems, stream);
}

}  // namespace llmw::cuda
