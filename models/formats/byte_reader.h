// ByteReader: a bounds-checked little-endian cursor over a byte span. Every
// read fails (returns false, consumes nothing) instead of going past the end,
// so callers turn a short read into an error that names the field.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

namespace llmw {

static_assert(std::endian::native == std::endian::little,
              "checkpoint readers assume a little-endian host");

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }

  // Reads one trivially copyable value stored little-endian, unaligned.
  template <typename T>
  bool Read(T* out) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (remaining() < sizeof(T)) return false;
    std::memcpy(out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }

  // Points `out` at the next `n` bytes and steps over them.
  bool ReadBytes(uint64_t n, const uint8_t** out) {
    if (n > remaining()) return false;
    *out = bytes_.data() + pos_;
    pos_ += n;
    return true;
  }

  bool ReadChars(uint64_t n, std::string_view* out) {
    const uint8_t* p;
    if (!ReadBytes(n, &p)) return false;
    *out = std::string_view(reinterpret_cast<const char*>(p), n);
    return true;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

}  // namespace llmw
