// AllocateHugeBuffer: aligned_alloc plus madvise(MADV_HUGEPAGE) on Linux.
#include "kernels/cpu/huge_buffer.h"

#include <algorithm>
#include <cstdio>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace llmw::cpu {

HugeBuffer TryAllocateHugeBuffer(size_t bytes) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t align = bytes >= kHugePage ? kHugePage : 64;
  const size_t size = (std::max<size_t>(bytes, 1) + align - 1) / align * align;
  void* p = std::aligned_alloc(align, size);
  if (p == nullptr) return nullptr;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Only advice: without huge pages the buffer works the same.
  if (align == kHugePage) madvise(p, size, MADV_HUGEPAGE);
#endif
  return HugeBuffer(p);
}

HugeBuffer AllocateHugeBuffer(size_t bytes) {
  HugeBuffer buffer = TryAllocateHugeBuffer(bytes);
  if (buffer == nullptr) {
    std::fprintf(stderr, "llmw: out of memory allocating %zu bytes\n", bytes);
    std::abort();
  }
  return buffer;
}

}  // namespace llmw::cpu
