// fp16 / bf16 <-> fp32 conversions: exhaustive round trips, rounding edge cases, and agreement
// with the F16C hardware conversion where the CPU has it.
#include "kernels/fp16.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu/cpu_features.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace llmw {
namespace {

float Bits(uint32_t b) { return std::bit_cast<float>(b); }
uint32_t BitsOf(float f) { return std::bit_cast<uint32_t>(f); }

TEST(Fp16Test, KnownValuesToFp32) {
  EXPECT_EQ(BitsOf(Fp16ToFp32(0x0000)), 0x00000000u);
  EXPECT_EQ(BitsOf(Fp16ToFp32(0x8000)), 0x80000000u);  // -0
  EXPECT_EQ(Fp16ToFp32(0x3c00), 1.0f);
  EXPECT_EQ(Fp16ToFp32(0xc000), -2.0f);
  EXPECT_EQ(Fp16ToFp32(0x3800), 0.5f);
  EXPECT_EQ(Fp16ToFp32(0x3555), 0.333251953125f);
  EXPECT_EQ(Fp16ToFp32(0x7bff), 65504.0f);               // largest finite
  EXPECT_EQ(Fp16ToFp32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(Fp16ToFp32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(Fp16ToFp32(0x03ff), 1023.0f * std::ldexp(1.0f, -24));
  EXPECT_EQ(Fp16ToFp32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(Fp16ToFp32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(Fp16ToFp32(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(Fp16ToFp32(0x7e00)));
  EXPECT_TRUE(std::isnan(Fp16ToFp32(0x7c01)));         // signalling NaN stays NaN, not infinity
  EXPECT_EQ(BitsOf(Fp16ToFp32(0x7e01)), 0x7fc02000u);  // payload kept
}

TEST(Fp16Test, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = Fp16ToFp32(static_cast<uint16_t>(h));
    const uint16_t back = Fp32ToFp16(f);
    if (std::isnan(f)) {
      EXPECT_EQ(back & 0x7c00, 0x7c00) << std::hex << h;
      EXPECT_NE(back & 0x03ff, 0) << std::hex << h;
      EXPECT_EQ(back & 0x8000, h & 0x8000) << std::hex << h;
    } else {
      EXPECT_EQ(back, h) << std::hex << h;
    }
  }
}

TEST(Fp16Test, RoundsToNearestEven) {
  const float one_ulp = std::ldexp(1.0f, -10);            // half ulp at 1.0
  EXPECT_EQ(Fp32ToFp16(1.0f + one_ulp / 2), 0x3c00);      // tie -> even (down)
  EXPECT_EQ(Fp32ToFp16(1.0f + 3 * one_ulp / 2), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(Fp32ToFp16(std::nextafter(1.0f + one_ulp / 2, 2.0f)), 0x3c01);
  EXPECT_EQ(Fp32ToFp16(65504.0f), 0x7bff);
  EXPECT_EQ(Fp32ToFp16(65519.996f), 0x7bff);
  EXPECT_EQ(Fp32ToFp16(65520.0f), 0x7c00);  // tie with 2^16 -> even -> infinity
  EXPECT_EQ(Fp32ToFp16(-1e9f), 0xfc00);
  EXPECT_EQ(Fp32ToFp16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(Fp32ToFp16(-0.0f), 0x8000);
}

TEST(Fp16Test, RoundsIntoSubnormals) {
  const float tiny = std::ldexp(1.0f, -24);  // value of 0x0001
  EXPECT_EQ(Fp32ToFp16(tiny), 0x0001);
  EXPECT_EQ(Fp32ToFp16(tiny / 2), 0x0000);                        // tie -> even 0
  EXPECT_EQ(Fp32ToFp16(std::nextafter(tiny / 2, 1.0f)), 0x0001);  // just above the tie
  EXPECT_EQ(Fp32ToFp16(-tiny / 2), 0x8000);
  EXPECT_EQ(Fp32ToFp16(1.5f * tiny), 0x0002);     // tie 1|2 -> 2
  EXPECT_EQ(Fp32ToFp16(2.5f * tiny), 0x0002);     // tie 2|3 -> 2
  EXPECT_EQ(Fp32ToFp16(1023.5f * tiny), 0x0400);  // tie -> smallest normal
  EXPECT_EQ(Fp32ToFp16(std::ldexp(1.0f, -30)), 0x0000);
  EXPECT_EQ(Fp32ToFp16(std::numeric_limits<float>::denorm_min()), 0x0000);
}

TEST(Fp16Test, NanStaysQuietNan) {
  const uint16_t h = Fp32ToFp16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(h & 0x7e00, 0x7e00);
  const uint16_t s = Fp32ToFp16(Bits(0xff800001u));  // signalling, payload only in low bits
  EXPECT_EQ(s & 0xfe00, 0xfe00);
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t HardwareToHalf(float f) { return _cvtss_sh(f, 0); }
__attribute__((target("f16c"))) float HardwareToFloat(uint16_t h) { return _cvtsh_ss(h); }

TEST(Fp16Test, MatchesF16cHardware) {
  if (!cpu::HasAvx2()) GTEST_SKIP() << "CPU has no F16C (probed with AVX2 and FMA)";
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float sw = Fp16ToFp32(static_cast<uint16_t>(h));
    const float hw = HardwareToFloat(static_cast<uint16_t>(h));
    ASSERT_EQ(BitsOf(sw), BitsOf(hw)) << std::hex << h;
  }
  // Every float in the range that maps onto halves (and beyond), strided, plus each float
  // within a few ulps of every half and of every midpoint between adjacent halves.
  auto check = [](uint32_t bits) {
    const float f = Bits(bits);
    ASSERT_EQ(Fp32ToFp16(f), HardwareToHalf(f)) << std::hex << bits;
  };
  for (uint64_t b = 0; b <= 0xffffffffu; b += 4099) check(static_cast<uint32_t>(b));
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    const uint32_t lo = BitsOf(Fp16ToFp32(static_cast<uint16_t>(h)));
    const uint32_t mid = BitsOf(
        (Fp16ToFp32(static_cast<uint16_t>(h)) + Fp16ToFp32(static_cast<uint16_t>(h + 1))) / 2);
    for (uint32_t base : {lo, mid}) {
      for (uint32_t d = 0; d < 3; ++d) {
        check(base + d);
        check((base - d) | 0x80000000u);
      }
    }
  }
}
#endif

TEST(Bf16Test, KnownValues) {
  EXPECT_EQ(Bf16ToFp32(0x3f80), 1.0f);
  EXPECT_EQ(Bf16ToFp32(0xc040), -3.0f);
  EXPECT_EQ(Bf16ToFp32(0x0001), Bits(0x00010000u));  // subnormal
  EXPECT_EQ(Bf16ToFp32(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(Bf16ToFp32(0x7fc0)));
  EXPECT_EQ(Fp32ToBf16(1.0f), 0x3f80);
  EXPECT_EQ(Fp32ToBf16(Bits(0x3f808000u)), 0x3f80);  // tie -> even (down)
  EXPECT_EQ(Fp32ToBf16(Bits(0x3f818000u)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(Fp32ToBf16(Bits(0x3f808001u)), 0x3f81);
  EXPECT_EQ(Fp32ToBf16(Bits(0x7f7fffffu)), 0x7f80);  // overflow -> infinity
  EXPECT_EQ(Fp32ToBf16(Bits(0x00008000u)), 0x0000);  // subnormal tie -> even 0
  EXPECT_EQ(Fp32ToBf16(Bits(0x00018000u)), 0x0002);
  EXPECT_EQ(Fp32ToBf16(-0.0f), 0x8000);
  const uint16_t nan = Fp32ToBf16(Bits(0x7f800001u));  // payload below the kept bits
  EXPECT_TRUE(std::isnan(Bf16ToFp32(nan)));
  EXPECT_EQ(nan & 0x0040, 0x0040);
}

TEST(Bf16Test, EveryBf16RoundTrips) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = Bf16ToFp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(Bf16ToFp32(Fp32ToBf16(f))));
    } else {
      EXPECT_EQ(Fp32ToBf16(f), h);
    }
  }
}

}  // namespace
}  // namespace llmw
