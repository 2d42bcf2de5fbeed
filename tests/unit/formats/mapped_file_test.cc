// MappedFile: maps whole files read-only, moves ownership, reports errors.
#include "models/formats/mapped_file.h"

#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/formats/gguf_builder.h"

namespace llmw {
namespace {

using gguf_test::TempFile;
using ::testing::HasSubstr;

TEST(MappedFileTest, MapsTheWholeFile) {
  TempFile file("hello, mapping", ".bin");
  absl::StatusOr<MappedFile> m = MappedFile::Open(file.path());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->path(), file.path());
  ASSERT_EQ(m->size(), 14u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()), m->size()), "hello, mapping");
}

TEST(MappedFileTest, EmptyFileIsAnEmptySpan) {
  TempFile file("", ".bin");
  absl::StatusOr<MappedFile> m = MappedFile::Open(file.path());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->size(), 0u);
  EXPECT_TRUE(m->bytes().empty());
}

TEST(MappedFileTest, MoveTransfersTheMapping) {
  TempFile file("abc", ".bin");
  absl::StatusOr<MappedFile> m = MappedFile::Open(file.path());
  ASSERT_TRUE(m.ok()) << m.status();
  const uint8_t* data = m->data();
  MappedFile moved = *std::move(m);
  EXPECT_EQ(moved.data(), data);
  EXPECT_EQ(moved.size(), 3u);

  TempFile other("xyzw", ".bin2");
  absl::StatusOr<MappedFile> m2 = MappedFile::Open(other.path());
  ASSERT_TRUE(m2.ok()) << m2.status();
  moved = *std::move(m2);  // unmaps "abc"
  EXPECT_EQ(moved.size(), 4u);
  EXPECT_EQ(moved.data()[3], 'w');
  EXPECT_EQ(moved.path(), other.path());
}

TEST(MappedFileTest, MissingFileIsNotFound) {
  const std::string path = ::testing::TempDir() + "llmw_missing_file.bin";
  absl::StatusOr<MappedFile> m = MappedFile::Open(path);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(m.status().message(), HasSubstr(path));
  EXPECT_THAT(m.status().message(), HasSubstr("No such file or directory"));
}

TEST(MappedFileTest, DirectoryIsRefused) {
  absl::StatusOr<MappedFile> m = MappedFile::Open(::testing::TempDir());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("not a regular file"));
}

}  // namespace
}  // namespace llmw
