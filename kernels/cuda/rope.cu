// Rotary position embedding on the GPU: the cos/sin tables of a step's positions, and the rotation
// of every head's first rot_dim dims by them. One thread per table entry / rotated pair.
//
// The angle is float(position) · inv_freq in f32 and its cos and sin come from the accurate
// sincosf (within 2 ulp), which is cpu::RopeAngles' contract. The rotation is the CPU's float
// arithmetic operation for operation (this file is built without FMA contraction).
#include "kernels/cuda/for_each_index.cuh"
#include "kernels/cuda/ops_launch.h"

namespace llmw::cuda_launch {
namespace {

struct RopeAnglesOp {
  float* cos_out;
  float* sin_out;
  const int32_t* positions;
  const float* inv_freq;
  int64_t half_rot;

  __device__ void operator()(int64_t k) const {
    const int64_t r = k / half_rot;
    const float angle = static_cast<float>(positions[r]) * inv_freq[k - r * half_rot];
    sincosf(angle, &sin_out[k], &cos_out[k]);
  }
};

// k indexes the (row, head, pair) triples; each pair is read and written by its thread only.
struct RopeOp {
  float* x;
  const float* cos;
  const float* sin;
  int64_t n_heads;
  int64_t head_dim;
  int64_t half;
  bool rotate_half;

  __device__ void operator()(int64_t k) const {
    const int64_t row_head = k / half;
    const int64_t i = k - row_head * half;
    const int64_t angle = row_head / n_heads * half + i;
    float* v = x + row_head * head_dim;
    const int64_t a = rotate_half ? i : 2 * i;
    const int64_t b = rotate_half ? i + half : 2 * i + 1;
    const float x0 = v[a];
    const float x1 = v[b];
    const float c = cos[angle];
    const float s = sin[angle];
    v[a] = x0 * c - x1 * s;
    v[b] = x0 * s + x1 * c;
  }
};

}  // namespace

cudaError_t RopeAnglesF32(float* cos, float* sin, const int32_t* positions, int64_t rows,
                          const float* inv_freq, int64_t half_rot, cudaStream_t stream) {
  return ForEachIndex(rows * half_rot, RopeAnglesOp{cos, sin, positions, inv_freq, half_rot},
                      stream);
}

cudaError_t RopeF32(float* x, const float* cos, const float* sin, int64_t rows, int64_t n_heads,
                    int64_t head_dim, int64_t rot_dim, bool rotate_half, cudaStream_t stream) {
  const int64_t half = rot_dim / 2;
  return ForEachIndex(rows * n_heads * half,
                      RopeOp{x, cos, sin, n_heads, head_dim, half, rotate_half}, stream);
}

}  // namespace llmw::cuda_launch
