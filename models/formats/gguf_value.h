// GgufValue: one metadata value of a GGUF file. Strings are views into the
// mapped file and numeric arrays stay packed there, so even the 50k-entry
// token tables cost little to hold. Values live as long as their GgufFile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace llmw {

// GGUF metadata value type ids.
enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};
inline constexpr uint32_t kGgufTypeCount = 13;

// "u8", "i32", "f64", "bool", "string", "array", ...
std::string_view GgufTypeName(GgufType type);
// Bytes of one stored element of a numeric or bool type; 0 for string and array.
size_t GgufScalarSize(GgufType type);

class GgufValue;

// An array value: `size` elements of `elem_type`. Numeric and bool elements
// stay packed (little-endian, unaligned) in the mapping, strings are views
// into it, nested arrays are parsed values.
struct GgufArray {
  GgufType elem_type = GgufType::kUint8;
  uint64_t size = 0;
  const uint8_t* packed = nullptr;        // numeric and bool element types
  std::vector<std::string_view> strings;  // elem_type == kString
  std::vector<GgufValue> arrays;          // elem_type == kArray

  // Element `i` of a numeric or bool array, as a scalar value.
  GgufValue ScalarAt(size_t i) const;
};

class GgufValue {
 public:
  // The alternatives are in type-id order: index() is the GgufType.
  using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                               std::string_view, GgufArray, uint64_t, int64_t, double>;

  GgufValue() = default;
  explicit GgufValue(Storage v) : v_(std::move(v)) {}

  GgufType type() const { return static_cast<GgufType>(v_.index()); }
  const Storage& storage() const { return v_; }

  // Conversions; nullopt when the type (or the value's sign/range) does not fit.
  std::optional<uint64_t> AsUint() const;  // unsigned, or non-negative signed
  std::optional<int64_t> AsInt() const;    // signed, or unsigned up to INT64_MAX
  std::optional<double> AsFloat() const;   // f32 or f64
  std::optional<bool> AsBool() const;
  std::optional<std::string_view> AsString() const;
  const GgufArray* AsArray() const { return std::get_if<GgufArray>(&v_); }

 private:
  Storage v_;
};

// Type and value for messages: "u32 576", "string", "array<string>[49152]".
std::string GgufDescribe(const GgufValue& value);

// Readable rendering for inspection: numbers, quoted and escaped strings, and
// arrays with at most `max_elems` elements shown per level.
std::string GgufValueToString(const GgufValue& value, size_t max_elems);

}  // namespace llmw
