// The write of a step's keys and values into the paged KV cache on the GPU: one thread block per
// token copies its row of every KV head to its slot, converted to the cache's element type; alone
// (WriteKv) or after rotating the token's queries and keys (RopeWriteKv).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

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

// Stores 4 cache elements from the bits of 4 floats in one 16- or 8-byte access; `dst` is aligned
// to that.
template <typename C>
__device__ void Store4(typename C::T* dst, uint4 bits) {
  if constexpr (sizeof(typename C::T) == 4) {
    *reinterpret_cast<uint4*>(dst) =
        make_uint4(C::From(bits.x), C::From(bits.y), C::From(bits.z), C::From(bits.w));
  } else {
    const auto pack = [](uint32_t lo, uint32_t hi) {
      return static_cast<uint32_t>(C::From(lo)) | (static_cast<uint32_t>(C::From(hi)) << 16);
    };
    *reinterpret_cast<uint2*>(dst) = make_uint2(pack(bits.x, bits.y), pack(bits.z, bits.w));
  }
}

// One block per token: rotates its query and key heads in place as cuda::Rope does, then stores
// its keys and values at its slot as WriteKvKernel does. A thread owns each rotated pair (it reads
// both elements before writing either), so the rotation needs no barrier; the rotated keys go to
// the cache from the registers that computed them. The rotation is the CPU's float arithmetic
// operation for operation (explicit round-to-nearest intrinsics: no contraction into FMAs).
// With kVec4, the values move 16 bytes per load.
template <typename C, bool kVec4>
__global__ void __launch_bounds__(kThreads)
    RopeWriteKvKernel(typename C::T* __restrict__ k_cache, typename C::T* __restrict__ v_cache,
                      float* __restrict__ q, float* __restrict__ k, const uint32_t* __restrict__ v,
                      const float* __restrict__ cos, const float* __restrict__ sin,
                      const int32_t* __restrict__ slots, int64_t n_heads, int64_t n_kv_heads,
                      int64_t head_dim, int64_t rot_dim, bool rotate_half) {
  const int64_t t = blockIdx.x;
  const int64_t half = rot_dim / 2;
  const int64_t width = n_kv_heads * head_dim;
  const float* c = cos + t * half;
  const float* s = sin + t * half;
  const int64_t dst = static_cast<int64_t>(slots[t]) * width;
  float* qt = q + t * n_heads * head_dim;
  float* kt = k + t * width;

  const int64_t q_pairs = n_heads * half;
  for (int64_t p = threadIdx.x; p < (n_heads + n_kv_heads) * half; p += kThreads) {
    const bool key = p >= q_pairs;
    const int64_t pair = key ? p - q_pairs : p;
    const int64_t head = pair / half;
    const int64_t i = pair - head * half;
    const int64_t a = head * head_dim + (rotate_half ? i : 2 * i);
    const int64_t b = head * head_dim + (rotate_half ? i + half : 2 * i + 1);
    float* row = key ? kt : qt;
    const float x0 = row[a];
    const float x1 = row[b];
    const float y0 = __fsub_rn(__fmul_rn(x0, c[i]), __fmul_rn(x1, s[i]));
    const float y1 = __fadd_rn(__fmul_rn(x0, s[i]), __fmul_rn(x1, c[i]));
    row[a] = y0;
    row[b] = y1;
    if (key) {
      k_cache[dst + a] = C::From(__float_as_uint(y0));
      k_cache[dst + b] = C::From(__float_as_uint(y1));
    }
  }
  // The keys' dims past rot_dim, unrotated.
  const int64_t rest = head_dim - rot_dim;
  const uint32_t* k_bits = reinterpret_cast<const uint32_t*>(kt);
  for (int64_t e = threadIdx.x; e < n_kv_heads * rest; e += kThreads) {
    const int64_t head = e / rest;
    const int64_t i = head * head_dim + rot_dim + (e - head * rest);
    k_cache[dst + i] = C::From(k_bits[i]);
  }
  const uint32_t* vt = v + t * width;
  if constexpr (kVec4) {
    const uint4* v4 = reinterpret_cast<const uint4*>(vt);
    for (int64_t g = threadIdx.x; g < width / 4; g += kThreads) {
      Store4<C>(v_cache + dst + 4 * g, v4[g]);
    }
  } else {
    for (int64_t i = threadIdx.x; i < width; i += kThreads) v_cache[dst + i] = C::From(vt[i]);
  }
}

template <typename C>
cudaError_t LaunchRope(const PagedKvLayer& kv, float* q, float* k, const float* v, const float* cos,
                       const float* sin, const int32_t* slots, int64_t n, int64_t n_heads,
                       int64_t rot_dim, bool rotate_half, cudaStream_t stream) {
  using T = typename C::T;
  const bool vec4 = kv.token_stride() % 4 == 0 && reinterpret_cast<uintptr_t>(v) % 16 == 0 &&
                    reinterpret_cast<uintptr_t>(kv.v) % 16 == 0;
  const auto kernel = vec4 ? RopeWriteKvKernel<C, true> : RopeWriteKvKernel<C, false>;
  kernel<<<static_cast<unsigned>(n), kThreads, 0, stream>>>(
      static_cast<T*>(kv.k), static_cast<T*>(kv.v), q, k, reinterpret_cast<const uint32_t*>(v), cos,
      sin, slots, n_heads, kv.n_kv_heads, kv.head_dim, rot_dim, rotate_half);
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

cudaError_t RopeWriteKv(const PagedKvLayer& kv, float* q, float* k, const float* v,
                        const float* cos, const float* sin, const int32_t* slots, int64_t n,
                        int64_t n_heads, int64_t rot_dim, bool rotate_half, cudaStream_t stream) {
  switch (kv.dtype) {
    case DType::kF32:
      return LaunchRope<ToF32>(kv, q, k, v, cos, sin, slots, n, n_heads, rot_dim, rotate_half,
                               stream);
    case DType::kF16:
      return LaunchRope<ToF16>(kv, q, k, v, cos, sin, slots, n, n_heads, rot_dim, rotate_half,
                               stream);
    case DType::kBF16:
      return LaunchRope<ToBf16>(kv, q, k, v, cos, sin, slots, n, n_heads, rot_dim, rotate_half,
                                stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace llmw::cuda_launch
