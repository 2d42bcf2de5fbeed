// Block formats: hand-built blocks with known values, the K-quants against the `gguf` package's
// dequantizer (tests/fixtures/kquants), and the reference quantizers.
#include "kernels/block_formats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "kernels/fp16.h"

namespace llmw {
namespace {

constexpr uint16_t kHalf0_5 = 0x3800;     // 0.5
constexpr uint16_t kHalf0_25 = 0x3400;    // 0.25
constexpr uint16_t kHalf0_125 = 0x3000;   // 0.125
constexpr uint16_t kHalf2 = 0x4000;       // 2.0
constexpr uint16_t kHalfMinus1 = 0xbc00;  // -1.0
constexpr uint16_t kHalf1 = 0x3c00;       // 1.0

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
  for (DType t : {DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    EXPECT_TRUE(SupportsDequantize(t)) << DTypeName(t);
    EXPECT_TRUE(IsKQuant(t)) << DTypeName(t);
  }
  EXPECT_FALSE(SupportsDequantize(DType::kQ8_K));
  EXPECT_FALSE(IsKQuant(DType::kQ8_K));
  EXPECT_FALSE(IsKQuant(DType::kQ4_0));
}

TEST(BlockFormatsDeathTest, UnsupportedTypeAborts) {
  std::vector<uint8_t> src(256);
  std::vector<float> dst(256);
  EXPECT_DEATH(DequantizeRow(DType::kQ8_K, src.data(), dst.data(), 256), "Q8_K");
}

template <typename Block>
std::vector<float> DequantizeSuper(DType type, const Block& blk) {
  std::vector<float> out(256);
  DequantizeRow(type, &blk, out.data(), 256);
  return out;
}

// Eight (scale, min) pairs packed by hand into the 12 scale bytes of Q4_K / Q5_K:
//   scales = {1, 2, 3, 4, 33, 45, 63, 17}, mins = {0, 1, 2, 63, 5, 36, 16, 48}.
// Bytes 0-3: scale j (6 bits) | top two bits of scale j + 4 in bits 6-7
//   1 | 2 << 6 = 0x81, 2 | 2 << 6 = 0x82, 3 | 3 << 6 = 0xc3, 4 | 1 << 6 = 0x44.
// Bytes 4-7: min j | top two bits of min j + 4: 0, 1 | 2 << 6 = 0x81, 2 | 1 << 6 = 0x42, 0xff.
// Bytes 8-11: low nibble of scale j + 4 | low nibble of min j + 4 << 4:
//   1 | 5 << 4 = 0x51, 13 | 4 << 4 = 0x4d, 15 | 0 = 0x0f, 1 | 0 = 0x01.
constexpr uint8_t kK4Scales[12] = {0x81, 0x82, 0xc3, 0x44, 0x00, 0x81,
                                   0x42, 0xff, 0x51, 0x4d, 0x0f, 0x01};
constexpr int kK4Scale[8] = {1, 2, 3, 4, 33, 45, 63, 17};
constexpr int kK4Min[8] = {0, 1, 2, 63, 5, 36, 16, 48};

TEST(KQuantTest, ScaleMinK4Unpacking) {
  for (int j = 0; j < 8; ++j) {
    int scale, min;
    ScaleMinK4(kK4Scales, j, &scale, &min);
    EXPECT_EQ(scale, kK4Scale[j]) << j;
    EXPECT_EQ(min, kK4Min[j]) << j;
  }
}

TEST(KQuantTest, Q4_KKnownBlock) {
  BlockQ4_K blk;
  blk.d = kHalf1;
  blk.dmin = kHalf0_5;
  std::memcpy(blk.scales, kK4Scales, 12);
  // qs[i] = i % 16 | (15 - i % 16) << 4. Sub-block j reads the low (even j) or high (odd j)
  // nibbles of qs[32 * (j / 2) ..]: q = l % 16 for even j, 15 - l % 16 for odd j (l = e % 32).
  for (int i = 0; i < 128; ++i) blk.qs[i] = static_cast<uint8_t>(i % 16 | (15 - i % 16) << 4);
  const std::vector<float> v = DequantizeSuper(DType::kQ4_K, blk);
  EXPECT_EQ(v[0], 0.0f);      // j 0, q 0: 1 * 1 * 0 - 0.5 * 0
  EXPECT_EQ(v[33], 27.5f);    // j 1, l 1, q 14: 2 * 14 - 0.5 * 1
  EXPECT_EQ(v[98], 20.5f);    // j 3, l 2, q 13: 4 * 13 - 0.5 * 63
  EXPECT_EQ(v[133], 162.5f);  // j 4, l 5, q 5: 33 * 5 - 0.5 * 5
  EXPECT_EQ(v[207], 937.0f);  // j 6, l 15, q 15: 63 * 15 - 0.5 * 16
  EXPECT_EQ(v[255], -24.0f);  // j 7, l 31, q 0: -0.5 * 48
  for (int e = 0; e < 256; ++e) {
    const int j = e / 32, l = e % 32;
    const int q = j % 2 == 0 ? l % 16 : 15 - l % 16;
    EXPECT_EQ(v[e], kK4Scale[j] * q - 0.5f * kK4Min[j]) << e;
  }
}

TEST(KQuantTest, Q5_KKnownBlock) {
  BlockQ5_K blk;
  blk.d = kHalf1;
  blk.dmin = kHalf0_5;
  std::memcpy(blk.scales, kK4Scales, 12);
  for (int i = 0; i < 128; ++i) blk.qs[i] = static_cast<uint8_t>(i % 16 | (15 - i % 16) << 4);
  // qh[l] = 1 << (l % 8): bit j of qh[l] (the fifth bit of element 32 j + l) is set iff l % 8 == j.
  for (int l = 0; l < 32; ++l) blk.qh[l] = static_cast<uint8_t>(1 << (l % 8));
  const std::vector<float> v = DequantizeSuper(DType::kQ5_K, blk);
  EXPECT_EQ(v[0], 16.0f);     // j 0, l 0: q = 0 + 16 -> 1 * 16
  EXPECT_EQ(v[33], 59.5f);    // j 1, l 1: q = 14 + 16 -> 2 * 30 - 0.5
  EXPECT_EQ(v[98], 20.5f);    // j 3, l 2: no fifth bit, q = 13 -> 4 * 13 - 31.5
  EXPECT_EQ(v[231], 384.0f);  // j 7, l 7: q = 8 + 16 -> 17 * 24 - 24
  for (int e = 0; e < 256; ++e) {
    const int j = e / 32, l = e % 32;
    const int q = (j % 2 == 0 ? l % 16 : 15 - l % 16) + (l % 8 == j ? 16 : 0);
    EXPECT_EQ(v[e], kK4Scale[j] * q - 0.5f * kK4Min[j]) << e;
  }
}

TEST(KQuantTest, Q2_KKnownBlock) {
  BlockQ2_K blk;
  blk.d = kHalf0_5;
  blk.dmin = kHalf1;
  // Sub-block s: scale s (low nibble), min 15 - s (high nibble).
  for (int s = 0; s < 16; ++s) blk.scales[s] = static_cast<uint8_t>(s | (15 - s) << 4);
  // qs[i] = i: element e (half h = e / 128, r = e % 128) is bits 2 * (r / 32) of qs[32 h + r % 32].
  for (int i = 0; i < 64; ++i) blk.qs[i] = static_cast<uint8_t>(i);
  const std::vector<float> v = DequantizeSuper(DType::kQ2_K, blk);
  EXPECT_EQ(v[0], -15.0f);  // s 0, q 0: 0 - 1 * 15
  EXPECT_EQ(v[83], -7.5f);  // s 5, r 83: qs[19] = 0b010011, bits 4-5 = 1 -> 0.5 * 5 * 1 - 10
  EXPECT_EQ(v[200], 9.0f);  // s 12, h 1, r 72: qs[40] = 0b101000, bits 4-5 = 2 -> 0.5*12*2 - 3
  EXPECT_EQ(v[255], 0.0f);  // s 15, h 1, r 127: qs[63] bits 6-7 = 0 -> 0 - 0
  for (int e = 0; e < 256; ++e) {
    const int s = e / 16, r = e % 128;
    const int q = ((32 * (e / 128) + r % 32) >> (2 * (r / 32))) & 3;
    EXPECT_EQ(v[e], 0.5f * s * q - (15 - s)) << e;
  }
}

TEST(KQuantTest, Q3_KKnownBlock) {
  // Stored six-bit scales v (scale = v - 32):
  //   v = {0, 1, 31, 32, 33, 63, 40, 20, 10, 50, 5, 45, 16, 48, 2, 62}.
  // Bytes 0-7: low nibble of v[k] | low nibble of v[k + 8] << 4.
  // Bytes 8-11: byte 8 + i holds the top two bits of v[i], v[i + 4], v[i + 8], v[i + 12] in
  //   bits 0-1, 2-3, 4-5, 6-7: tops are {0,0,1,2, 2,3,2,1, 0,3,0,2, 1,3,0,3}, so
  //   0 | 2 << 2 | 0 << 4 | 1 << 6 = 0x48, 0 | 3 << 2 | 3 << 4 | 3 << 6 = 0xfc,
  //   1 | 2 << 2 = 0x09, 2 | 1 << 2 | 2 << 4 | 3 << 6 = 0xe6.
  const uint8_t scale_bytes[12] = {0xa0, 0x21, 0x5f, 0xd0, 0x01, 0x0f,
                                   0x28, 0xe4, 0x48, 0xfc, 0x09, 0xe6};
  const int scale[16] = {-32, -31, -1, 0, 1, 31, 8, -12, -22, 18, -27, 13, -16, 16, -30, 30};
  for (int s = 0; s < 16; ++s) EXPECT_EQ(Q3KScale(scale_bytes, s), scale[s]) << s;

  BlockQ3_K blk;
  blk.d = kHalf0_25;
  std::memcpy(blk.scales, scale_bytes, 12);
  // qs = 0b11100100: the two low bits of element e are r / 32 (r = e % 128).
  std::memset(blk.qs, 0xe4, sizeof(blk.qs));
  // hmask = 0xf0: bit e / 32 is set only in the second half, so the first half gets -4.
  std::memset(blk.hmask, 0xf0, sizeof(blk.hmask));
  const std::vector<float> v = DequantizeSuper(DType::kQ3_K, blk);
  EXPECT_EQ(v[0], 32.0f);    // s 0, q = 0 - 4: 0.25 * -32 * -4
  EXPECT_EQ(v[84], -15.5f);  // s 5, r 84, q = 2 - 4: 0.25 * 31 * -2
  EXPECT_EQ(v[144], 0.0f);   // s 9, r 16, q = 0
  EXPECT_EQ(v[181], 3.25f);  // s 11, r 53, q = 1: 0.25 * 13
  EXPECT_EQ(v[255], 22.5f);  // s 15, r 127, q = 3: 0.25 * 30 * 3
  for (int e = 0; e < 256; ++e) {
    const int q = (e % 128) / 32 - (e < 128 ? 4 : 0);
    EXPECT_EQ(v[e], 0.25f * static_cast<float>(scale[e / 16]) * static_cast<float>(q)) << e;
  }
}

TEST(KQuantTest, Q6_KKnownBlock) {
  BlockQ6_K blk;
  blk.d = kHalf0_5;
  // scales 1, -2, 3, -4, ..., -16.
  for (int s = 0; s < 16; ++s) blk.scales[s] = static_cast<int8_t>(s % 2 ? -(s + 1) : s + 1);
  for (int i = 0; i < 128; ++i) blk.ql[i] = static_cast<uint8_t>(i);
  // First half: qh = 0b11100100 (high bits r / 32); second half 0b00011011 (3 - r / 32).
  for (int i = 0; i < 64; ++i) blk.qh[i] = i < 32 ? 0xe4 : 0x1b;
  const std::vector<float> v = DequantizeSuper(DType::kQ6_K, blk);
  EXPECT_EQ(v[0], -16.0f);    // s 0: ql[0] = 0, high 0 -> q = -32 -> 0.5 * 1 * -32
  EXPECT_EQ(v[100], 63.0f);   // s 6 (scale 7), r 100: high nibble of ql[36] = 2, high 3 ->
                              // 50 - 32 = 18 -> 0.5 * 7 * 18
  EXPECT_EQ(v[200], -78.0f);  // s 12 (13), h 1, r 72: ql[72] = 0x48 -> 4, high 1 -> 20 - 32
  EXPECT_EQ(v[255], 200.0f);  // s 15 (-16), r 127: ql[127] = 0x7f -> 7, high 0 -> 7 - 32 = -25
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, r = e % 128;
    const int low = ((64 * h + r % 64) >> (4 * (r / 64))) & 15;
    const int high = h == 0 ? r / 32 : 3 - r / 32;
    const int s = e / 16;
    const float scale = static_cast<float>(s % 2 ? -(s + 1) : s + 1);
    EXPECT_EQ(v[e], 0.5f * scale * static_cast<float>((low | high << 4) - 32)) << e;
  }
}

std::vector<char> ReadFixture(const std::string& name) {
  const char* root = std::getenv("LLMW_SOURCE_DIR");
  const std::string path =
      std::string(root != nullptr ? root : ".") + "/tests/fixtures/kquants/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Random super-blocks decoded by gguf.quants.dequantize (make_kquant_fixtures.py): the reference
// dequantizer must agree bit for bit, because it performs the same f32 operations in the same
// order.
TEST(KQuantTest, MatchesGgufPackageBitwise) {
  const struct {
    DType type;
    const char* name;
  } kCases[] = {{DType::kQ2_K, "q2_k"},
                {DType::kQ3_K, "q3_k"},
                {DType::kQ4_K, "q4_k"},
                {DType::kQ5_K, "q5_k"},
                {DType::kQ6_K, "q6_k"}};
  for (const auto& c : kCases) {
    const std::vector<char> blocks = ReadFixture(std::string(c.name) + ".blocks");
    const std::vector<char> want_bytes = ReadFixture(std::string(c.name) + ".f32");
    const int64_t n = static_cast<int64_t>(want_bytes.size() / sizeof(float));
    ASSERT_EQ(n, 8 * 256) << c.name;
    ASSERT_EQ(static_cast<int64_t>(blocks.size()), RowBytes(c.type, n)) << c.name;
    std::vector<float> want(n), got(n);
    std::memcpy(want.data(), want_bytes.data(), want_bytes.size());
    DequantizeRow(c.type, blocks.data(), got.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      uint32_t a, b;
      std::memcpy(&a, &got[i], 4);
      std::memcpy(&b, &want[i], 4);
      ASSERT_EQ(a, b) << c.name << " elem " << i << ": " << got[i] << " vs " << want[i];
    }
  }
}

// The simple K-quant quantizers: random rows come back with a relative RMS error typical of the
// format's bit width, and no element strays further than a few of its sub-block's steps.
TEST(KQuantTest, QuantizeRandomRows) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int64_t n = 256 * 16;
  std::vector<float> x(n), y(n);
  for (float& v : x) v = dist(rng);
  x[5] = 12.0f;
  x[700] = -9.0f;
  const struct {
    DType type;
    double max_rel_rms;
  } kCases[] = {{DType::kQ2_K, 0.40},
                {DType::kQ3_K, 0.25},
                {DType::kQ4_K, 0.10},
                {DType::kQ5_K, 0.05},
                {DType::kQ6_K, 0.03}};
  for (const auto& c : kCases) {
    std::vector<uint8_t> buf(RowBytes(c.type, n));
    QuantizeRowReference(c.type, x.data(), buf.data(), n);
    DequantizeRow(c.type, buf.data(), y.data(), n);
    double err2 = 0, x2 = 0;
    for (int64_t i = 0; i < n; ++i) {
      err2 += (y[i] - x[i]) * static_cast<double>(y[i] - x[i]);
      x2 += x[i] * static_cast<double>(x[i]);
    }
    const double rel_rms = std::sqrt(err2 / x2);
    std::printf("  %s relative RMS error %.4f\n", std::string(DTypeName(c.type)).c_str(), rel_rms);
    EXPECT_LT(rel_rms, c.max_rel_rms) << DTypeName(c.type);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_LT(std::fabs(y[i] - x[i]), 3.0f) << DTypeName(c.type) << " elem " << i;
    }
  }
  // All-zero super-blocks stay zero.
  std::vector<float> zeros(256, 0.0f), out(256, 1.0f);
  for (const auto& c : kCases) {
    std::vector<uint8_t> buf(RowBytes(c.type, 256));
    QuantizeRowReference(c.type, zeros.data(), buf.data(), 256);
    DequantizeRow(c.type, buf.data(), out.data(), 256);
    for (float v : out) ASSERT_EQ(v, 0.0f) << DTypeName(c.type);
  }
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
