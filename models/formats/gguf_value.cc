// Type names, conversions and printing of GGUF metadata values.
#include "models/formats/gguf_value.h"

#include <array>
#include <cstring>
#include <limits>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace llmw {
namespace {

struct TypeInfo {
  std::string_view name;
  size_t size;
};

constexpr std::array<TypeInfo, kGgufTypeCount> kTypes = {{
    {"u8", 1},
    {"i8", 1},
    {"u16", 2},
    {"i16", 2},
    {"u32", 4},
    {"i32", 4},
    {"f32", 4},
    {"bool", 1},
    {"string", 0},
    {"array", 0},
    {"u64", 8},
    {"i64", 8},
    {"f64", 8},
}};

template <typename T>
T LoadPacked(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

void AppendQuoted(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:
        // Bytes >= 0x80 stay as they are: token strings are UTF-8.
        if (u < 0x20 || u == 0x7f) {
          absl::StrAppendFormat(out, "\\x%02x", u);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendValue(const GgufValue& value, size_t max_elems, std::string* out);

void AppendArray(const GgufArray& a, size_t max_elems, std::string* out) {
  out->push_back('[');
  const size_t shown = a.size < max_elems ? a.size : max_elems;
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) out->append(", ");
    if (a.elem_type == GgufType::kString) {
      AppendQuoted(a.strings[i], out);
    } else if (a.elem_type == GgufType::kArray) {
      AppendArray(*a.arrays[i].AsArray(), max_elems, out);
    } else {
      AppendValue(a.ScalarAt(i), max_elems, out);
    }
  }
  if (shown < a.size) absl::StrAppend(out, shown > 0 ? ", " : "", "... ", a.size - shown, " more");
  out->push_back(']');
}

void AppendValue(const GgufValue& value, size_t max_elems, std::string* out) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          out->append(v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, std::string_view>) {
          AppendQuoted(v, out);
        } else if constexpr (std::is_same_v<T, GgufArray>) {
          AppendArray(v, max_elems, out);
        } else if constexpr (std::is_floating_point_v<T>) {
          absl::StrAppendFormat(out, "%.9g", v);
        } else {
          absl::StrAppend(out, +v);  // unary + prints 8-bit integers as numbers
        }
      },
      value.storage());
}

}  // namespace

std::string_view GgufTypeName(GgufType type) {
  const auto id = static_cast<uint32_t>(type);
  return id < kGgufTypeCount ? kTypes[id].name : "unknown";
}

size_t GgufScalarSize(GgufType type) {
  const auto id = static_cast<uint32_t>(type);
  return id < kGgufTypeCount ? kTypes[id].size : 0;
}

GgufValue GgufArray::ScalarAt(size_t i) const {
  const uint8_t* p = packed + i * GgufScalarSize(elem_type);
  switch (elem_type) {
    case GgufType::kUint8:
      return GgufValue(LoadPacked<uint8_t>(p));
    case GgufType::kInt8:
      return GgufValue(LoadPacked<int8_t>(p));
    case GgufType::kUint16:
      return GgufValue(LoadPacked<uint16_t>(p));
    case GgufType::kInt16:
      return GgufValue(LoadPacked<int16_t>(p));
    case GgufType::kUint32:
      return GgufValue(LoadPacked<uint32_t>(p));
    case GgufType::kInt32:
      return GgufValue(LoadPacked<int32_t>(p));
    case GgufType::kFloat32:
      return GgufValue(LoadPacked<float>(p));
    case GgufType::kBool:
      return GgufValue(*p != 0);
    case GgufType::kUint64:
      return GgufValue(LoadPacked<uint64_t>(p));
    case GgufType::kInt64:
      return GgufValue(LoadPacked<int64_t>(p));
    case GgufType::kFloat64:
      return GgufValue(LoadPacked<double>(p));
    case GgufType::kString:
    case GgufType::kArray:
      break;
  }
  return GgufValue();
}

std::optional<uint64_t> GgufValue::AsUint() const {
  return std::visit(
      [](const auto& v) -> std::optional<uint64_t> {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          if constexpr (std::is_signed_v<T>) {
            if (v < 0) return std::nullopt;
          }
          return static_cast<uint64_t>(v);
        }
        return std::nullopt;
      },
      v_);
}

std::optional<int64_t> GgufValue::AsInt() const {
  return std::visit(
      [](const auto& v) -> std::optional<int64_t> {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, uint64_t>) {
          if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
          return static_cast<int64_t>(v);
        } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          return static_cast<int64_t>(v);
        }
        return std::nullopt;
      },
      v_);
}

std::optional<double> GgufValue::AsFloat() const {
  if (const auto* f = std::get_if<float>(&v_)) return *f;
  if (const auto* d = std::get_if<double>(&v_)) return *d;
  return std::nullopt;
}

std::optional<bool> GgufValue::AsBool() const {
  if (const auto* b = std::get_if<bool>(&v_)) return *b;
  return std::nullopt;
}

std::optional<std::string_view> GgufValue::AsString() const {
  if (const auto* s = std::get_if<std::string_view>(&v_)) return *s;
  return std::nullopt;
}

std::string GgufDescribe(const GgufValue& value) {
  const std::string type(GgufTypeName(value.type()));
  if (const GgufArray* a = value.AsArray()) {
    return absl::StrCat("array<", std::string(GgufTypeName(a->elem_type)), ">[", a->size, "]");
  }
  if (value.type() == GgufType::kString) return type;
  return absl::StrCat(type, " ", GgufValueToString(value, 0));
}

std::string GgufValueToString(const GgufValue& value, size_t max_elems) {
  std::string out;
  AppendValue(value, max_elems, &out);
  return out;
}

}  // namespace llmw
