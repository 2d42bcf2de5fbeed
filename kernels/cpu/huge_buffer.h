// Large, long-lived buffers (the KV cache, packed weights) on transparent huge pages where the
// system allows: their reads are spread over hundreds of megabytes, and 4 KiB pages make them
// miss the TLB on nearly every row.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace llmw::cpu {

struct HugeBufferDeleter {
  void operator()(void* p) const { std::free(p); }
};
using HugeBuffer = std::unique_ptr<void, HugeBufferDeleter>;

// At least `bytes` bytes, 64-byte aligned (2 MiB aligned and advised for huge pages when that
// large); contents unspecified. Empty when out of memory.
HugeBuffer TryAllocateHugeBuffer(size_t bytes);

// TryAllocateHugeBuffer that aborts when out of memory.
HugeBuffer AllocateHugeBuffer(size_t bytes);

}  // namespace llmw::cpu
