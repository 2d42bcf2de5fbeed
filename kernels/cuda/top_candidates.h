// cuda::TopCandidates: the largest logits of each row (with their ids) and the logits at given
// ids, so that sampling reads back a few candidates instead of whole rows. The CUDA twin of
// cpu::TopCandidates (kernels/cpu/top_candidates.h), same arguments (its scratch is device memory
// here) plus the stream, and the same results bit for bit (a selection: no arithmetic on the
// values).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "absl/status/status.h"
#include "kernels/cuda/top_candidates_plan.h"

namespace llmw::cuda {

// For each row r of `logits` ([rows, vocab] f32): the `top_n` largest values (a tie goes to the
// lower id; -0 ranks as +0, NaN below -inf) as top_ids/top_values[r · top_n + i] in ascending id
// order, and extra_values[j] = logits[r][extra_ids[j]] for j in [extra_offsets[r],
// extra_offsets[r + 1]) (NaN for an id outside [0, vocab)). Every pointer is a device pointer;
// extra_offsets holds rows + 1 non-decreasing entries. `scratch` (device memory of
// `scratch_bytes`; kTopCandidatesScratchBytes serve every call with top_n <= 1,024; may be null)
// lets few rows be cut into slices that more blocks share (top_candidates_plan.h). Queues the
// work on `stream` (blocks of 1,024 threads, up to four passes over the data and one more to
// compact) and returns without waiting. rows == 0 queues nothing. kInvalidArgument for a negative
// size, a vocab of 0 or of 2^31 and more, top_n outside [1, vocab], or a null pointer.
absl::Status TopCandidates(int32_t* top_ids, float* top_values, float* extra_values,
                           const float* logits, int64_t rows, int64_t vocab, int64_t top_n,
                           const int32_t* extra_ids, const int32_t* extra_offsets, void* scratch,
                           int64_t scratch_bytes, cudaStream_t stream);

}  // namespace llmw::cuda
