// GgufFile on broken and hostile files: every one is refused with a status
// that names the file, the field and the problem; none crashes, hangs or
// allocates more than the file's size.
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/formats/gguf_file.h"
#include "models/formats/gguf_parser.h"
#include "tests/unit/formats/gguf_builder.h"

namespace llmw {
namespace {

using gguf_test::Arr;
using gguf_test::Bool;
using gguf_test::F32;
using gguf_test::GgufBuilder;
using gguf_test::GgufLayout;
using gguf_test::I32;
using gguf_test::PatchU32;
using gguf_test::PatchU64;
using gguf_test::Str;
using gguf_test::TempFile;
using gguf_test::U32;
using gguf_test::U8;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr uint64_t k2Pow63 = 1ull << 63;

// A small valid file with metadata of several kinds and three tensors.
GgufBuilder SmallModel() {
  GgufBuilder b;
  b.Add("general.architecture", Str("llama"))
      .Add("llama.embedding_length", U32(64))
      .Add("tokenizer.ggml.tokens", Arr(GgufType::kString, {Str("a"), Str("bc")}))
      .Add("tokenizer.ggml.token_type", Arr(GgufType::kInt32, {I32(1), I32(3)}))
      .Add("nested", Arr(GgufType::kArray, {Arr(GgufType::kUint8, {U8(1)})}))
      .Add("flag", Bool(true))
      .AddTensor("token_embd.weight", {64, 2}, DType::kQ8_0)
      .AddTensor("output_norm.weight", {64}, DType::kF32)
      .AddTensor("blk.0.attn_q.weight", {64, 64}, DType::kQ4_1);
  return b;
}

// Opens `bytes` as a file and expects `code` with the path and `phrase`.
void ExpectError(const std::string& bytes, absl::StatusCode code, std::string_view phrase) {
  TempFile file(bytes);
  absl::StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(file.path());
  ASSERT_FALSE(f.ok()) << "opened a broken file; expected: " << phrase;
  EXPECT_EQ(f.status().code(), code) << f.status();
  EXPECT_THAT(std::string(f.status().message()),
              AllOf(HasSubstr(file.path()), HasSubstr(std::string(phrase))));
}

void ExpectInvalid(const std::string& bytes, std::string_view phrase) {
  ExpectError(bytes, absl::StatusCode::kInvalidArgument, phrase);
}

void ExpectDataLoss(const std::string& bytes, std::string_view phrase) {
  ExpectError(bytes, absl::StatusCode::kDataLoss, phrase);
}

TEST(GgufErrorsTest, SmallModelIsValid) {
  TempFile file(SmallModel().Build());
  absl::StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(file.path());
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->tensors().size(), 3u);
}

TEST(GgufErrorsTest, MissingFile) {
  const std::string path = ::testing::TempDir() + "llmw_no_such_file.gguf";
  absl::StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(path);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(f.status().message(), HasSubstr(path));
}

TEST(GgufErrorsTest, BadMagic) {
  std::string bytes = SmallModel().Build();
  bytes.replace(0, 4, "GGML");
  ExpectInvalid(bytes, "header: magic: bad magic \"GGML\", expected \"GGUF\"");
}

TEST(GgufErrorsTest, UnsupportedVersions) {
  ExpectInvalid(SmallModel().SetVersion(1).Build(), "header: version: unsupported version 1");
  ExpectInvalid(SmallModel().SetVersion(99).Build(), "unsupported version 99 (supported: 2 and 3)");
  ExpectInvalid(SmallModel().SetVersion(0x03000000).Build(), "big-endian files are not supported");
}

// Parses exact-size heap copies, so that AddressSanitizer sees any read past
// the end (a mapping would hide small overreads in its last page).
absl::StatusOr<GgufContents> ParseCopy(std::string_view bytes) {
  const std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  return ParseGguf(copy, "copy.gguf");
}

TEST(GgufErrorsTest, EveryTruncationIsDataLoss) {
  const std::string bytes = SmallModel().Build();
  ASSERT_TRUE(ParseCopy(bytes).ok());
  for (size_t n = 0; n < bytes.size(); ++n) {
    absl::StatusOr<GgufContents> c = ParseCopy(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(c.ok()) << "prefix of " << n << " bytes parsed";
    ASSERT_EQ(c.status().code(), absl::StatusCode::kDataLoss) << c.status();
    ASSERT_THAT(std::string(c.status().message()), HasSubstr("copy.gguf: "));
  }
}

TEST(GgufErrorsTest, TruncationMessagesNameTheField) {
  const std::string bytes = SmallModel().Build();
  ExpectDataLoss(bytes.substr(0, 2),
                 "header: magic: truncated file: needs 4 bytes at offset 0, 2 remain");
  ExpectDataLoss(bytes.substr(0, 6), "header: version: truncated file");
  ExpectDataLoss(bytes.substr(0, 20), "header: kv_count: truncated file");
  GgufLayout l;
  const std::string tokens =
      GgufBuilder().Add("tokens", Arr(GgufType::kString, {Str("a"), Str("bc")})).Build(&l);
  ExpectDataLoss(tokens.substr(0, l.kvs[0].value + 30),
                 "metadata 'tokens'[1]: value: string length 2 extends past the end of the file "
                 "(1 bytes remain)");
  ExpectDataLoss(bytes.substr(0, bytes.size() - 1),
                 "tensor 'blk.0.attn_q.weight': data: 2560 bytes at data offset");
}

TEST(GgufErrorsTest, HostileStringLengths) {
  GgufLayout l;
  const std::string good = SmallModel().Build(&l);
  std::string bytes = good;
  PatchU64(&bytes, l.kvs[0].value, k2Pow63);
  ExpectDataLoss(bytes,
                 "metadata 'general.architecture': value: string length 9223372036854775808 "
                 "extends past the end of the file");
  bytes = good;
  PatchU64(&bytes, l.kvs[1].key, ~0ull);
  ExpectDataLoss(bytes, "metadata entry #1: key: string length 18446744073709551615 extends");
  bytes = good;
  PatchU64(&bytes, l.kvs[2].value + 12, k2Pow63);  // first token
  ExpectDataLoss(bytes, "metadata 'tokenizer.ggml.tokens'[0]: value: string length");
  bytes = good;
  PatchU64(&bytes, l.tensors[1].name, k2Pow63);
  ExpectDataLoss(bytes, "tensor #1: name: string length 9223372036854775808");
}

TEST(GgufErrorsTest, HostileArrayLengths) {
  GgufLayout l;
  const std::string good = SmallModel().Build(&l);
  std::string bytes = good;
  PatchU64(&bytes, l.kvs[3].value + 4, k2Pow63);
  ExpectDataLoss(bytes,
                 "metadata 'tokenizer.ggml.token_type': array length: array of "
                 "9223372036854775808 i32 elements extends past the end of the file");
  bytes = good;
  PatchU64(&bytes, l.kvs[2].value + 4, ~0ull);
  ExpectDataLoss(bytes, "array of 18446744073709551615 string elements extends past the end");
  bytes = good;
  PatchU64(&bytes, l.kvs[4].value + 4, k2Pow63);
  ExpectDataLoss(bytes, "'nested': array length: array of 9223372036854775808 array elements");
  bytes = good;
  PatchU64(&bytes, l.kvs[4].value + 16, k2Pow63);  // the inner array
  ExpectDataLoss(bytes, "'nested'[0]: array length: array of 9223372036854775808 u8 elements");
}

TEST(GgufErrorsTest, ArraysNestedTooDeep) {
  gguf_test::Val v = Arr(GgufType::kUint8, {});
  for (int level = 1; level <= kGgufMaxArrayDepth; ++level) v = Arr(GgufType::kArray, {v});
  ExpectInvalid(
      GgufBuilder().Add("deep", v).Build(),
      "metadata 'deep'[0][0][0][0][0][0][0][0]: array: arrays nested deeper than 8 levels");
}

TEST(GgufErrorsTest, HundredThousandNestedArraysDoNotOverflowTheStack) {
  // Only array headers: element type "array", one element, down to the end.
  std::string nest;
  for (int i = 0; i < 100000; ++i) nest += std::string("\x09\0\0\0\x01\0\0\0\0\0\0\0", 12);
  GgufLayout l;
  std::string bytes = GgufBuilder().Add("deep", Str("")).Build(&l);
  bytes.resize(l.kvs[0].type);
  bytes += std::string("\x09\0\0\0", 4) + nest;
  ExpectInvalid(bytes, "arrays nested deeper than 8 levels");
}

TEST(GgufErrorsTest, AbsurdCounts) {
  GgufLayout l;
  const std::string good = SmallModel().Build(&l);
  std::string bytes = good;
  PatchU64(&bytes, GgufLayout::kKvCount, 1ull << 40);
  ExpectDataLoss(bytes, "header: kv_count: 1099511627776 entries cannot fit in the");
  bytes = good;
  PatchU64(&bytes, GgufLayout::kTensorCount, k2Pow63);
  ExpectDataLoss(bytes, "header: tensor_count: 9223372036854775808 tensor infos cannot fit");
  bytes = good;
  PatchU64(&bytes, GgufLayout::kKvCount, ~0ull);
  ExpectDataLoss(bytes, "cannot fit");
}

TEST(GgufErrorsTest, UnknownValueTypes) {
  GgufLayout l;
  const std::string good = SmallModel().Build(&l);
  std::string bytes = good;
  PatchU32(&bytes, l.kvs[1].type, 13);
  ExpectInvalid(bytes, "metadata 'llama.embedding_length': value type: unknown value type 13");
  bytes = good;
  PatchU32(&bytes, l.kvs[3].value, 0xffffffffu);
  ExpectInvalid(bytes, "array element type: unknown value type 4294967295");
}

TEST(GgufErrorsTest, BoolOtherThanZeroOrOne) {
  GgufLayout l;
  std::string bytes = SmallModel().Build(&l);
  bytes[l.kvs[5].value] = 2;
  ExpectInvalid(bytes, "metadata 'flag': value: bool value 2 is not 0 or 1");
  std::string arr =
      GgufBuilder().Add("bools", Arr(GgufType::kBool, {Bool(true), Bool(false)})).Build(&l);
  arr[l.kvs[0].value + 13] = 7;
  ExpectInvalid(arr, "metadata 'bools'[1]: value: bool value 7 is not 0 or 1");
}

TEST(GgufErrorsTest, DuplicateAndEmptyKeys) {
  ExpectInvalid(
      SmallModel().Add("llama.embedding_length", U32(1)).Build(),
      "metadata 'llama.embedding_length': key: duplicate metadata key (first at entry #1)");
  ExpectInvalid(SmallModel().Add("", U32(1)).Build(), "metadata entry #6: key: empty key");
}

TEST(GgufErrorsTest, BadAlignment) {
  ExpectInvalid(SmallModel().Add("general.alignment", U32(3)).Build(),
                "metadata 'general.alignment': alignment 3 is not a power of two");
  ExpectInvalid(SmallModel().Add("general.alignment", U32(0)).Build(),
                "alignment 0 is not a power of two");
  ExpectInvalid(SmallModel().Add("general.alignment", Str("32")).Build(),
                "'general.alignment': expected an unsigned integer, got string");
  ExpectInvalid(SmallModel().Add("general.alignment", I32(-32)).Build(),
                "expected an unsigned integer, got i32 -32");
}

TEST(GgufErrorsTest, TensorOffsetOutOfRange) {
  GgufLayout l;
  const std::string good = SmallModel().Build(&l);
  std::string bytes = good;
  PatchU64(&bytes, l.tensors[1].offset, 1ull << 40);
  ExpectDataLoss(bytes,
                 "tensor 'output_norm.weight': data: 256 bytes at data offset 1099511627776 "
                 "extend past the end of the file");
  bytes = good;
  PatchU64(&bytes, l.tensors[2].offset, ~0ull - 31);  // aligned, and offset + bytes wraps around
  ExpectDataLoss(bytes,
                 "tensor 'blk.0.attn_q.weight': data: 2560 bytes at data offset "
                 "18446744073709551584 extend past the end of the file");
}

TEST(GgufErrorsTest, OverlappingTensors) {
  GgufLayout l;
  std::string bytes = SmallModel().Build(&l);
  PatchU64(&bytes, l.tensors[2].offset, 128);  // inside token_embd.weight (136 bytes)
  ExpectInvalid(bytes,
                "tensor 'blk.0.attn_q.weight': data: data [128, 2688) overlaps tensor "
                "'token_embd.weight' [0, 136)");
  PatchU64(&bytes, l.tensors[2].offset, 0);  // same start
  ExpectInvalid(bytes, "overlaps tensor");
}

TEST(GgufErrorsTest, MisalignedTensorOffset) {
  GgufLayout l;
  std::string bytes = SmallModel().Build(&l);
  PatchU64(&bytes, l.tensors[1].offset, 8);
  ExpectInvalid(bytes,
                "tensor 'output_norm.weight': offset: offset 8 is not a multiple of the "
                "alignment 32");
}

TEST(GgufErrorsTest, BadDims) {
  GgufLayout l;
  const std::string good = SmallModel().Build(&l);
  std::string bytes = good;
  PatchU64(&bytes, l.tensors[0].dims + 8, 1ull << 62);  // 64 * 2^62 elements
  ExpectInvalid(bytes, "tensor 'token_embd.weight': dims[1]: element count overflows 64 bits");
  bytes = good;
  PatchU64(&bytes, l.tensors[0].dims + 8, 0);
  ExpectInvalid(bytes, "dims[1]: dimension 0 is out of range (must be positive)");
  bytes = good;
  PatchU64(&bytes, l.tensors[0].dims, ~0ull);
  ExpectInvalid(bytes, "dims[0]: dimension -1 is out of range");
  bytes = good;
  PatchU32(&bytes, l.tensors[1].n_dims, 5);
  ExpectInvalid(bytes, "tensor 'output_norm.weight': n_dims: 5 is not in 1..4");
  bytes = good;
  PatchU32(&bytes, l.tensors[1].n_dims, 0);
  ExpectInvalid(bytes, "n_dims: 0 is not in 1..4");
  bytes = good;
  PatchU64(&bytes, l.tensors[0].dims, 48);
  ExpectInvalid(bytes,
                "tensor 'token_embd.weight': dims[0]: row length 48 is not a multiple of "
                "the Q8_0 block size 32");
}

TEST(GgufErrorsTest, UnknownTensorType) {
  GgufLayout l;
  std::string bytes = SmallModel().Build(&l);
  PatchU32(&bytes, l.tensors[1].type, 999);
  ExpectInvalid(bytes, "tensor 'output_norm.weight': type: unknown tensor type 999");
}

TEST(GgufErrorsTest, DuplicateAndEmptyTensorNames) {
  ExpectInvalid(SmallModel().AddTensor("output_norm.weight", {4}, DType::kF32).Build(),
                "tensor 'output_norm.weight': name: duplicate tensor name (first at tensor #1)");
  ExpectInvalid(SmallModel().AddTensor("", {4}, DType::kF32).Build(),
                "tensor #3: name: empty tensor name");
}

TEST(GgufErrorsTest, NotARegularFile) {
  absl::StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(::testing::TempDir());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(f.status().message(), HasSubstr("not a regular file"));
}

TEST(GgufErrorsTest, RandomCorruptionNeverCrashes) {
  const std::string good = SmallModel().Build();
  std::mt19937 rng(1234);
  int refused = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
    absl::StatusOr<GgufContents> c = ParseCopy(bytes);
    if (!c.ok()) {
      ++refused;
      ASSERT_THAT(std::string(c.status().message()), HasSubstr("copy.gguf: "));
    }
  }
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace llmw
