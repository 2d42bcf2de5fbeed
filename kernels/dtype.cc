// Block sizes of every element type (GGUF's ggml type table, restricted to the
// types this project reads).
#include "kernels/dtype.h"

#include <array>
#include <cctype>

namespace llmw {
namespace {

struct Entry {
  DType type;
  DTypeTraits traits;
};

constexpr std::array<Entry, 14> kTable = {{
    {DType::kF32, {"F32", 1, 4}},
    {DType::kF16, {"F16", 1, 2}},
    {DType::kQ4_0, {"Q4_0", 32, 18}},
    {DType::kQ4_1, {"Q4_1", 32, 20}},
    {DType::kQ5_0, {"Q5_0", 32, 22}},
    {DType::kQ5_1, {"Q5_1", 32, 24}},
    {DType::kQ8_0, {"Q8_0", 32, 34}},
    {DType::kQ2_K, {"Q2_K", 256, 84}},
    {DType::kQ3_K, {"Q3_K", 256, 110}},
    {DType::kQ4_K, {"Q4_K", 256, 144}},
    {DType::kQ5_K, {"Q5_K", 256, 176}},
    {DType::kQ6_K, {"Q6_K", 256, 210}},
    {DType::kQ8_K, {"Q8_K", 256, 292}},
    {DType::kBF16, {"BF16", 1, 2}},
}};

}  // namespace

std::optional<DTypeTraits> TraitsOf(uint32_t type_id) {
  for (const Entry& e : kTable) {
    if (static_cast<uint32_t>(e.type) == type_id) return e.traits;
  }
  return std::nullopt;
}

std::optional<DType> DTypeFromName(std::string_view name) {
  for (const Entry& e : kTable) {
    const std::string_view known = e.traits.name;
    bool same = known.size() == name.size();
    for (size_t i = 0; same && i < name.size(); ++i) {
      same = std::toupper(static_cast<unsigned char>(name[i])) == known[i];
    }
    if (same) return e.type;
  }
  return std::nullopt;
}

const DTypeTraits& Traits(DType type) {
  for (const Entry& e : kTable) {
    if (e.type == type) return e.traits;
  }
  return kTable[0].traits;  // unreachable for a valid enum value
}

}  // namespace llmw
