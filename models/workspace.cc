// Workspace allocation from a model's shape.
#include "models/workspace.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"

namespace llmw {

int64_t ModelShape::max_matmul_input() const { return std::max({hidden, ffn_hidden, q_width()}); }

absl::Status CheckModelShape(const ModelShape& s) {
  const bool ok = s.n_layers > 0 && s.hidden > 0 && s.n_heads > 0 && s.n_kv_heads > 0 &&
                  s.n_heads % s.n_kv_heads == 0 && s.head_dim > 0 && s.ffn_hidden > 0 &&
                  s.vocab_size > 0 && s.rope_dim > 0 && s.rope_dim % 2 == 0 &&
                  s.rope_dim <= s.head_dim && s.rope_tables >= 1 &&
                  s.rope_tables <= Workspace::kMaxRopeTables;
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "inconsistent model shape: layers ", s.n_layers, ", hidden ", s.hidden, ", heads ", s.n_heads,
      "/", s.n_kv_heads, ", head_dim ", s.head_dim, ", MLP ", s.ffn_hidden, ", vocabulary ",
      s.vocab_size, ", rotary width ", s.rope_dim, ", RoPE tables ", s.rope_tables));
}

absl::StatusOr<Workspace> AllocateWorkspace(Backend& backend, const ModelShape& shape,
                                            int64_t max_tokens) {
  RETURN_IF_ERROR(CheckModelShape(shape));
  if (max_tokens < 1) {
    return absl::InvalidArgumentError(absl::StrCat("workspace for ", max_tokens, " tokens"));
  }
  Workspace ws;
  // Written once now, so that the first step does not pay for the pages' first touch.
  const std::vector<float> zeros(static_cast<size_t>(
      max_tokens * std::max({shape.hidden, shape.q_width(), shape.ffn_hidden})));
  const auto allocate = [&](Tensor& t, int64_t width) -> absl::Status {
    const int64_t bytes = max_tokens * width * int64_t{sizeof(float)};
    ASSIGN_OR_RETURN(Buffer buffer, backend.Allocate(bytes));
    backend.Upload(buffer.data(), zeros.data(), bytes);
    t = Tensor(DType::kF32, {max_tokens, width}, buffer.data(), backend.device());
    ws.memory.push_back(std::move(buffer));
    return absl::OkStatus();
  };
  for (Tensor* t : {&ws.x, &ws.xn, &ws.out}) RETURN_IF_ERROR(allocate(*t, shape.hidden));
  for (Tensor* t : {&ws.q, &ws.attn}) RETURN_IF_ERROR(allocate(*t, shape.q_width()));
  for (Tensor* t : {&ws.k, &ws.v}) RETURN_IF_ERROR(allocate(*t, shape.kv_width()));
  RETURN_IF_ERROR(allocate(ws.up, shape.ffn_hidden));
  if (shape.gated_ffn) RETURN_IF_ERROR(allocate(ws.gate, shape.ffn_hidden));
  for (int64_t i = 0; i < shape.rope_tables; ++i) {
    RETURN_IF_ERROR(allocate(ws.cos[i], shape.rope_dim / 2));
    RETURN_IF_ERROR(allocate(ws.sin[i], shape.rope_dim / 2));
  }
  RETURN_IF_ERROR(backend.Synchronize());
  return ws;
}

}  // namespace llmw
