#include "core/malloc_tuning.h"

#include <climits>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mdistill {

namespace {

std::string Apply() {
#if defined(__GLIBC__)
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_ARENA_MAX"}) {
    if (std::getenv(name) != nullptr) return std::string("skipped: ") + name + " is set";
  }
  const char* opt = std::getenv("MDISTILL_MALLOC_TUNING");
  if (opt != nullptr && std::strcmp(opt, "0") == 0) return "skipped: MDISTILL_MALLOC_TUNING=0";
  // Both together: a fixed trim threshold alone also freezes the mmap threshold at its 128 KiB default.
  // One arena: forwards and steps run on libuv's worker threads, and a thread's own arena lives in mmapped heaps
  // that glibc unmaps whenever one empties, whatever the trim threshold, so each step faulted and zeroed them again
  // (15% of a `step --config small`); the main arena's heap obeys the trim threshold.
  if (mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) != 1 || mallopt(M_TRIM_THRESHOLD, INT_MAX) != 1 || mallopt(M_ARENA_MAX, 1) != 1) {
    return "failed: mallopt refused the settings";
  }
  return "applied: mmap threshold 32 MiB, no trimming, one arena";
#else
  return "skipped: not glibc";
#endif
}

}  // namespace

const std::string& TuneMalloc() {
  static const std::string state = Apply();  // a function-local static: initialised once, thread-safe
  return state;
}

}  // namespace mdistill
