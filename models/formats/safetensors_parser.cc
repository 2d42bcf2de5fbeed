// ParseSafetensors: the header length, the JSON header checked field by field,
// then the tensors' byte ranges checked against each other and the data section.
#include "models/formats/safetensors_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kernels/status_macros.h"
#include "models/formats/strict_json.h"

namespace llmw {
namespace {

using Json = nlohmann::json;

struct DTypeInfo {
  const char* name;
  uint64_t bits;
  std::optional<DType> type;
};

// Every dtype the format defines, with its size in bits.
constexpr DTypeInfo kDTypes[] = {
    {"BOOL", 8, std::nullopt},        {"U8", 8, std::nullopt},
    {"I8", 8, std::nullopt},          {"F8_E5M2", 8, std::nullopt},
    {"F8_E4M3", 8, std::nullopt},     {"F8_E8M0", 8, std::nullopt},
    {"F8_E4M3FNUZ", 8, std::nullopt}, {"F8_E5M2FNUZ", 8, std::nullopt},
    {"I16", 16, std::nullopt},        {"U16", 16, std::nullopt},
    {"F16", 16, DType::kF16},         {"BF16", 16, DType::kBF16},
    {"I32", 32, std::nullopt},        {"U32", 32, std::nullopt},
    {"F32", 32, DType::kF32},         {"C64", 64, std::nullopt},
    {"F64", 64, std::nullopt},        {"I64", 64, std::nullopt},
    {"U64", 64, std::nullopt},        {"F4", 4, std::nullopt},
    {"F6_E2M3", 6, std::nullopt},     {"F6_E3M2", 6, std::nullopt},
};

const DTypeInfo* FindDType(std::string_view name) {
  for (const DTypeInfo& d : kDTypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, std::string_view path) : bytes_(bytes), path_(path) {}

  absl::StatusOr<SafetensorsContents> Parse() {
    ASSIGN_OR_RETURN(std::string_view header, ReadHeader());
    ASSIGN_OR_RETURN(Json root, ParseStrictJsonObject(header, absl::StrCat(path_, ": header")));
    for (const auto& [key, value] : root.get_ref<const Json::object_t&>()) {
      if (key == "__metadata__") {
        RETURN_IF_ERROR(ParseMetadata(value));
      } else {
        RETURN_IF_ERROR(ParseTensor(key, value));
      }
    }
    RETURN_IF_ERROR(CheckCoverage());
    return std::move(out_);
  }

 private:
  // "<path>: [tensor "<name>": ]<problem>"
  std::string Message(const std::string* tensor, std::string_view problem) const {
    return absl::StrCat(path_, ": ", tensor ? absl::StrCat("tensor \"", *tensor, "\": ") : "",
                        std::string(problem));
  }
  absl::Status Invalid(std::string_view problem, const std::string* tensor = nullptr) const {
    return absl::InvalidArgumentError(Message(tensor, problem));
  }
  absl::Status DataLoss(std::string_view problem, const std::string* tensor = nullptr) const {
    return absl::DataLossError(Message(tensor, problem));
  }

  absl::StatusOr<std::string_view> ReadHeader() {
    const size_t size = bytes_.size();
    if (size < 8) {
      return DataLoss(
          absl::StrCat("file is ", size, " bytes, shorter than the 8-byte header length"));
    }
    uint64_t n = 0;
    std::memcpy(&n, bytes_.data(), 8);  // little-endian host (see byte_reader.h)
    if (n > kSafetensorsMaxHeaderBytes) {
      return Invalid(absl::StrCat("header length ", n, " exceeds the limit of ",
                                  kSafetensorsMaxHeaderBytes, " bytes"));
    }
    if (n > size - 8) {
      return DataLoss(absl::StrCat("header length ", n, " runs past the end of the file (",
                                   size - 8, " bytes follow the length)"));
    }
    out_.data_offset = 8 + n;
    data_size_ = size - out_.data_offset;
    return std::string_view(reinterpret_cast<const char*>(bytes_.data()) + 8, n);
  }

  absl::Status ParseMetadata(const Json& value) {
    if (!value.is_object()) {
      return Invalid(
          absl::StrCat("__metadata__ is a JSON ", value.type_name(), ", not an object of strings"));
    }
    for (const auto& [key, v] : value.get_ref<const Json::object_t&>()) {
      if (!v.is_string()) {
        return Invalid(
            absl::StrCat("__metadata__ \"", key, "\" is a JSON ", v.type_name(), ", not a string"));
      }
      out_.metadata.emplace(key, v.get<std::string>());
    }
    return absl::OkStatus();
  }

  absl::StatusOr<const Json*> Field(const Json& entry, const char* key, const std::string& name) {
    const auto it = entry.find(key);
    if (it == entry.end()) return Invalid(absl::StrCat("missing \"", key, "\""), &name);
    return &*it;
  }

  // A JSON array of non-negative integers, each at most `max`.
  absl::StatusOr<std::vector<uint64_t>> Uints(const Json& entry, const char* key,
                                              const std::string& name, uint64_t max) {
    ASSIGN_OR_RETURN(const Json* field, Field(entry, key, name));
    if (!field->is_array()) {
      return Invalid(absl::StrCat("\"", key, "\" is a JSON ", field->type_name(), ", not an array"),
                     &name);
    }
    std::vector<uint64_t> out;
    for (const Json& v : *field) {
      const std::string where = absl::StrCat("\"", key, "\"[", out.size(), "]");
      if (v.is_number_integer() && !v.is_number_unsigned()) {
        return Invalid(absl::StrCat(where, " is negative (", v.get<int64_t>(), ")"), &name);
      }
      if (!v.is_number_unsigned()) {
        return Invalid(absl::StrCat(where, " is not a non-negative integer"), &name);
      }
      if (v.get<uint64_t>() > max) {
        return Invalid(absl::StrCat(where, " = ", v.get<uint64_t>(), " is too large"), &name);
      }
      out.push_back(v.get<uint64_t>());
    }
    return out;
  }

  absl::Status ParseTensor(const std::string& name, const Json& entry) {
    if (!entry.is_object()) {
      return Invalid(absl::StrCat("entry is a JSON ", entry.type_name(), ", not an object"), &name);
    }
    ASSIGN_OR_RETURN(const Json* dtype, Field(entry, "dtype", name));
    if (!dtype->is_string()) {
      return Invalid(absl::StrCat("\"dtype\" is a JSON ", dtype->type_name(), ", not a string"),
                     &name);
    }
    const DTypeInfo* info = FindDType(dtype->get_ref<const std::string&>());
    if (info == nullptr) {
      return Invalid(absl::StrCat("unknown dtype \"", dtype->get_ref<const std::string&>(), "\""),
                     &name);
    }
    constexpr uint64_t kMaxDim = std::numeric_limits<int64_t>::max();
    ASSIGN_OR_RETURN(std::vector<uint64_t> dims, Uints(entry, "shape", name, kMaxDim));
    ASSIGN_OR_RETURN(std::vector<uint64_t> offsets,
                     Uints(entry, "data_offsets", name, std::numeric_limits<uint64_t>::max()));

    const std::string shape_text = absl::StrCat("shape [", absl::StrJoin(dims, ", "), "]");
    uint64_t elems = 1;
    for (uint64_t d : dims) {
      if (d != 0 && elems > kMaxDim / d) {
        return Invalid(absl::StrCat(shape_text, " has more elements than an int64 holds"), &name);
      }
      elems *= d;
    }
    if (elems > std::numeric_limits<uint64_t>::max() / info->bits) {
      return Invalid(
          absl::StrCat(shape_text, " of ", info->name, " has more bytes than fit in 64 bits"),
          &name);
    }
    if (elems * info->bits % 8 != 0) {
      return Invalid(absl::StrCat(shape_text, ": ", elems, " elements of ", info->name,
                                  " do not fill whole bytes"),
                     &name);
    }
    const uint64_t need = elems * info->bits / 8;

    if (offsets.size() != 2) {
      return Invalid(
          absl::StrCat("\"data_offsets\" has ", offsets.size(), " elements, not 2 ([begin, end])"),
          &name);
    }
    const uint64_t begin = offsets[0];
    const uint64_t end = offsets[1];
    const std::string range = absl::StrCat("data_offsets [", begin, ", ", end, "]");
    if (end < begin) return Invalid(absl::StrCat(range, ": end is before begin"), &name);
    if (end - begin != need) {
      return Invalid(absl::StrCat(range, " hold ", end - begin, " bytes, but ", shape_text, " of ",
                                  info->name, " needs ", need),
                     &name);
    }
    if (end > data_size_) {
      return DataLoss(
          absl::StrCat(range, " run past the end of the data section (", data_size_, " bytes)"),
          &name);
    }

    SafetensorsTensor& t = out_.tensors.emplace_back();
    t.name = name;
    t.dtype_name = std::string(info->name);
    t.type = info->type;
    t.shape.assign(dims.begin(), dims.end());
    t.begin = begin;
    t.end = end;
    return absl::OkStatus();
  }

  // The format requires the tensors to tile the data section exactly.
  absl::Status CheckCoverage() {
    std::vector<SafetensorsTensor>& ts = out_.tensors;
    std::sort(ts.begin(), ts.end(), [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
      return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
    });
    uint64_t covered = 0;
    const SafetensorsTensor* prev = nullptr;
    for (const SafetensorsTensor& t : ts) {
      if (t.begin < covered) {
        return Invalid(absl::StrCat("bytes [", t.begin, ", ", t.end, ") overlap tensor \"",
                                    prev->name, "\" [", prev->begin, ", ", prev->end, ")"),
                       &t.name);
      }
      if (t.begin > covered) return Hole(covered, t.begin);
      covered = t.end;
      prev = &t;
    }
    if (covered != data_size_) return Hole(covered, data_size_);
    return absl::OkStatus();
  }

  absl::Status Hole(uint64_t begin, uint64_t end) const {
    return Invalid(absl::StrCat("data section bytes [", begin, ", ", end, ") belong to no tensor"));
  }

  std::span<const uint8_t> bytes_;
  std::string path_;
  uint64_t data_size_ = 0;
  SafetensorsContents out_;
};

}  // namespace

absl::StatusOr<SafetensorsContents> ParseSafetensors(std::span<const uint8_t> bytes,
                                                     std::string_view path) {
  return Parser(bytes, path).Parse();
}

}  // namespace llmw
