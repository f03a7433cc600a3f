#include "train/memory_reuse.h"

#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mdistill::train {

void KeepFreedMemoryForReuse() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    // 32 MiB is the largest mmap threshold glibc accepts; blocks above it are rare in a step and stay mmapped.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    // Freed memory at the top of a heap is returned to the kernel only beyond 1 GiB (the step's peak is reused).
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
  });
#endif
}

}  // namespace mdistill::train
