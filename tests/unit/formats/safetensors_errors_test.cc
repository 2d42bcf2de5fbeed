// SafetensorsFile on broken and hostile files: every one is refused with a
// status that names the file (and the tensor) and the problem; none crashes.
#include <cstring>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/formats/safetensors_file.h"
#include "models/formats/safetensors_parser.h"
#include "tests/unit/formats/gguf_builder.h"
#include "tests/unit/formats/safetensors_builder.h"

namespace llmw {
namespace {

using gguf_test::TempFile;
using safetensors_test::Assemble;
using safetensors_test::SafetensorsBuilder;
using ::testing::AllOf;
using ::testing::HasSubstr;

// One F32 tensor "w" of shape [2]; `entry` replaces its JSON entry.
std::string OneTensor(
    std::string_view entry = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})",
    size_t data_bytes = 8) {
  return Assemble(absl::StrCat("{\"w\":", std::string(entry), "}"), std::string(data_bytes, '\0'));
}

void ExpectError(const std::string& bytes, absl::StatusCode code, std::string_view phrase,
                 std::string_view tensor = "") {
  TempFile file(bytes, ".safetensors");
  absl::StatusOr<std::shared_ptr<SafetensorsFile>> f = SafetensorsFile::Open(file.path());
  ASSERT_FALSE(f.ok()) << "opened a broken file; expected: " << phrase;
  EXPECT_EQ(f.status().code(), code) << f.status();
  const std::string message(f.status().message());
  EXPECT_THAT(message, AllOf(HasSubstr(file.path() + ": "), HasSubstr(std::string(phrase))));
  if (!tensor.empty()) {
    EXPECT_THAT(message, HasSubstr(absl::StrCat("tensor \"", std::string(tensor), "\": ")));
  }
}

void ExpectInvalid(const std::string& bytes, std::string_view phrase,
                   std::string_view tensor = "") {
  ExpectError(bytes, absl::StatusCode::kInvalidArgument, phrase, tensor);
}

std::string WithLength(uint64_t n, std::string_view rest) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + std::string(rest);
}

TEST(SafetensorsErrorsTest, ValidBaseline) {
  TempFile file(OneTensor(), ".safetensors");
  EXPECT_TRUE(SafetensorsFile::Open(file.path()).ok());
}

TEST(SafetensorsErrorsTest, MissingFileAndDirectory) {
  const std::string path = ::testing::TempDir() + "llmw_no_such_file.safetensors";
  EXPECT_EQ(SafetensorsFile::Open(path).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::shared_ptr<SafetensorsFile>> dir =
      SafetensorsFile::Open(::testing::TempDir());
  EXPECT_THAT(dir.status().message(), HasSubstr("not a regular file"));
}

TEST(SafetensorsErrorsTest, ShorterThanTheLengthField) {
  ExpectError("", absl::StatusCode::kDataLoss, "file is 0 bytes, shorter than the 8-byte");
  ExpectError(std::string("\x02\0\0", 3), absl::StatusCode::kDataLoss, "file is 3 bytes");
}

TEST(SafetensorsErrorsTest, HeaderLength) {
  ExpectError(WithLength(100, "{}"), absl::StatusCode::kDataLoss,
              "header length 100 runs past the end of the file (2 bytes follow the length)");
  ExpectInvalid(WithLength(100'000'001, "{}"),
                "header length 100000001 exceeds the limit of 100000000 bytes");
  ExpectInvalid(WithLength(~0ull, "{}"), "header length 18446744073709551615 exceeds");
}

TEST(SafetensorsErrorsTest, HeaderNotJsonOrNotAnObject) {
  ExpectInvalid(Assemble(""), "header: not valid JSON");
  ExpectInvalid(Assemble("{\"w\": "), "header: not valid JSON");
  ExpectInvalid(Assemble("{} {}"), "header: not valid JSON");
  ExpectInvalid(Assemble(std::string("{}\0\0", 4)), "header: not valid JSON: NUL byte at offset 2");
  ExpectInvalid(Assemble(std::string("{\"a\0\": 1}", 9)), "not valid JSON: NUL byte at offset 3");
  ExpectInvalid(Assemble("{\"\xff\": 1}"), "header: not valid JSON");  // not UTF-8
  ExpectInvalid(Assemble("[1, 2]"), "header: not a JSON object but array");
  ExpectInvalid(Assemble("\"w\""), "header: not a JSON object but string");
}

TEST(SafetensorsErrorsTest, NestingIsBounded) {
  ExpectInvalid(Assemble(R"({"__metadata__": {"a": [[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}})"),
                "header: nested deeper than 16 levels");
  // A megabyte of brackets: refused early, without a megabyte-deep tree.
  ExpectInvalid(Assemble(std::string(1 << 20, '[')), "nested deeper than 16 levels");
}

TEST(SafetensorsErrorsTest, DuplicateKeys) {
  const std::string entry = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  ExpectInvalid(Assemble("{\"w\":" + entry + ",\"w\":" + entry + "}", std::string(4, '\0')),
                "header: duplicate key \"w\"");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":[2],"dtype":"F16","data_offsets":[0,8]})"),
                "header: duplicate key \"dtype\" in \"w\"");
  ExpectInvalid(Assemble(R"({"__metadata__":{"a":"1","a":"2"}})"),
                "duplicate key \"a\" in \"__metadata__\"");
  ExpectInvalid(Assemble(R"({"__metadata__":{},"__metadata__":{}})"),
                "duplicate key \"__metadata__\"");
}

TEST(SafetensorsErrorsTest, Metadata) {
  ExpectInvalid(Assemble(R"({"__metadata__": ["a"]})"),
                "__metadata__ is a JSON array, not an object of strings");
  ExpectInvalid(Assemble(R"({"__metadata__": {"format": "pt", "n": 1}})"),
                "__metadata__ \"n\" is a JSON number, not a string");
  ExpectInvalid(Assemble(R"({"__metadata__": {"m": {}}})"), "__metadata__ \"m\" is a JSON object");
}

TEST(SafetensorsErrorsTest, EntryShape) {
  ExpectInvalid(OneTensor("5"), "entry is a JSON number, not an object", "w");
  ExpectInvalid(OneTensor("[]"), "entry is a JSON array, not an object", "w");
  ExpectInvalid(OneTensor(R"({"shape":[2],"data_offsets":[0,8]})"), "missing \"dtype\"", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","data_offsets":[0,8]})"), "missing \"shape\"", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":[2]})"), "missing \"data_offsets\"", "w");
}

TEST(SafetensorsErrorsTest, Dtype) {
  ExpectInvalid(OneTensor(R"({"dtype":32,"shape":[2],"data_offsets":[0,8]})"),
                "\"dtype\" is a JSON number, not a string", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F128","shape":[2],"data_offsets":[0,8]})"),
                "unknown dtype \"F128\"", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"f32","shape":[2],"data_offsets":[0,8]})"),
                "unknown dtype \"f32\"", "w");
}

TEST(SafetensorsErrorsTest, Shape) {
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":2,"data_offsets":[0,8]})"),
                "\"shape\" is a JSON number, not an array", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]})"),
                "\"shape\"[1] is negative (-1)", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})"),
                "\"shape\"[0] is not a non-negative integer", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":["2"],"data_offsets":[0,8]})"),
                "\"shape\"[0] is not a non-negative integer", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":[null],"data_offsets":[0,8]})"),
                "\"shape\"[0] is not a non-negative integer", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]})"),
                "\"shape\"[0] = 9223372036854775808 is too large", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]})"),
                "\"shape\"[0] is not a non-negative integer", "w");  // beyond uint64: a double
  ExpectInvalid(
      OneTensor(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})"),
      "shape [4294967296, 4294967296] has more elements than an int64 holds", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]})"),
                "of F64 has more bytes than fit in 64 bits", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F4","shape":[3],"data_offsets":[0,2]})"),
                "3 elements of F4 do not fill whole bytes", "w");
}

TEST(SafetensorsErrorsTest, DataOffsets) {
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":[2],"data_offsets":"0-8"})"),
                "\"data_offsets\" is a JSON string, not an array", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":[2],"data_offsets":[8]})"),
                "\"data_offsets\" has 1 elements, not 2", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8,8]})"),
                "\"data_offsets\" has 3 elements, not 2", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":[2],"data_offsets":[-8,0]})"),
                "\"data_offsets\"[0] is negative (-8)", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":[0],"data_offsets":[8,0]})"),
                "data_offsets [8, 0]: end is before begin", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})", 4),
                "data_offsets [0, 4] hold 4 bytes, but shape [2] of F32 needs 8", "w");
  ExpectInvalid(OneTensor(R"({"dtype":"BF16","shape":[2],"data_offsets":[0,8]})"),
                "hold 8 bytes, but shape [2] of BF16 needs 4", "w");
  ExpectError(OneTensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})", 4),
              absl::StatusCode::kDataLoss,
              "data_offsets [0, 8] run past the end of the data section (4 bytes)", "w");
  ExpectError(OneTensor(R"({"dtype":"F32","shape":[2],)"
                        R"("data_offsets":[18446744073709551615,18446744073709551623]})"),
              absl::StatusCode::kInvalidArgument, "\"data_offsets\"[1] is not a non-negative");
}

TEST(SafetensorsErrorsTest, RangesMustTileTheDataSection) {
  const auto two = [](std::string_view a, std::string_view b, size_t data) {
    return Assemble(absl::StrCat(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":)",
                                 std::string(a), R"(},"b":{"dtype":"F32","shape":[2],)",
                                 R"("data_offsets":)", std::string(b), "}}"),
                    std::string(data, '\0'));
  };
  ExpectInvalid(two("[0,8]", "[4,12]", 12), "bytes [4, 12) overlap tensor \"a\" [0, 8)", "b");
  ExpectInvalid(two("[0,8]", "[0,8]", 8), "bytes [0, 8) overlap tensor", "b");
  ExpectInvalid(two("[0,8]", "[12,20]", 20), "data section bytes [8, 12) belong to no tensor");
  ExpectInvalid(two("[4,12]", "[12,20]", 20), "data section bytes [0, 4) belong to no tensor");
  ExpectInvalid(two("[0,8]", "[8,16]", 17), "data section bytes [16, 17) belong to no tensor");
  ExpectInvalid(Assemble("{}", "x"), "data section bytes [0, 1) belong to no tensor");
  // An empty tensor inside another's bytes.
  ExpectInvalid(Assemble(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                         std::string(8, '\0')),
                "bytes [4, 4) overlap tensor \"a\"", "e");
}

// A valid file with metadata and tensors of every supported dtype.
std::string SmallFile() {
  return SafetensorsBuilder()
      .AddMetadata("format", "pt")
      .AddF32("model.embed_tokens.weight", {3, 4}, std::vector<float>(12, 0.5f))
      .AddF16("model.norm.weight", {4}, {1, 2, 3, 4})
      .AddBF16("lm_head.weight", {2, 4}, std::vector<float>(8, -1.0f))
      .Add("position_ids", "I64", {1, 2}, std::string(16, '\0'))
      .Build();
}

absl::Status Parse(std::string_view bytes) {
  return ParseSafetensors({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, "mem")
      .status();
}

TEST(SafetensorsErrorsTest, EveryPrefixIsTruncated) {
  const std::string full = SmallFile();
  ASSERT_TRUE(Parse(full).ok()) << Parse(full);
  for (size_t n = 0; n < full.size(); ++n) {
    const absl::Status s = Parse(std::string_view(full).substr(0, n));
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "prefix of " << n << " bytes: " << s;
  }
}

TEST(SafetensorsErrorsTest, RandomCorruptionsNeverCrash) {
  const std::string full = SmallFile();
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, full.data(), 8);
  std::mt19937 rng(20251201);
  // Bytes that change the JSON's structure more often than random ones do.
  const std::string structural = "{}[]\",:-.0123456789eE \\";
  int opened = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string bytes = full;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      // Mostly the header, where parsing happens; sometimes the length or the data.
      const size_t pos = rng() % 8 != 0 ? 8 + rng() % header_bytes : rng() % bytes.size();
      bytes[pos] = rng() % 2 ? structural[rng() % structural.size()] : static_cast<char>(rng());
    }
    const std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size());
    absl::StatusOr<SafetensorsContents> c = ParseSafetensors(span, "mem");
    if (!c.ok()) {
      EXPECT_THAT(c.status().message(), HasSubstr("mem: "));
      continue;
    }
    ++opened;
    for (const SafetensorsTensor& t : c->tensors) {
      EXPECT_LE(c->data_offset + t.end, bytes.size()) << t.name;
    }
  }
  EXPECT_GT(opened, 0);  // some edits land in names, values or padding
  EXPECT_LT(opened, 4000);
}

}  // namespace
}  // namespace llmw
