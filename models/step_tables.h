// Filling a step's tables (StepLayout's arrays) on the host from a batch, and padding a decode
// step to a fixed size so that a graph captured at that size can run it.
//
// A padded step has `bucket` chunks of one token each: the batch's, then padding chunks (token 0
// at position 0, its key and value written to the KV cache's padding block, which no sequence
// owns). Every count of the step is the bucket, whatever the batch; the padding's logit rows come
// after the batch's and are ignored.
#pragma once

#include <cstdint>

#include "kernels/step_layout.h"
#include "models/model.h"

namespace llmw {

// Host arrays to fill, each as large as the step needs (StepLayout says how large).
struct HostStepTables {
  int32_t* tokens = nullptr;
  int32_t* positions = nullptr;
  int32_t* kv_slots = nullptr;
  int32_t* logit_rows = nullptr;
  StepChunk* chunks = nullptr;
  int32_t* block_tables = nullptr;
};

// How much of each array a step fills.
struct StepCounts {
  int64_t n_tokens = 0;
  int64_t n_chunks = 0;
  int64_t n_logit_rows = 0;
  int64_t n_block_entries = 0;
};

// Lays `batch` out (its chunks one after another) for a KV cache of `block_size`-token blocks.
// The batch must have passed the runner's checks (every block table covers its chunk).
StepCounts FillStepTables(const ForwardBatch& batch, int64_t block_size, const HostStepTables& out);

// Whether every chunk of `batch` is one token that asks for its logits: a step of decodes.
bool IsDecodeStep(const ForwardBatch& batch);

// The size a decode step of `batch_size` sequences is padded to: the next power of two, or
// `max_bucket` (the most chunks a step takes) when that is smaller. 0 when the batch is empty or
// larger than `max_bucket`.
int64_t DecodeBucket(int64_t batch_size, int64_t max_bucket);

// Appends padding chunks to the decode step `counts` describes (laid out in `out` by
// FillStepTables) until it has `bucket` chunks; returns the padded counts. All padding chunks
// share one block-table entry: `padding_block`.
StepCounts PadDecodeStep(const StepCounts& counts, int64_t bucket, int32_t padding_block,
                         int64_t block_size, const HostStepTables& out);

}  // namespace llmw
