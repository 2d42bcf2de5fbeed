// Causal attention of a step's query tokens over the paged KV cache, on the CPU, and the write of
// their keys and values into it. The CPU twins of Backend::PagedAttention and Backend::WriteKv.
//
// The cache may hold f32, f16 or bf16 elements (PagedKvLayer::dtype); scores, the softmax and the
// weighted sum of values are computed in f32 whatever the cache holds.
#pragma once

#include <cstdint>

#include "kernels/op_params.h"
#include "kernels/paged_kv.h"
#include "kernels/step_layout.h"

namespace llmw::cpu {

class ThreadPool;

// Stores k[t] and v[t] ([n, kv.token_stride()] f32) at slot slots[t] of the cache, converted to
// its dtype (rounded to nearest even).
void WriteKv(const PagedKvLayer& kv, const float* k, const float* v, const int32_t* slots,
             int64_t n);

// For every token t of the step (chunk c, position chunks[c].start_pos + t - first_token),
// attends q[t] ([n_heads, head_dim]) to its sequence's cached positions
// [max(0, p - window + 1), p] and writes out[t] ([n_heads, head_dim]). The step's own keys and
// values must already be in the cache. Each (token, head) is computed alone, in a fixed order, in
// one parallel loop over the whole step, so results do not depend on the batch or the thread
// count.
void PagedAttention(float* out, const float* q, const PagedKvLayer& kv, const StepLayout& step,
                    const AttentionParams& params, ThreadPool& pool);

}  // namespace llmw::cpu
