// The write of a step's keys and values into the paged KV cache on the GPU: one thread block per
// token copies its row of every KV head to its slot, converted to the cache's element type.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/cuda/attention_launch.h"

namespace llmw::cuda_launch {
namespace {

constexpr int kThreads = 256;

// Conversions from the bits of an f32 to a cache element, equal bit for bit to kernels/fp16.h:
// IEEE round to nearest even (the hardware's cvt.rn, overflow to infinity, subnormals kept),
// and NaNs made quiet with their sign and top payload bits, which cvt would replace by one
// canonical NaN.
struct ToF32 {
  using T = uint32_t;
  __device__ static T From(uint32_t bits) { return bits; }
};

struct ToF16 {
  using T = uint16_t;
  __device__ static T From(uint32_t bits) {
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
      return static_cast<T>(((bits >> 16) & 0x8000u) | 0x7e00u | ((bits >> 13) & 0x3ffu));
    }
    return __half_as_ushort(__float2half_rn(__uint_as_float(bits)));
  }
};

struct ToBf16 {
  using T = uint16_t;
  __device__ static T From(uint32_t bits) {
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<T>((bits >> 16) | 0x40u);
    return __bfloat16_as_ushort(__float2bfloat16_rn(__uint_as_float(bits)));
  }
};

// Rows are read as bits so that f32 caches store NaN payloads unchanged, as memcpy does.
template <typename C>
__global__ void __launch_bounds__(kThreads)
    WriteKvKernel(typename C::T* __restrict__ k_cache, typename C::T* __restrict__ v_cache,
                  const uint32_t* __restrict__ k, const uint32_t* __restrict__ v,
                  const int32_t* __restrict__ slots, int64_t width) {
  const int64_t src = static_cast<int64_t>(blockIdx.x) * width;
  const int64_t dst = static_cast<int64_t>(slots[blockIdx.x]) * width;
  for (int64_t i = threadIdx.x; i < width; i += kThreads) {
    k_cache[dst + i] = C::From(k[src + i]);
    v_cache[dst + i] = C::From(v[src + i]);
  }
}

template <typename C>
cudaError_t Launch(const PagedKvLayer& kv, const float* k, const float* v, const int32_t* slots,
                   int64_t n, cudaStream_t stream) {
  using T = typename C::T;
  WriteKvKernel<C><<<static_cast<unsigned>(n), kThreads, 0, stream>>>(
      static_cast<T*>(kv.k), static_cast<T*>(kv.v), reinterpret_cast<const uint32_t*>(k),
      reinterpret_cast<const uint32_t*>(v), slots, kv.token_stride());
  return cudaGetLastError();
}

}  // namespace

cudaError_t WriteKv(const PagedKvLayer& kv, const float* k, const float* v, const int32_t* slots,
                    int64_t n, cudaStream_t stream) {
  switch (kv.dtype) {
    case DType::kF32:
      return Launch<ToF32>(kv, k, v, slots, n, stream);
    case DType::kF16:
      return Launch<ToF16>(kv, k, v, slots, n, stream);
    case DType::kBF16:
      return Launch<ToBf16>(kv, k, v, slots, n, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace llmw::cuda_launch
