// Where the tokens of one forward step sit: their ids and positions, their slots in the paged KV
// cache, the sequence chunk each belongs to, and which of them need logits.
//
// A step carries chunks of several sequences (a prefill chunk or one decode token each), laid out
// one after another. The host fills the arrays from the batch once per step and uploads them;
// ops read them where they run, so a forward pass needs only the counts on the host.
#pragma once

#include <cstdint>

namespace llmw {

struct StepChunk {
  int32_t first_token = 0;  // index of the chunk's first token in the step
  int32_t n_tokens = 0;
  int32_t start_pos = 0;    // position of that token in its sequence
  int32_t block_table = 0;  // offset of the sequence's block table in StepLayout::block_tables
};

// The arrays live in the memory of the backend the step runs on.
struct StepLayout {
  int64_t n_tokens = 0;
  int64_t n_chunks = 0;
  int64_t n_logit_rows = 0;
  // Every chunk holds one token (the host knows it from the batch): attention then launches only
  // its decode kernel. false is always safe.
  bool decodes_only = false;
  const int32_t* tokens = nullptr;        // [n_tokens]
  const int32_t* positions = nullptr;     // [n_tokens]
  const int32_t* kv_slots = nullptr;      // [n_tokens] block * block_size + offset in the block
  const int32_t* logit_rows = nullptr;    // [n_logit_rows] the tokens that need logits, in order
  const StepChunk* chunks = nullptr;      // [n_chunks]
  const int32_t* block_tables = nullptr;  // every chunk's sequence's block table, concatenated
};

}  // namespace llmw
