// GgufFile on valid files: every value type round-trips, typed getters convert
// or refuse, tensor views point at the right bytes.
#include "models/formats/gguf_file.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/formats/gguf_builder.h"

namespace llmw {
namespace {

using gguf_test::Arr;
using gguf_test::Bool;
using gguf_test::F32;
using gguf_test::F64;
using gguf_test::GgufBuilder;
using gguf_test::GgufLayout;
using gguf_test::I16;
using gguf_test::I32;
using gguf_test::I64;
using gguf_test::I8;
using gguf_test::Str;
using gguf_test::TempFile;
using gguf_test::U16;
using gguf_test::U32;
using gguf_test::U64;
using gguf_test::U8;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<GgufFile> OpenOrDie(const TempFile& file) {
  absl::StatusOr<std::unique_ptr<GgufFile>> f = GgufFile::Open(file.path());
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *std::move(f) : nullptr;
}

GgufBuilder AllScalars(uint32_t version) {
  GgufBuilder b;
  b.SetVersion(version)
      .Add("u8", U8(255))
      .Add("i8", I8(-128))
      .Add("u16", U16(65535))
      .Add("i16", I16(-32768))
      .Add("u32", U32(4294967295u))
      .Add("i32", I32(-2147483647 - 1))
      .Add("f32", F32(0.1f))
      .Add("bool", Bool(true))
      .Add("string", Str("smollm"))
      .Add("u64", U64(std::numeric_limits<uint64_t>::max()))
      .Add("i64", I64(std::numeric_limits<int64_t>::min()))
      .Add("f64", F64(1e-300))
      .Add("empty", Str(""))
      .Add("binary", Str(std::string("a\0b\xc4\xa0", 5)));
  return b;
}

class GgufVersionTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufVersionTest, EveryScalarTypeRoundTrips) {
  TempFile file(AllScalars(GetParam()).Build());
  std::unique_ptr<GgufFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->version(), GetParam());
  EXPECT_EQ(f->path(), file.path());
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_TRUE(f->tensors().empty());

  const auto type_of = [&](std::string_view key) { return f->Find(key)->type(); };
  EXPECT_EQ(type_of("u8"), GgufType::kUint8);
  EXPECT_EQ(type_of("i8"), GgufType::kInt8);
  EXPECT_EQ(type_of("u16"), GgufType::kUint16);
  EXPECT_EQ(type_of("i16"), GgufType::kInt16);
  EXPECT_EQ(type_of("u32"), GgufType::kUint32);
  EXPECT_EQ(type_of("i32"), GgufType::kInt32);
  EXPECT_EQ(type_of("f32"), GgufType::kFloat32);
  EXPECT_EQ(type_of("bool"), GgufType::kBool);
  EXPECT_EQ(type_of("string"), GgufType::kString);
  EXPECT_EQ(type_of("u64"), GgufType::kUint64);
  EXPECT_EQ(type_of("i64"), GgufType::kInt64);
  EXPECT_EQ(type_of("f64"), GgufType::kFloat64);

  EXPECT_EQ(*f->GetUint("u8"), 255u);
  EXPECT_EQ(*f->GetInt("i8"), -128);
  EXPECT_EQ(*f->GetUint("u16"), 65535u);
  EXPECT_EQ(*f->GetInt("i16"), -32768);
  EXPECT_EQ(*f->GetUint("u32"), 4294967295u);
  EXPECT_EQ(*f->GetInt("i32"), -2147483648LL);
  EXPECT_EQ(*f->GetFloat("f32"), static_cast<double>(0.1f));
  EXPECT_EQ(*f->GetBool("bool"), true);
  EXPECT_EQ(*f->GetString("string"), "smollm");
  EXPECT_EQ(*f->GetUint("u64"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(*f->GetInt("i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(*f->GetFloat("f64"), 1e-300);
  EXPECT_EQ(*f->GetString("empty"), "");
  EXPECT_EQ(*f->GetString("binary"), std::string_view("a\0b\xc4\xa0", 5));

  EXPECT_THAT(f->keys(), ElementsAre("u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
                                     "string", "u64", "i64", "f64", "empty", "binary"));
}

TEST_P(GgufVersionTest, ArraysAndNestedArraysRoundTrip) {
  GgufBuilder b;
  b.SetVersion(GetParam())
      .Add("tokens", Arr(GgufType::kString, {Str("<|endoftext|>"), Str("\xc4\xa0t"), Str("")}))
      .Add("types", Arr(GgufType::kInt32, {I32(1), I32(-3), I32(6)}))
      .Add("scores", Arr(GgufType::kFloat32, {F32(-1.5f), F32(0.25f)}))
      .Add("doubles", Arr(GgufType::kFloat64, {F64(2.5), F64(-0.125)}))
      .Add("u8s", Arr(GgufType::kUint8, {U8(0), U8(255)}))
      .Add("i8s", Arr(GgufType::kInt8, {I8(-1)}))
      .Add("u16s", Arr(GgufType::kUint16, {U16(7)}))
      .Add("i16s", Arr(GgufType::kInt16, {I16(-7)}))
      .Add("u32s", Arr(GgufType::kUint32, {U32(9)}))
      .Add("u64s", Arr(GgufType::kUint64, {U64(1ull << 40)}))
      .Add("i64s", Arr(GgufType::kInt64, {I64(-(1ll << 40))}))
      .Add("bools", Arr(GgufType::kBool, {Bool(true), Bool(false)}))
      .Add("empty", Arr(GgufType::kUint32, {}))
      .Add("nested",
           Arr(GgufType::kArray,
               {Arr(GgufType::kUint8, {U8(1), U8(2)}), Arr(GgufType::kString, {Str("x")}),
                Arr(GgufType::kArray, {Arr(GgufType::kInt32, {})}), Arr(GgufType::kBool, {})}));
  TempFile file(b.Build());
  std::unique_ptr<GgufFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);

  EXPECT_THAT(*f->GetStringArray("tokens"), ElementsAre("<|endoftext|>", "\xc4\xa0t", ""));
  EXPECT_THAT(*f->GetIntArray("types"), ElementsAre(1, -3, 6));
  EXPECT_THAT(*f->GetFloatArray("scores"), ElementsAre(-1.5f, 0.25f));
  EXPECT_THAT(*f->GetFloatArray("doubles"), ElementsAre(2.5f, -0.125f));
  EXPECT_THAT(*f->GetIntArray("u8s"), ElementsAre(0, 255));
  EXPECT_THAT(*f->GetIntArray("i8s"), ElementsAre(-1));
  EXPECT_THAT(*f->GetIntArray("u16s"), ElementsAre(7));
  EXPECT_THAT(*f->GetIntArray("i16s"), ElementsAre(-7));
  EXPECT_THAT(*f->GetIntArray("u32s"), ElementsAre(9));
  EXPECT_THAT(*f->GetIntArray("u64s"), ElementsAre(1ll << 40));
  EXPECT_THAT(*f->GetIntArray("i64s"), ElementsAre(-(1ll << 40)));
  EXPECT_TRUE(f->GetIntArray("empty")->empty());

  const GgufArray* bools = f->Find("bools")->AsArray();
  ASSERT_NE(bools, nullptr);
  EXPECT_EQ(bools->elem_type, GgufType::kBool);
  EXPECT_EQ(bools->ScalarAt(0).AsBool(), true);
  EXPECT_EQ(bools->ScalarAt(1).AsBool(), false);

  const GgufArray* nested = f->Find("nested")->AsArray();
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->elem_type, GgufType::kArray);
  ASSERT_EQ(nested->size, 4u);
  const GgufArray& first = *nested->arrays[0].AsArray();
  EXPECT_EQ(first.elem_type, GgufType::kUint8);
  EXPECT_EQ(first.ScalarAt(1).AsUint(), 2u);
  EXPECT_THAT(nested->arrays[1].AsArray()->strings, ElementsAre("x"));
  const GgufArray& deeper = *nested->arrays[2].AsArray();
  ASSERT_EQ(deeper.size, 1u);
  EXPECT_EQ(deeper.arrays[0].AsArray()->size, 0u);
  EXPECT_EQ(nested->arrays[3].AsArray()->elem_type, GgufType::kBool);
  EXPECT_EQ(GgufValueToString(*f->Find("nested"), 10), R"([[1, 2], ["x"], [[]], []])");
}

INSTANTIATE_TEST_SUITE_P(V2AndV3, GgufVersionTest, ::testing::Values(2u, 3u));

TEST(GgufFileTest, EightLevelsOfArraysAreAccepted) {
  gguf_test::Val v = Arr(GgufType::kUint8, {U8(42)});
  for (int level = 1; level < kGgufMaxArrayDepth; ++level) v = Arr(GgufType::kArray, {v});
  TempFile file(GgufBuilder().Add("deep", v).Build());
  std::unique_ptr<GgufFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(GgufValueToString(*f->Find("deep"), 4), "[[[[[[[[42]]]]]]]]");
}

TEST(GgufFileTest, TypedGettersConvertOrNameTheMismatch) {
  TempFile file(AllScalars(3)
                    .Add("positive_i32", I32(576))
                    .Add("tokens", Arr(GgufType::kString, {Str("a")}))
                    .Build());
  std::unique_ptr<GgufFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);

  EXPECT_EQ(*f->GetUint("positive_i32"), 576u);
  EXPECT_EQ(*f->GetInt("u32"), 4294967295LL);
  EXPECT_EQ(f->Find("absent"), nullptr);

  absl::StatusOr<uint64_t> missing = f->GetUint("absent");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(file.path()));
  EXPECT_THAT(missing.status().message(), HasSubstr("'absent'"));

  const auto expect_wrong = [&](const absl::Status& s, std::string_view what) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(s.message(), HasSubstr(file.path()));
    EXPECT_THAT(s.message(), HasSubstr(std::string(what)));
  };
  expect_wrong(f->GetUint("i8").status(), "'i8': expected a non-negative integer, got i8 -128");
  expect_wrong(f->GetInt("u64").status(),
               "'u64': expected an integer within int64, got u64 18446744073709551615");
  expect_wrong(f->GetString("u32").status(), "'u32': expected string, got u32 4294967295");
  expect_wrong(f->GetFloat("i32").status(), "expected f32 or f64, got i32");
  expect_wrong(f->GetBool("u8").status(), "expected bool, got u8 255");
  expect_wrong(f->GetUint("bool").status(), "got bool true");
  expect_wrong(f->GetBool("tokens").status(), "expected bool, got array<string>[1]");
  expect_wrong(f->GetStringArray("string").status(), "expected array<string>, got string");
  expect_wrong(f->GetIntArray("tokens").status(), "got array<string>[1]");
  expect_wrong(f->GetFloatArray("tokens").status(), "expected array<f32> or array<f64>");

  EXPECT_EQ(*f->GetUintOr("absent", 7), 7u);
  EXPECT_EQ(*f->GetUintOr("u16", 7), 65535u);
  EXPECT_EQ(*f->GetFloatOr("absent", 1e-5), 1e-5);
  EXPECT_EQ(*f->GetBoolOr("absent", true), true);
  EXPECT_EQ(f->GetUintOr("string", 7).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(f->GetFloatOr("string", 1.0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(f->GetBoolOr("string", false).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GgufFileTest, IntArrayRefusesValuesBeyondInt64) {
  TempFile file(GgufBuilder().Add("big", Arr(GgufType::kUint64, {U64(1), U64(~0ull)})).Build());
  std::unique_ptr<GgufFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);
  absl::Status s = f->GetIntArray("big").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'big'[1]: value exceeds int64"));
}

TEST(GgufFileTest, ValueToStringShowsAtMostMaxElems) {
  TempFile file(GgufBuilder()
                    .Add("tokens", Arr(GgufType::kString, {Str("a\"b"), Str("\n"), Str("c")}))
                    .Add("ints", Arr(GgufType::kInt16, {I16(-1), I16(2), I16(3), I16(4)}))
                    .Add("f", F32(0.5f))
                    .Add("b", Bool(false))
                    .Add("u8", U8(200))
                    .Add("ctl", Str(std::string("\x01\\", 2)))
                    .Build());
  std::unique_ptr<GgufFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(GgufValueToString(*f->Find("tokens"), 2), R"(["a\"b", "\n", ... 1 more])");
  EXPECT_EQ(GgufValueToString(*f->Find("ints"), 10), "[-1, 2, 3, 4]");
  EXPECT_EQ(GgufValueToString(*f->Find("ints"), 0), "[... 4 more]");
  EXPECT_EQ(GgufValueToString(*f->Find("f"), 1), "0.5");
  EXPECT_EQ(GgufValueToString(*f->Find("b"), 1), "false");
  EXPECT_EQ(GgufValueToString(*f->Find("u8"), 1), "200");
  EXPECT_EQ(GgufValueToString(*f->Find("ctl"), 1), R"("\x01\\")");
  EXPECT_EQ(GgufDescribe(*f->Find("tokens")), "array<string>[3]");
}

class GgufAlignmentTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufAlignmentTest, TensorViewsPointAtTheirBytes) {
  const uint32_t alignment = GetParam();
  const float weights[4] = {1.0f, -2.0f, 0.5f, 3.25f};
  GgufBuilder b;
  if (alignment != 32) b.SetAlignment(alignment);
  b.Add("general.architecture", Str("llama"))
      .AddTensor("norm.weight", {4}, DType::kF32,
                 std::string(reinterpret_cast<const char*>(weights), sizeof(weights)))
      .AddTensor("embd.weight", {64, 3}, DType::kQ8_0)
      .AddTensor("w.weight", {32, 2, 3}, DType::kQ4_1)
      .AddTensor("h.weight", {2, 1, 1, 5}, DType::kF16);
  GgufLayout layout;
  TempFile file(b.Build(&layout));
  std::unique_ptr<GgufFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);

  EXPECT_EQ(f->alignment(), alignment);
  EXPECT_EQ(f->data_offset(), layout.data_offset);
  EXPECT_EQ(f->data_offset() % alignment, 0u);
  ASSERT_EQ(f->tensors().size(), 4u);

  const Tensor norm = f->TensorView(f->tensors()[0]);
  EXPECT_EQ(norm.DebugString(), "F32[4]");
  EXPECT_EQ(norm.data_as<const float>()[3], 3.25f);

  const GgufTensorInfo* embd = f->FindTensor("embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_THAT(embd->dims, ElementsAre(64, 3));
  EXPECT_EQ(embd->type, DType::kQ8_0);
  EXPECT_EQ(embd->bytes, 3u * 2 * 34);
  EXPECT_EQ(embd->offset % alignment, 0u);
  const Tensor view = f->TensorView(*embd);
  EXPECT_EQ(view.DebugString(), "Q8_0[3, 64]");
  EXPECT_EQ(view.row_bytes(), 68);

  const Tensor w = f->TensorView(*f->FindTensor("w.weight"));
  EXPECT_EQ(w.DebugString(), "Q4_1[3, 2, 32]");
  EXPECT_EQ(f->TensorView(*f->FindTensor("h.weight")).DebugString(), "F16[5, 1, 1, 2]");
  EXPECT_EQ(f->FindTensor("absent"), nullptr);

  for (size_t t = 1; t < f->tensors().size(); ++t) {
    const GgufTensorInfo& info = f->tensors()[t];
    const auto* data = static_cast<const uint8_t*>(f->TensorView(info).data());
    EXPECT_EQ(f->data_offset() + info.offset, layout.tensors[t].data);
    for (size_t j = 0; j < info.bytes; ++j) {
      ASSERT_EQ(data[j], GgufBuilder::PatternByte(t, j)) << info.name << " byte " << j;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufAlignmentTest, ::testing::Values(32u, 1u, 8u, 64u, 4096u));

}  // namespace
}  // namespace llmw
