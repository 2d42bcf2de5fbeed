// Wire bytes → request message; a failure is traced to the field at fault by
// walking the bytes against the message's descriptor.
#include "worker/service/request_parsing.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "models/tokenizer/unicode.h"

namespace llmw {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::internal::WireFormatLite;
using ::google::protobuf::io::CodedInputStream;

// Deeper than any llmworker.v1 message; keeps hostile nesting bounded.
constexpr int kMaxDepth = 16;

bool IsValidUtf8(std::string_view s) {
  while (!s.empty()) {
    const int n = Utf8CharLength(s);
    if (n <= 0) return false;
    s.remove_prefix(n);
  }
  return true;
}

bool IsLengthDelimited(const FieldDescriptor& field) {
  return field.type() == FieldDescriptor::TYPE_STRING ||
         field.type() == FieldDescriptor::TYPE_BYTES ||
         field.type() == FieldDescriptor::TYPE_MESSAGE;
}

// The wire type `field` is written with; repeated scalars may also come packed.
bool WireTypeFits(const FieldDescriptor& field, WireFormatLite::WireType wire_type) {
  const auto expected =
      WireFormatLite::WireTypeForFieldType(static_cast<WireFormatLite::FieldType>(field.type()));
  if (wire_type == expected) return true;
  return field.is_repeated() && !IsLengthDelimited(field) &&
         wire_type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
}

// What is wrong with the first faulty field of `bytes` read as `type`, with
// its path under `prefix`; nullopt when the walk finds nothing wrong.
std::optional<std::string> FindFault(const Descriptor& type, std::string_view bytes,
                                     const std::string& prefix, int depth) {
  if (depth > kMaxDepth) return absl::StrCat(prefix, " is nested too deeply");
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  std::map<int, int> seen;  // field number → occurrences so far, for repeated indices
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      if (in.CurrentPosition() == static_cast<int>(bytes.size())) return std::nullopt;
      return absl::StrCat("malformed data after byte ", in.CurrentPosition(),
                          prefix.empty() ? "" : " of ", prefix);
    }
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    const WireFormatLite::WireType wire_type = WireFormatLite::GetTagWireType(tag);
    const FieldDescriptor* field = type.FindFieldByNumber(number);
    if (field == nullptr || !WireTypeFits(*field, wire_type)) {
      // Protobuf keeps both as unknown fields: skip them the same way.
      if (!WireFormatLite::SkipField(&in, tag)) {
        return absl::StrCat("field number ", number, prefix.empty() ? "" : " of ", prefix,
                            " is truncated or malformed");
      }
      continue;
    }
    std::string path = absl::StrCat(prefix, prefix.empty() ? "" : ".", field->name());
    if (field->is_repeated() && !field->is_map()) absl::StrAppend(&path, "[", seen[number]++, "]");
    if (wire_type != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&in, tag)) {
        return absl::StrCat(path, " is truncated or malformed");
      }
      continue;
    }
    uint32_t length = 0;
    std::string value;
    if (!in.ReadVarint32(&length) || !in.ReadString(&value, static_cast<int>(length))) {
      return absl::StrCat(path, " is truncated");
    }
    if (field->type() == FieldDescriptor::TYPE_STRING && !IsValidUtf8(value)) {
      return absl::StrCat(path, " is not valid UTF-8");
    }
    if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (auto fault = FindFault(*field->message_type(), value, path, depth + 1)) return fault;
    }
  }
}

}  // namespace

absl::Status ParseRequest(std::string_view bytes, google::protobuf::Message* message) {
  if (message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::OkStatus();
  }
  const Descriptor& type = *message->GetDescriptor();
  std::optional<std::string> fault = FindFault(type, bytes, "", 0);
  return absl::InvalidArgumentError(absl::StrCat("the request is not a valid ", type.full_name(),
                                                 ": ", fault.value_or("its bytes do not parse")));
}

}  // namespace llmw
