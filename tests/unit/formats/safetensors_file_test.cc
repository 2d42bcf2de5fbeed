// SafetensorsFile on valid files: values of every supported dtype, metadata,
// layouts the reference writer does not produce but the format allows, and
// the dtypes and ranks that open but cannot become a Tensor.
#include "models/formats/safetensors_file.h"

#include <cmath>
#include <cstring>
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernels/fp16.h"
#include "tests/unit/formats/gguf_builder.h"
#include "tests/unit/formats/safetensors_builder.h"

namespace llmw {
namespace {

using gguf_test::TempFile;
using safetensors_test::Assemble;
using safetensors_test::SafetensorsBuilder;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::shared_ptr<SafetensorsFile> OpenOrDie(const TempFile& file) {
  absl::StatusOr<std::shared_ptr<SafetensorsFile>> f = SafetensorsFile::Open(file.path());
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *std::move(f) : nullptr;
}

std::vector<int64_t> ShapeOf(const Tensor& t) {
  std::vector<int64_t> out;
  for (int i = 0; i < t.rank(); ++i) out.push_back(t.dim(i));
  return out;
}

template <float (*Convert)(uint16_t)>
std::vector<float> HalvesOf(const Tensor& t) {
  std::vector<float> out;
  for (int64_t i = 0; i < t.elems(); ++i) out.push_back(Convert(t.data_as<const uint16_t>()[i]));
  return out;
}

TEST(SafetensorsFileTest, ReadsF32F16Bf16) {
  SafetensorsBuilder b;
  b.AddMetadata("format", "pt")
      .AddMetadata("ünïcode", "välue")
      .AddF32("model.embed_tokens.weight", {2, 3}, {1.5f, -2.0f, 0.0f, 3.25f, -0.0f, 1e-30f})
      .AddF16("model.norm.weight", {4}, {1.0f, -0.5f, 65504.0f, 0.1f})
      .AddBF16("lm_head.weight", {2, 2}, {1.0f, -3.0f, 3.0e38f, 0.1f});
  TempFile file(b.Build(), ".safetensors");
  std::shared_ptr<SafetensorsFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->path(), file.path());
  EXPECT_EQ(f->data_offset() % 8, 0u);
  EXPECT_THAT(f->metadata(), ElementsAre(Pair("format", "pt"), Pair("ünïcode", "välue")));
  ASSERT_EQ(f->tensors().size(), 3u);
  EXPECT_EQ(f->tensors()[0].name, "model.embed_tokens.weight");  // data order
  EXPECT_EQ(f->tensors()[2].name, "lm_head.weight");

  const SafetensorsTensor* info = f->FindTensor("model.embed_tokens.weight");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->dtype_name, "F32");
  EXPECT_EQ(info->type, DType::kF32);
  EXPECT_THAT(info->shape, ElementsAre(2, 3));
  EXPECT_EQ(info->begin, 0u);
  EXPECT_EQ(info->bytes(), 24u);

  absl::StatusOr<Tensor> embd = f->GetTensor("model.embed_tokens.weight");
  ASSERT_TRUE(embd.ok()) << embd.status();
  EXPECT_EQ(embd->dtype(), DType::kF32);
  EXPECT_EQ(embd->device(), Device::kCpu);
  EXPECT_THAT(ShapeOf(*embd), ElementsAre(2, 3));
  const float* e = embd->data_as<const float>();
  EXPECT_THAT(std::vector<float>(e, e + 6), ElementsAre(1.5f, -2.0f, 0.0f, 3.25f, -0.0f, 1e-30f));
  EXPECT_TRUE(std::signbit(e[4]));
  EXPECT_EQ(embd->row(1), reinterpret_cast<const uint8_t*>(e + 3));

  absl::StatusOr<Tensor> norm = f->GetTensor("model.norm.weight");
  ASSERT_TRUE(norm.ok()) << norm.status();
  EXPECT_EQ(norm->dtype(), DType::kF16);
  EXPECT_THAT(HalvesOf<Fp16ToFp32>(*norm),
              ElementsAre(1.0f, -0.5f, 65504.0f, Fp16ToFp32(Fp32ToFp16(0.1f))));

  absl::StatusOr<Tensor> head = f->GetTensor("lm_head.weight");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->dtype(), DType::kBF16);
  EXPECT_THAT(ShapeOf(*head), ElementsAre(2, 2));
  EXPECT_THAT(HalvesOf<Bf16ToFp32>(*head), ElementsAre(1.0f, -3.0f, Bf16ToFp32(Fp32ToBf16(3.0e38f)),
                                                       Bf16ToFp32(Fp32ToBf16(0.1f))));
}

TEST(SafetensorsFileTest, ViewsPointIntoTheMapping) {
  TempFile file(SafetensorsBuilder().AddF32("a", {1}, {1.0f}).AddF32("b", {2}, {2, 3}).Build(),
                ".safetensors");
  std::shared_ptr<SafetensorsFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);
  absl::StatusOr<Tensor> a = f->GetTensor("a");
  absl::StatusOr<Tensor> b = f->GetTensor("b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(static_cast<uint8_t*>(b->data()) - static_cast<uint8_t*>(a->data()), 4);
  EXPECT_EQ(f->RawBytes(*f->FindTensor("b")).data(), b->data());
}

TEST(SafetensorsFileTest, ScalarsAndEmptyTensors) {
  SafetensorsBuilder b;
  b.AddF32("scalar", {}, {7.0f}).AddF32("empty", {0, 4}, {}).AddF16("none", {3, 0}, {});
  TempFile file(b.Build(), ".safetensors");
  std::shared_ptr<SafetensorsFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);
  absl::StatusOr<Tensor> scalar = f->GetTensor("scalar");
  ASSERT_TRUE(scalar.ok()) << scalar.status();
  EXPECT_EQ(scalar->rank(), 0);
  EXPECT_EQ(scalar->elems(), 1);
  EXPECT_EQ(*scalar->data_as<const float>(), 7.0f);
  absl::StatusOr<Tensor> empty = f->GetTensor("empty");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_THAT(ShapeOf(*empty), ElementsAre(0, 4));
  EXPECT_EQ(empty->elems(), 0);
  EXPECT_EQ(f->FindTensor("none")->bytes(), 0u);
}

TEST(SafetensorsFileTest, NoTensors) {
  for (std::string_view header : {"{}", "{\"__metadata__\": {}}", " \n{ }\t  "}) {
    TempFile file(Assemble(header), ".safetensors");
    std::shared_ptr<SafetensorsFile> f = OpenOrDie(file);
    ASSERT_NE(f, nullptr) << header;
    EXPECT_TRUE(f->tensors().empty());
    EXPECT_TRUE(f->metadata().empty());
  }
}

TEST(SafetensorsFileTest, HandWrittenHeaderWithPaddingAndUnknownFields) {
  const std::string header =
      R"({"b": {"shape": [1], "data_offsets": [4, 8], "dtype": "F32", "extra": [1, {}]},)"
      R"( "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}       )";
  float data[2] = {1.0f, 2.0f};
  TempFile file(Assemble(header, std::string_view(reinterpret_cast<char*>(data), 8)),
                ".safetensors");
  std::shared_ptr<SafetensorsFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->data_offset(), 8 + header.size());
  EXPECT_EQ(f->tensors()[0].name, "a");
  absl::StatusOr<Tensor> b = f->GetTensor("b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*b->data_as<const float>(), 2.0f);
}

TEST(SafetensorsFileTest, MisalignedTensorsAreCopiedAligned) {
  // A 45-byte header puts the data section at an odd offset: every tensor is
  // misaligned, except the U8 one, which needs no alignment.
  const std::string header = R"({"f":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("h":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]},)"
                             R"("u":{"dtype":"U8","shape":[1],"data_offsets":[10,11]}})";
  ASSERT_EQ((8 + header.size()) % 2, 1u);
  std::string data(11, '\0');
  const float f[2] = {1.5f, -2.5f};
  const uint16_t h = Fp32ToBf16(3.0f);
  std::memcpy(data.data(), f, 8);
  std::memcpy(data.data() + 8, &h, 2);
  TempFile file(Assemble(header, data), ".safetensors");
  std::shared_ptr<SafetensorsFile> st = OpenOrDie(file);
  ASSERT_NE(st, nullptr);
  for (const char* name : {"f", "h"}) {
    SCOPED_TRACE(name);
    absl::StatusOr<Tensor> t = st->GetTensor(name);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data()) % 4, 0u);
    EXPECT_NE(t->data(), st->RawBytes(*st->FindTensor(name)).data());
  }
  EXPECT_THAT(std::vector<float>(st->GetTensor("f")->data_as<const float>(),
                                 st->GetTensor("f")->data_as<const float>() + 2),
              ElementsAre(1.5f, -2.5f));
  EXPECT_THAT(HalvesOf<Bf16ToFp32>(*st->GetTensor("h")), ElementsAre(3.0f));
  EXPECT_EQ(st->RawBytes(*st->FindTensor("u")).size(), 1u);
}

TEST(SafetensorsFileTest, OtherDtypesOpenButAreNotTensors) {
  SafetensorsBuilder b;
  b.Add("ids", "I64", {1, 3}, std::string(24, '\1'))
      .Add("f64", "F64", {2}, std::string(16, '\0'))
      .Add("mask", "BOOL", {3}, std::string(3, '\1'))
      .Add("u8", "U8", {5}, std::string(5, '\0'))
      .Add("fp8", "F8_E4M3", {2, 2}, std::string(4, '\0'))
      .Add("fp4", "F4", {2, 3}, std::string(3, '\0'))
      .Add("fp6", "F6_E2M3", {4}, std::string(3, '\0'));
  TempFile file(b.Build(), ".safetensors");
  std::shared_ptr<SafetensorsFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->tensors().size(), 7u);
  for (const SafetensorsTensor& t : f->tensors()) {
    EXPECT_FALSE(t.type.has_value()) << t.name;
    absl::StatusOr<Tensor> view = f->GetTensor(t.name);
    EXPECT_EQ(view.status().code(), absl::StatusCode::kUnimplemented) << t.name;
    EXPECT_THAT(std::string(view.status().message()),
                AllOf(HasSubstr(file.path()), HasSubstr("\"" + t.name + "\""),
                      HasSubstr("dtype " + t.dtype_name + " is not supported")));
  }
  EXPECT_EQ(f->RawBytes(*f->FindTensor("ids")).size(), 24u);
}

TEST(SafetensorsFileTest, TooManyDimensionsForATensor) {
  TempFile file(SafetensorsBuilder().AddF32("w", {1, 1, 1, 1, 2}, {1, 2}).Build(), ".safetensors");
  std::shared_ptr<SafetensorsFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);
  absl::StatusOr<Tensor> w = f->GetTensor("w");
  EXPECT_EQ(w.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(w.status().message(), HasSubstr("5 dimensions; at most 4"));
}

TEST(SafetensorsFileTest, AbsentTensor) {
  TempFile file(SafetensorsBuilder().AddF32("w", {1}, {1}).Build(), ".safetensors");
  std::shared_ptr<SafetensorsFile> f = OpenOrDie(file);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->FindTensor("v"), nullptr);
  absl::StatusOr<Tensor> v = f->GetTensor("v");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(v.status().message()),
              AllOf(HasSubstr(file.path()), HasSubstr("no tensor named \"v\"")));
}

}  // namespace
}  // namespace llmw
