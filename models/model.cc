// Batch bookkeeping shared by every model.
#include "models/model.h"

namespace llmw {

int64_t ForwardBatch::num_tokens() const {
  int64_t n = 0;
  for (const SequenceChunk& c : chunks) n += static_cast<int64_t>(c.tokens.size());
  return n;
}

int64_t ForwardBatch::num_logit_rows() const {
  int64_t n = 0;
  for (const SequenceChunk& c : chunks) {
    if (c.logits == ChunkLogits::kLast) n += 1;
    if (c.logits == ChunkLogits::kAll) n += static_cast<int64_t>(c.tokens.size());
  }
  return n;
}

}  // namespace llmw
