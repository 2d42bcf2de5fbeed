// The backends' shared argument checks.
#include "kernels/op_checks.h"

#include "absl/strings/str_cat.h"

namespace llmw::op_checks {
namespace {

// OK when `ok`, else INVALID_ARGUMENT "<device> <op>: <what>".
absl::Status Expect(bool ok, Device d, const char* op, const char* what) {
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(std::string(DeviceName(d)), " ", op, ": ", what));
}

bool SameShape(const Tensor& a, const Tensor& b) {
  return a.rows() == b.rows() && a.row_elems() == b.row_elems();
}

// An f32 tensor on device `d`, for the checks below.
struct F32On {
  Device d;
  bool operator()(const Tensor& t) const { return t.dtype() == DType::kF32 && t.device() == d; }
};

}  // namespace

absl::Status RmsNorm(Device d, const Tensor& out, const Tensor& x, const Tensor& w) {
  const F32On f32{d};
  return Expect(f32(out) && f32(x) && f32(w) && SameShape(out, x) && w.elems() == x.row_elems(), d,
                "RmsNorm", "shapes or dtypes differ");
}

absl::Status LayerNorm(Device d, const Tensor& out, const Tensor& x, const Tensor& w,
                       const Tensor& b) {
  const F32On f32{d};
  return Expect(f32(out) && f32(x) && f32(w) && f32(b) && SameShape(out, x) &&
                    w.elems() == x.row_elems() && b.elems() == x.row_elems(),
                d, "LayerNorm", "shapes or dtypes differ");
}

absl::Status AddRmsNorm(Device d, const Tensor& out, const Tensor& residual, const Tensor& x,
                        const Tensor& w) {
  const F32On f32{d};
  return Expect(f32(out) && f32(residual) && f32(x) && f32(w) && SameShape(out, x) &&
                    SameShape(residual, x) && w.elems() == x.row_elems(),
                d, "AddRmsNorm", "shapes or dtypes differ");
}

absl::Status AddLayerNorm(Device d, const Tensor& out, const Tensor& residual, const Tensor& x,
                          const Tensor& w, const Tensor& b) {
  const F32On f32{d};
  return Expect(f32(out) && f32(residual) && f32(x) && f32(w) && f32(b) && SameShape(out, x) &&
                    SameShape(residual, x) && w.elems() == x.row_elems() &&
                    b.elems() == x.row_elems(),
                d, "AddLayerNorm", "shapes or dtypes differ");
}

absl::Status MatmulShared(Device d, std::span<const MatmulOutput> outputs, const Tensor& x,
                          size_t max_outputs) {
  const F32On f32{d};
  bool ok = f32(x) && outputs.size() <= max_outputs;
  for (const MatmulOutput& o : outputs) {
    ok = ok && f32(o.y) && o.w.device() == d && o.w.row_elems() == x.row_elems() &&
         o.y.rows() == x.rows() && o.y.row_elems() == o.w.dim(0) &&
         (o.bias.empty() || (f32(o.bias) && o.bias.elems() == o.w.dim(0)));
  }
  return Expect(ok, d, "Matmul", "shapes, dtypes or output count do not fit");
}

absl::Status RopeAngles(Device d, const Tensor& cos, const Tensor& sin, const StepLayout& step,
                        const Tensor& inv_freq) {
  const F32On f32{d};
  return Expect(f32(cos) && f32(sin) && f32(inv_freq) && SameShape(cos, sin) &&
                    cos.rows() >= step.n_tokens && cos.row_elems() == inv_freq.elems(),
                d, "RopeAngles", "tables are not f32 [tokens, frequencies]");
}

absl::Status Rope(Device d, const Tensor& x, const Tensor& cos, const Tensor& sin, int64_t head_dim,
                  int64_t rot_dim) {
  const F32On f32{d};
  return Expect(f32(x) && f32(cos) && f32(sin) && head_dim > 0 && x.row_elems() % head_dim == 0 &&
                    rot_dim % 2 == 0 && rot_dim <= head_dim && cos.row_elems() == rot_dim / 2 &&
                    cos.rows() >= x.rows() && SameShape(cos, sin),
                d, "Rope", "shapes do not fit");
}

absl::Status RopeWriteKv(Device d, const PagedKvLayer& kv, const Tensor& q, const Tensor& k,
                         const Tensor& v, const Tensor& cos, const Tensor& sin,
                         const StepLayout& step, int64_t rot_dim) {
  const F32On f32{d};
  const int64_t n = step.n_tokens;
  return Expect(f32(q) && f32(k) && f32(v) && f32(cos) && f32(sin) && SameShape(k, v) &&
                    kv.head_dim > 0 && q.rows() == n && k.rows() == n &&
                    q.row_elems() % kv.head_dim == 0 && k.row_elems() == kv.token_stride() &&
                    rot_dim % 2 == 0 && rot_dim <= kv.head_dim && cos.row_elems() == rot_dim / 2 &&
                    cos.rows() >= n && SameShape(cos, sin) && IsKvCacheDType(kv.dtype),
                d, "RopeWriteKv", "shapes do not fit the cache");
}

absl::Status SiluMul(Device d, const Tensor& out, const Tensor& gate, const Tensor& up) {
  const F32On f32{d};
  return Expect(f32(out) && f32(gate) && f32(up) && SameShape(out, gate) && SameShape(gate, up), d,
                "SiluMul", "shapes or dtypes differ");
}

absl::Status GeluTanh(Device d, const Tensor& out, const Tensor& x) {
  const F32On f32{d};
  return Expect(f32(out) && f32(x) && SameShape(out, x), d, "GeluTanh", "shapes or dtypes differ");
}

absl::Status GeluTanhMul(Device d, const Tensor& out, const Tensor& gate, const Tensor& up) {
  const F32On f32{d};
  return Expect(f32(out) && f32(gate) && f32(up) && SameShape(out, gate) && SameShape(gate, up), d,
                "GeluTanhMul", "shapes or dtypes differ");
}

absl::Status Add(Device d, const Tensor& out, const Tensor& a, const Tensor& b) {
  const F32On f32{d};
  return Expect(f32(out) && f32(a) && f32(b) && SameShape(out, a) && SameShape(a, b), d, "Add",
                "shapes or dtypes differ");
}

absl::Status Scale(Device d, const Tensor& out, const Tensor& x) {
  const F32On f32{d};
  return Expect(f32(out) && f32(x) && SameShape(out, x), d, "Scale", "shapes or dtypes differ");
}

absl::Status WriteKv(Device d, const PagedKvLayer& kv, const Tensor& k, const Tensor& v,
                     const StepLayout& step) {
  const F32On f32{d};
  return Expect(f32(k) && f32(v) && SameShape(k, v) && k.rows() >= step.n_tokens &&
                    k.row_elems() == kv.token_stride() && IsKvCacheDType(kv.dtype),
                d, "WriteKv", "keys and values do not fit the cache");
}

absl::Status PagedAttention(Device d, const Tensor& out, const Tensor& q, const PagedKvLayer& kv,
                            const StepLayout& step, const AttentionParams& params) {
  const F32On f32{d};
  return Expect(f32(out) && f32(q) && SameShape(out, q) && q.rows() >= step.n_tokens &&
                    params.n_heads > 0 && kv.n_kv_heads > 0 &&
                    params.n_heads % kv.n_kv_heads == 0 &&
                    q.row_elems() == params.n_heads * kv.head_dim &&
                    kv.head_dim <= kMaxAttentionHeadDim && IsKvCacheDType(kv.dtype),
                d, "PagedAttention", "queries, heads or cache do not fit");
}

absl::Status GatherRows(Device d, const Tensor& out, const Tensor& x, const StepLayout& step) {
  const F32On f32{d};
  return Expect(
      f32(out) && f32(x) && out.row_elems() == x.row_elems() && out.rows() >= step.n_logit_rows, d,
      "GatherRows", "shapes or dtypes differ");
}

}  // namespace llmw::op_checks
