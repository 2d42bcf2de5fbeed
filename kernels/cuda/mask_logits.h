// cuda::MaskLogits: a structured output's token mask applied to logit rows on the GPU, before the
// sampling candidates are selected. The CUDA twin of cpu::MaskLogits (kernels/cpu/mask_logits.h),
// same arguments plus the stream, same results bit for bit (it only writes -inf).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"

namespace llmw::cuda {

// As cpu::MaskLogits, with every pointer a device pointer. Queues the work on `stream` and returns
// without waiting; rows == 0 queues nothing. kInvalidArgument for rows outside [0, 65535], a vocab
// outside [1, 2^31) or a null pointer.
absl::Status MaskLogits(float* logits, int64_t rows, int64_t vocab, const uint32_t* allowed,
                        const int32_t* mask_offsets, cudaStream_t stream);

}  // namespace llmw::cuda
