// Block formats: hand-built blocks with known values, and the reference quantizers.
#include "kernels/block_formats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/fp16.h"

namespace llmw {
namespace {

constexpr uint16_t kHalf0_5 = 0x3800;     // 0.5
constexpr uint16_t kHalf0_25 = 0x3400;    // 0.25
constexpr uint16_t kHalf0_125 = 0x3000;   // 0.125
constexpr uint16_t kHalf2 = 0x4000;       // 2.0
constexpr uint16_t kHalfMinus1 = 0xbc00;  // -1.0

template <typename Block>
std::vector<float> Dequantize(DType type, const Block& blk) {
  std::vector<float> out(32);
  DequantizeRow(type, &blk, out.data(), 32);
  return out;
}

TEST(BlockFormatsTest, Q4_0KnownBlock) {
  // qs[j] = j | (15 - j) << 4: elem j = j, elem j + 16 = 15 - j.
  BlockQ4_0 blk;
  blk.d = kHalf0_5;
  for (int j = 0; j < 16; ++j) blk.qs[j] = static_cast<uint8_t>(j | (15 - j) << 4);
  const std::vector<float> v = Dequantize(DType::kQ4_0, blk);
  EXPECT_EQ(v[0], -4.0f);   // (0 - 8) * 0.5
  EXPECT_EQ(v[8], 0.0f);    // (8 - 8) * 0.5
  EXPECT_EQ(v[15], 3.5f);   // (15 - 8) * 0.5
  EXPECT_EQ(v[16], 3.5f);   // high nibble of qs[0] = 15
  EXPECT_EQ(v[31], -4.0f);  // high nibble of qs[15] = 0
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(v[j], (j - 8) * 0.5f);
    EXPECT_EQ(v[j + 16], (7 - j) * 0.5f);
  }
}

TEST(BlockFormatsTest, Q4_1KnownBlock) {
  BlockQ4_1 blk;
  blk.d = kHalf0_25;
  blk.m = kHalfMinus1;
  for (int j = 0; j < 16; ++j) blk.qs[j] = static_cast<uint8_t>(j | (15 - j) << 4);
  const std::vector<float> v = Dequantize(DType::kQ4_1, blk);
  EXPECT_EQ(v[0], -1.0f);   // 0 * 0.25 - 1
  EXPECT_EQ(v[15], 2.75f);  // 15 * 0.25 - 1
  EXPECT_EQ(v[16], 2.75f);
  EXPECT_EQ(v[20], 1.75f);  // high nibble of qs[4] = 11
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(v[j], j * 0.25f - 1.0f);
    EXPECT_EQ(v[j + 16], (15 - j) * 0.25f - 1.0f);
  }
}

TEST(BlockFormatsTest, Q5_0KnownBlock) {
  BlockQ5_0 blk;
  blk.d = kHalf2;
  std::memset(blk.qs, 0, sizeof(blk.qs));
  blk.qs[0] = 0xa3;   // elem 0 low nibble 3, elem 16 high nibble 10
  blk.qs[15] = 0xa0;  // elem 31 high nibble 10
  blk.qs[1] = 0x0f;   // elem 1 = 15
  // qh = 0x80000001 little-endian: bit 0 (elem 0) and bit 31 (elem 31).
  const uint8_t qh[4] = {0x01, 0x00, 0x00, 0x80};
  std::memcpy(blk.qh, qh, 4);
  const std::vector<float> v = Dequantize(DType::kQ5_0, blk);
  EXPECT_EQ(v[0], 6.0f);     // q = 16 + 3 = 19 -> (19 - 16) * 2
  EXPECT_EQ(v[1], -2.0f);    // q = 15 -> -1 * 2
  EXPECT_EQ(v[2], -32.0f);   // q = 0 -> -16 * 2
  EXPECT_EQ(v[16], -12.0f);  // q = 10 (bit 16 clear) -> -6 * 2
  EXPECT_EQ(v[31], 20.0f);   // q = 16 + 10 = 26 -> 10 * 2
}

TEST(BlockFormatsTest, Q5_1KnownBlock) {
  BlockQ5_1 blk;
  blk.d = kHalf0_5;
  blk.m = kHalf0_125;
  for (int j = 0; j < 16; ++j) blk.qs[j] = static_cast<uint8_t>(j | (15 - j) << 4);
  // Bit 4 set on the odd elements: 0xaaaaaaaa.
  const uint8_t qh[4] = {0xaa, 0xaa, 0xaa, 0xaa};
  std::memcpy(blk.qh, qh, 4);
  const std::vector<float> v = Dequantize(DType::kQ5_1, blk);
  EXPECT_EQ(v[0], 0.125f);          // q = 0
  EXPECT_EQ(v[1], 8.625f);          // q = 1 + 16 = 17 -> 8.5 + 0.125
  EXPECT_EQ(v[31], 0.125f + 8.0f);  // q = 0 + 16
  for (int j = 0; j < 32; ++j) {
    const int nib = j < 16 ? j : 31 - j;
    const int q = nib + (j % 2 ? 16 : 0);
    EXPECT_EQ(v[j], q * 0.5f + 0.125f) << j;
  }
}

TEST(BlockFormatsTest, Q8_0KnownBlock) {
  BlockQ8_0 blk;
  blk.d = kHalf0_25;
  for (int j = 0; j < 32; ++j) blk.qs[j] = static_cast<int8_t>(j * 8 - 128);
  const std::vector<float> v = Dequantize(DType::kQ8_0, blk);
  EXPECT_EQ(v[0], -32.0f);  // -128 * 0.25
  EXPECT_EQ(v[16], 0.0f);
  EXPECT_EQ(v[31], 30.0f);  // 120 * 0.25
  for (int j = 0; j < 32; ++j) EXPECT_EQ(v[j], (j * 8 - 128) * 0.25f);
}

TEST(BlockFormatsTest, RowOfSeveralBlocksUsesEachBlocksScale) {
  BlockQ8_0 blks[3];
  const uint16_t scales[3] = {kHalf0_5, kHalf2, kHalf0_125};
  for (int b = 0; b < 3; ++b) {
    blks[b].d = scales[b];
    for (int j = 0; j < 32; ++j) blks[b].qs[j] = static_cast<int8_t>(b * 10 + j);
  }
  std::vector<float> v(96);
  DequantizeRow(DType::kQ8_0, blks, v.data(), 96);
  EXPECT_EQ(v[1], 0.5f);
  EXPECT_EQ(v[33], 22.0f);   // (10 + 1) * 2
  EXPECT_EQ(v[95], 6.375f);  // (20 + 31) * 0.125
}

TEST(BlockFormatsTest, FloatRows) {
  const uint16_t f16[4] = {0x3c00, 0xc000, 0x0001, 0x7bff};
  const uint16_t bf16[3] = {0x3f80, 0xc040, 0x4049};
  const float f32[2] = {1.5f, -0.25f};
  std::vector<float> v(4);
  DequantizeRow(DType::kF16, f16, v.data(), 4);
  EXPECT_THAT(v, testing::ElementsAre(1.0f, -2.0f, std::ldexp(1.0f, -24), 65504.0f));
  DequantizeRow(DType::kBF16, bf16, v.data(), 3);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -3.0f);
  EXPECT_EQ(v[2], 3.140625f);
  DequantizeRow(DType::kF32, f32, v.data(), 2);
  EXPECT_EQ(v[0], 1.5f);
  EXPECT_EQ(v[1], -0.25f);
}

TEST(BlockFormatsTest, SupportedTypes) {
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0,
                  DType::kQ5_1, DType::kQ8_0}) {
    EXPECT_TRUE(SupportsDequantize(t)) << DTypeName(t);
  }
  for (DType t : {DType::kQ2_K, DType::kQ4_K, DType::kQ6_K, DType::kQ8_K}) {
    EXPECT_FALSE(SupportsDequantize(t)) << DTypeName(t);
  }
}

TEST(BlockFormatsDeathTest, UnsupportedTypeAborts) {
  std::vector<uint8_t> src(256);
  std::vector<float> dst(256);
  EXPECT_DEATH(DequantizeRow(DType::kQ4_K, src.data(), dst.data(), 256), "Q4_K");
}

// A block whose values are exactly representable, including both ends of the code range,
// quantizes back to the same bytes.
TEST(QuantizeTest, ExactValuesReproduceTheBlock) {
  BlockQ4_0 q40;
  q40.d = kHalf0_5;
  for (int j = 0; j < 16; ++j) q40.qs[j] = static_cast<uint8_t>(j | (15 - j) << 4);
  BlockQ4_1 q41;
  q41.d = kHalf0_25;
  q41.m = kHalfMinus1;
  std::memcpy(q41.qs, q40.qs, 16);
  BlockQ5_0 q50;
  q50.d = kHalf0_5;
  std::memcpy(q50.qs, q40.qs, 16);
  const uint8_t qh[4] = {0x0f, 0xf0, 0x33, 0x00};  // elem 31 (max |x| = 16 * 0.5) has bit 4 clear
  std::memcpy(q50.qh, qh, 4);
  BlockQ5_1 q51;
  q51.d = kHalf0_125;
  q51.m = kHalf2;
  std::memcpy(q51.qs, q40.qs, 16);
  const uint8_t qh51[4] = {0x00, 0x80, 0x00, 0x00};  // elem 15: q = 15 + 16 = 31; elem 0: q = 0
  std::memcpy(q51.qh, qh51, 4);
  BlockQ8_0 q80;
  q80.d = kHalf0_25;
  for (int j = 0; j < 32; ++j) q80.qs[j] = static_cast<int8_t>(j * 8 - 127);  // -127 .. 121

  auto round_trip = [](DType type, const void* blk, size_t size) {
    std::vector<float> v(32);
    DequantizeRow(type, blk, v.data(), 32);
    std::vector<uint8_t> again(size);
    QuantizeRowReference(type, v.data(), again.data(), 32);
    return std::memcmp(again.data(), blk, size) == 0;
  };
  EXPECT_TRUE(round_trip(DType::kQ4_0, &q40, sizeof(q40)));
  EXPECT_TRUE(round_trip(DType::kQ4_1, &q41, sizeof(q41)));
  EXPECT_TRUE(round_trip(DType::kQ5_0, &q50, sizeof(q50)));
  EXPECT_TRUE(round_trip(DType::kQ5_1, &q51, sizeof(q51)));
  EXPECT_TRUE(round_trip(DType::kQ8_0, &q80, sizeof(q80)));
}

// Random rows: every element comes back within the format's rounding error.
TEST(QuantizeTest, RandomRowsWithinHalfAStep) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int64_t n = 32 * 64;
  std::vector<float> x(n), y(n);
  for (float& v : x) v = dist(rng);
  x[5] = 12.0f;  // an outlier
  for (DType t : {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kF16,
                  DType::kBF16, DType::kF32}) {
    std::vector<uint8_t> buf(RowBytes(t, n));
    QuantizeRowReference(t, x.data(), buf.data(), n);
    DequantizeRow(t, buf.data(), y.data(), n);
    for (int64_t b = 0; b < n / 32; ++b) {
      float lo = x[b * 32], hi = x[b * 32], amax = 0;
      for (int j = 0; j < 32; ++j) {
        lo = std::min(lo, x[b * 32 + j]);
        hi = std::max(hi, x[b * 32 + j]);
        amax = std::max(amax, std::fabs(x[b * 32 + j]));
      }
      // Step between codes, and the slack of storing d and m as fp16 (relative 2^-11).
      float step = 0, slack = 0;
      switch (t) {
        case DType::kQ4_0:
          step = amax / 8;
          slack = 8 * step;
          break;  // ends clamp at q = 15
        case DType::kQ5_0:
          step = amax / 16;
          slack = 16 * step;
          break;
        case DType::kQ4_1:
          step = (hi - lo) / 15;
          slack = 15 * step + std::fabs(lo);
          break;
        case DType::kQ5_1:
          step = (hi - lo) / 31;
          slack = 31 * step + std::fabs(lo);
          break;
        case DType::kQ8_0:
          step = amax / 127;
          slack = 127 * step;
          break;
        case DType::kBF16:
          slack = 4 * amax;
          break;  // 8 significant bits, not 11
        default:
          slack = amax;
          break;
      }
      float bound = step / 2 + slack * std::ldexp(1.0f, -10);
      if (t == DType::kQ4_0 || t == DType::kQ5_0) bound = step + slack * std::ldexp(1.0f, -10);
      if (t == DType::kF32) bound = 0;
      for (int j = 0; j < 32; ++j) {
        const int64_t i = b * 32 + j;
        ASSERT_LE(std::fabs(y[i] - x[i]), bound) << DTypeName(t) << " elem " << i;
      }
    }
  }
}

}  // namespace
}  // namespace llmw
