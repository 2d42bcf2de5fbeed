// The GGUF layout, in file order: header (magic, version, tensor_count,
// kv_count), kv_count metadata entries (key string, value type, value),
// tensor_count tensor infos (name, n_dims, dims, type, offset), padding to
// `general.alignment`, then the data section that the offsets point into.
// Every length and count is checked against the bytes left before anything
// is allocated, so a hostile file costs at most a few times its own size.
#include "models/formats/gguf_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "kernels/status_macros.h"
#include "models/formats/byte_reader.h"

namespace llmw {
namespace {

// Smallest encodings, used to bound counts by the bytes left in the file:
// key length + value type + a one-byte value; name length + n_dims + one dim +
// type + offset; a string's length; an array's element type + length.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
constexpr uint64_t kMinStringBytes = 8;
constexpr uint64_t kMinArrayBytes = 4 + 8;

// A key or tensor name for messages: escaped and shortened.
std::string Quote(std::string_view s) {
  constexpr size_t kMaxShown = 80;
  const size_t shown = std::min(s.size(), kMaxShown);
  return absl::StrCat("'", absl::CHexEscape(absl::string_view(s.data(), shown)),
                      shown < s.size() ? "'..." : "'");
}

class Parser {
 public:
  Parser(std::span<const uint8_t> bytes, std::string_view path)
      : r_(bytes), size_(bytes.size()), path_(path) {}

  absl::StatusOr<GgufContents> Parse() {
    uint64_t n_tensors = 0;
    uint64_t n_kv = 0;
    RETURN_IF_ERROR(ParseHeader(&n_tensors, &n_kv));
    RETURN_IF_ERROR(ParseMetadata(n_kv));
    RETURN_IF_ERROR(ReadAlignment());
    RETURN_IF_ERROR(ParseTensorInfos(n_tensors));
    RETURN_IF_ERROR(PlaceData());
    return std::move(out_);
  }

 private:
  // "<path>: <context>[i][j]: <field>: <problem>"
  std::string Message(std::string_view field, std::string_view problem) const {
    std::string m = absl::StrCat(std::string(path_), ": ", context_);
    for (uint64_t i : indices_) absl::StrAppend(&m, "[", i, "]");
    if (!field.empty()) absl::StrAppend(&m, ": ", std::string(field));
    absl::StrAppend(&m, ": ", std::string(problem));
    return m;
  }
  absl::Status Invalid(std::string_view field, std::string_view problem) const {
    return absl::InvalidArgumentError(Message(field, problem));
  }
  absl::Status DataLoss(std::string_view field, std::string_view problem) const {
    return absl::DataLossError(Message(field, problem));
  }
  absl::Status Truncated(std::string_view field, uint64_t need) const {
    return DataLoss(field, absl::StrCat("truncated file: needs ", need, " bytes at offset ",
                                        r_.offset(), ", ", r_.remaining(), " remain"));
  }

  template <typename T>
  absl::Status Read(std::string_view field, T* out) {
    return r_.Read(out) ? absl::OkStatus() : Truncated(field, sizeof(T));
  }

  absl::Status ReadString(std::string_view field, std::string_view* out) {
    uint64_t len = 0;
    RETURN_IF_ERROR(Read(field, &len));
    if (!r_.ReadChars(len, out)) {
      return DataLoss(field,
                      absl::StrCat("string length ", len, " extends past the end of the file (",
                                   r_.remaining(), " bytes remain)"));
    }
    return absl::OkStatus();
  }

  absl::Status ParseHeader(uint64_t* n_tensors, uint64_t* n_kv) {
    context_ = "header";
    const uint8_t* magic;
    if (!r_.ReadBytes(4, &magic)) return Truncated("magic", 4);
    if (std::memcmp(magic, "GGUF", 4) != 0) {
      const absl::string_view got(reinterpret_cast<const char*>(magic), 4);
      return Invalid("magic",
                     absl::StrCat("bad magic \"", absl::CHexEscape(got), "\", expected \"GGUF\""));
    }
    uint32_t version = 0;
    RETURN_IF_ERROR(Read("version", &version));
    if (version != 2 && version != 3) {
      const uint32_t swapped = __builtin_bswap32(version);
      return Invalid(
          "version",
          absl::StrCat("unsupported version ", version, " (supported: 2 and 3)",
                       swapped == 2 || swapped == 3 ? "; big-endian files are not supported" : ""));
    }
    out_.version = version;
    RETURN_IF_ERROR(Read("tensor_count", n_tensors));
    RETURN_IF_ERROR(Read("kv_count", n_kv));

    const uint64_t left = r_.remaining();
    if (*n_kv > left / kMinKvBytes) {
      return DataLoss("kv_count", absl::StrCat(*n_kv, " entries cannot fit in the ", left,
                                               " bytes left in the file"));
    }
    if (*n_tensors > left / kMinTensorInfoBytes ||
        *n_kv * kMinKvBytes + *n_tensors * kMinTensorInfoBytes > left) {
      return DataLoss("tensor_count", absl::StrCat(*n_tensors, " tensor infos cannot fit in the ",
                                                   left, " bytes left in the file"));
    }
    return absl::OkStatus();
  }

  absl::Status ParseMetadata(uint64_t n_kv) {
    out_.metadata.reserve(n_kv);
    out_.key_index.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) {
      context_ = absl::StrCat("metadata entry #", i);
      std::string_view key;
      RETURN_IF_ERROR(ReadString("key", &key));
      if (key.empty()) return Invalid("key", "empty key");
      context_ = absl::StrCat("metadata ", Quote(key));
      if (auto [it, added] = out_.key_index.emplace(key, i); !added) {
        return Invalid("key",
                       absl::StrCat("duplicate metadata key (first at entry #", it->second, ")"));
      }
      uint32_t type = 0;
      RETURN_IF_ERROR(Read("value type", &type));
      GgufValue value;
      RETURN_IF_ERROR(ParseValue(type, 0, &value));
      out_.metadata.emplace_back(key, std::move(value));
    }
    return absl::OkStatus();
  }

  // `depth` counts the arrays enclosing this value.
  absl::Status ParseValue(uint32_t type_id, int depth, GgufValue* out) {
    if (type_id >= kGgufTypeCount) {
      return Invalid("value type", absl::StrCat("unknown value type ", type_id));
    }
    switch (static_cast<GgufType>(type_id)) {
      case GgufType::kUint8:
        return ReadScalar<uint8_t>(out);
      case GgufType::kInt8:
        return ReadScalar<int8_t>(out);
      case GgufType::kUint16:
        return ReadScalar<uint16_t>(out);
      case GgufType::kInt16:
        return ReadScalar<int16_t>(out);
      case GgufType::kUint32:
        return ReadScalar<uint32_t>(out);
      case GgufType::kInt32:
        return ReadScalar<int32_t>(out);
      case GgufType::kFloat32:
        return ReadScalar<float>(out);
      case GgufType::kUint64:
        return ReadScalar<uint64_t>(out);
      case GgufType::kInt64:
        return ReadScalar<int64_t>(out);
      case GgufType::kFloat64:
        return ReadScalar<double>(out);
      case GgufType::kBool: {
        uint8_t b = 0;
        RETURN_IF_ERROR(Read("value", &b));
        if (b > 1) return Invalid("value", absl::StrCat("bool value ", int{b}, " is not 0 or 1"));
        *out = GgufValue(b == 1);
        return absl::OkStatus();
      }
      case GgufType::kString: {
        std::string_view s;
        RETURN_IF_ERROR(ReadString("value", &s));
        *out = GgufValue(s);
        return absl::OkStatus();
      }
      case GgufType::kArray: {
        GgufArray a;
        RETURN_IF_ERROR(ParseArray(depth + 1, &a));
        *out = GgufValue(std::move(a));
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status ReadScalar(GgufValue* out) {
    T v{};
    RETURN_IF_ERROR(Read("value", &v));
    *out = GgufValue(v);
    return absl::OkStatus();
  }

  // `depth` counts this array and the arrays enclosing it.
  absl::Status ParseArray(int depth, GgufArray* a) {
    if (depth > kGgufMaxArrayDepth) {
      return Invalid("array",
                     absl::StrCat("arrays nested deeper than ", kGgufMaxArrayDepth, " levels"));
    }
    uint32_t elem_id = 0;
    RETURN_IF_ERROR(Read("array element type", &elem_id));
    if (elem_id >= kGgufTypeCount) {
      return Invalid("array element type", absl::StrCat("unknown value type ", elem_id));
    }
    uint64_t n = 0;
    RETURN_IF_ERROR(Read("array length", &n));
    const auto elem = static_cast<GgufType>(elem_id);
    const uint64_t min_elem_bytes = elem == GgufType::kString  ? kMinStringBytes
                                    : elem == GgufType::kArray ? kMinArrayBytes
                                                               : GgufScalarSize(elem);
    if (n > r_.remaining() / min_elem_bytes) {
      return DataLoss("array length",
                      absl::StrCat("array of ", n, " ", std::string(GgufTypeName(elem)),
                                   " elements extends past the end of the file (", r_.remaining(),
                                   " bytes remain)"));
    }
    a->elem_type = elem;
    a->size = n;
    indices_.push_back(0);
    if (elem == GgufType::kString) {
      a->strings.resize(n);
      for (uint64_t i = 0; i < n; ++i) {
        indices_.back() = i;
        RETURN_IF_ERROR(ReadString("value", &a->strings[i]));
      }
    } else if (elem == GgufType::kArray) {
      a->arrays.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        indices_.back() = i;
        GgufArray inner;
        RETURN_IF_ERROR(ParseArray(depth + 1, &inner));
        a->arrays.emplace_back(std::move(inner));
      }
    } else {
      r_.ReadBytes(n * min_elem_bytes, &a->packed);  // fits: checked above
      for (uint64_t i = 0; elem == GgufType::kBool && i < n; ++i) {
        indices_.back() = i;
        if (a->packed[i] > 1) {
          return Invalid("value", absl::StrCat("bool value ", int{a->packed[i]}, " is not 0 or 1"));
        }
      }
    }
    indices_.pop_back();
    return absl::OkStatus();
  }

  absl::Status ReadAlignment() {
    const auto it = out_.key_index.find("general.alignment");
    if (it == out_.key_index.end()) return absl::OkStatus();
    context_ = "metadata 'general.alignment'";
    const GgufValue& v = out_.metadata[it->second].second;
    const std::optional<uint64_t> a = v.AsUint();
    if (!a) return Invalid("", absl::StrCat("expected an unsigned integer, got ", GgufDescribe(v)));
    if (*a == 0 || (*a & (*a - 1)) != 0) {
      return Invalid("", absl::StrCat("alignment ", *a, " is not a power of two"));
    }
    out_.alignment = *a;
    return absl::OkStatus();
  }

  absl::Status ParseTensorInfos(uint64_t n) {
    out_.tensors.reserve(n);
    out_.tensor_index.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      context_ = absl::StrCat("tensor #", i);
      std::string_view name;
      RETURN_IF_ERROR(ReadString("name", &name));
      if (name.empty()) return Invalid("name", "empty tensor name");
      context_ = absl::StrCat("tensor ", Quote(name));
      if (auto [it, added] = out_.tensor_index.emplace(name, i); !added) {
        return Invalid("name",
                       absl::StrCat("duplicate tensor name (first at tensor #", it->second, ")"));
      }
      GgufTensorInfo& t = out_.tensors.emplace_back();
      t.name = std::string(name);
      RETURN_IF_ERROR(ParseTensorInfo(&t));
    }
    return absl::OkStatus();
  }

  absl::Status ParseTensorInfo(GgufTensorInfo* t) {
    uint32_t n_dims = 0;
    RETURN_IF_ERROR(Read("n_dims", &n_dims));
    if (n_dims == 0 || n_dims > kGgufMaxDims) {
      return Invalid("n_dims", absl::StrCat(n_dims, " is not in 1..", kGgufMaxDims));
    }
    int64_t elems = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const std::string field = absl::StrCat("dims[", d, "]");
      uint64_t dim = 0;
      RETURN_IF_ERROR(Read(field, &dim));
      if (dim == 0 || dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Invalid(field, absl::StrCat("dimension ", static_cast<int64_t>(dim),
                                           " is out of range (must be positive)"));
      }
      t->dims.push_back(static_cast<int64_t>(dim));
      if (__builtin_mul_overflow(elems, t->dims.back(), &elems)) {
        return Invalid(field, "element count overflows 64 bits");
      }
    }
    uint32_t type = 0;
    RETURN_IF_ERROR(Read("type", &type));
    const std::optional<DTypeTraits> traits = TraitsOf(type);
    if (!traits) return Invalid("type", absl::StrCat("unknown tensor type ", type));
    t->type = static_cast<DType>(type);
    if (t->dims[0] % traits->block_elems != 0) {
      return Invalid("dims[0]",
                     absl::StrCat("row length ", t->dims[0], " is not a multiple of the ",
                                  std::string(traits->name), " block size ", traits->block_elems));
    }
    int64_t bytes;
    if (__builtin_mul_overflow(elems / traits->block_elems, traits->block_bytes, &bytes)) {
      return Invalid("type", "byte size overflows 64 bits");
    }
    t->bytes = static_cast<uint64_t>(bytes);
    RETURN_IF_ERROR(Read("offset", &t->offset));
    if (t->offset % out_.alignment != 0) {
      return Invalid("offset",
                     absl::StrCat("offset ", t->offset, " is not a multiple of the alignment ",
                                  out_.alignment));
    }
    return absl::OkStatus();
  }

  // Places the data section after the (padded) header and checks that every
  // tensor lies inside it and that no two tensors share bytes.
  absl::Status PlaceData() {
    const uint64_t a = out_.alignment;
    out_.data_offset = (r_.offset() + a - 1) / a * a;  // no overflow: a <= 2^63, offset < 2^63
    const uint64_t data_size = out_.data_offset <= size_ ? size_ - out_.data_offset : 0;
    for (const GgufTensorInfo& t : out_.tensors) {
      if (t.offset > data_size || t.bytes > data_size - t.offset) {
        context_ = absl::StrCat("tensor ", Quote(t.name));
        return DataLoss("data",
                        absl::StrCat(t.bytes, " bytes at data offset ", t.offset,
                                     " extend past the end of the file (the data section "
                                     "holds ",
                                     data_size, " bytes from file offset ", out_.data_offset, ")"));
      }
    }
    std::vector<const GgufTensorInfo*> by_offset;
    by_offset.reserve(out_.tensors.size());
    for (const GgufTensorInfo& t : out_.tensors) by_offset.push_back(&t);
    std::sort(
        by_offset.begin(), by_offset.end(),
        [](const GgufTensorInfo* x, const GgufTensorInfo* y) { return x->offset < y->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const GgufTensorInfo& prev = *by_offset[i - 1];
      const GgufTensorInfo& t = *by_offset[i];
      if (t.offset < prev.offset + prev.bytes) {
        context_ = absl::StrCat("tensor ", Quote(t.name));
        return Invalid("data", absl::StrCat("data [", t.offset, ", ", t.offset + t.bytes,
                                            ") overlaps tensor ", Quote(prev.name), " [",
                                            prev.offset, ", ", prev.offset + prev.bytes, ")"));
      }
    }
    return absl::OkStatus();
  }

  ByteReader r_;
  uint64_t size_;
  std::string_view path_;
  GgufContents out_;
  std::string context_;            // what is being read, for messages
  std::vector<uint64_t> indices_;  // element indices inside (nested) arrays
};

}  // namespace

absl::StatusOr<GgufContents> ParseGguf(std::span<const uint8_t> bytes, std::string_view path) {
  return Parser(bytes, path).Parse();
}

}  // namespace llmw
