// The argument checks both backends make before an op of kernels/backend.h: dtypes, shapes, and
// that the tensors live on the backend's device. Each returns OK, or INVALID_ARGUMENT
// "<device> <Op>: <what>" (the device as DeviceName spells it); the backend records a failure
// and skips the op.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "kernels/backend.h"
#include "kernels/op_params.h"
#include "kernels/paged_kv.h"
#include "kernels/step_layout.h"
#include "kernels/tensor.h"

namespace llmw::op_checks {

absl::Status RmsNorm(Device d, const Tensor& out, const Tensor& x, const Tensor& w);
absl::Status LayerNorm(Device d, const Tensor& out, const Tensor& x, const Tensor& w,
                       const Tensor& b);
absl::Status AddRmsNorm(Device d, const Tensor& out, const Tensor& residual, const Tensor& x,
                        const Tensor& w);
absl::Status AddLayerNorm(Device d, const Tensor& out, const Tensor& residual, const Tensor& x,
                          const Tensor& w, const Tensor& b);
// At most `max_outputs` outputs.
absl::Status MatmulShared(Device d, std::span<const MatmulOutput> outputs, const Tensor& x,
                          size_t max_outputs);
absl::Status RopeAngles(Device d, const Tensor& cos, const Tensor& sin, const StepLayout& step,
                        const Tensor& inv_freq);
absl::Status Rope(Device d, const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t head_dim,
                  int64_t rot_dim);
absl::Status RopeWriteKv(Device d, const PagedKvLayer& kv, const Tensor& q, const Tensor& k,
                         const Tensor& v, const Tensor& cos, const Tensor& sin,
                         const StepLayout& step, int64_t rot_dim);
absl::Status SiluMul(Device d, const Tensor& out, const Tensor& gate, const Tensor& up);
absl::Status GeluTanh(Device d, const Tensor& out, const Tensor& x);
absl::Status GeluTanhMul(Device d, const Tensor& out, const Tensor& gate, const Tensor& up);
absl::Status Add(Device d, const Tensor& out, const Tensor& a, const Tensor& b);
absl::Status Scale(Device d, const Tensor& out, const Tensor& x);
absl::Status WriteKv(Device d, const PagedKvLayer& kv, const Tensor& k, const Tensor& v,
                     const StepLayout& step);
absl::Status PagedAttention(Device d, const Tensor& out, const Tensor& q, const PagedKvLayer& kv,
                            const StepLayout& step, const AttentionParams& params);
absl::Status GatherRows(Device d, const Tensor& out, const Tensor& x, const StepLayout& step);

}  // namespace llmw::op_checks
