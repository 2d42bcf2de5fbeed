// Scalar conversions between fp32 and the 16-bit float formats (IEEE half and bfloat16).
//
// All conversions are exact IEEE: fp16/bf16 -> fp32 is lossless (subnormals, infinities and
// NaN payloads included; fp16 NaNs come out quiet, as with F16C); fp32 -> fp16/bf16 rounds to
// nearest, ties to even, overflows to infinity and keeps NaNs quiet NaNs. SIMD kernels may use F16C
// instead; the results agree.
#pragma once

#include <bit>
#include <cstdint>

namespace llmw {

constexpr float Fp16ToFp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) {  // infinity, or NaN: widen the payload and make it quiet (as F16C does)
    return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0u));
  }
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in fp32
    const float magnitude = static_cast<float>(mant) * 0x1p-24f;
    return sign ? -magnitude : magnitude;
  }
  // Normal: rebias the exponent from 15 to 127.
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

constexpr uint16_t Fp32ToFp16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t x = bits & 0x7fffffffu;
  if (x >= 0x7f800000u) {  // infinity or NaN
    if (x == 0x7f800000u) return sign | 0x7c00u;
    return static_cast<uint16_t>(sign | 0x7e00u | ((x >> 13) & 0x3ffu));  // quiet NaN
  }
  // 65520 is halfway between the largest half (65504) and 2^16; it and above round to inf.
  if (x >= 0x477ff000u) return sign | 0x7c00u;
  if (x >= 0x38800000u) {  // normal half (>= 2^-14)
    // Round to nearest even on the 13 dropped bits; a carry propagates into the exponent.
    const uint32_t rounded = x + 0xfffu + ((x >> 13) & 1u);
    return static_cast<uint16_t>(sign | ((rounded - (112u << 23)) >> 13));
  }
  // Subnormal half: the result is round(value * 2^24), which may round up to 2^-14 (0x400).
  if (x <= 0x33000000u) return sign;  // <= 2^-25 rounds to zero (2^-25 is a tie to even 0)
  const uint32_t e = x >> 23;         // 102..112
  const uint32_t m = (x & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - e;  // value * 2^24 = m >> shift
  const uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  const uint32_t result = q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
  return static_cast<uint16_t>(sign | result);
}

constexpr float Bf16ToFp32(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

constexpr uint16_t Fp32ToBf16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {  // NaN: truncate and force the quiet bit
    return static_cast<uint16_t>((bits >> 16) | 0x40u);
  }
  // Round to nearest even; overflow carries into the exponent and yields infinity.
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

}  // namespace llmw
