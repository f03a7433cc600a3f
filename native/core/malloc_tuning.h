// Keeps freed heap memory in the process. libtorch's CPU allocator is plain posix_memalign/free, and glibc's malloc
// gives big freed blocks back to the kernel (munmap, heap trimming), so every forward and step page-faults and
// zeroes its activations again: about a quarter of a CaiT-S24 forward on the development machine. Fixing the mmap
// threshold at its maximum (32 MiB), never trimming and keeping every thread on the main arena (whose heap obeys the
// trim threshold, unlike per-thread arenas) keeps those pages for the next allocation; the process holds its peak
// instead of shrinking between steps.
#pragma once
#include <string>

namespace mdistill {

// Applies the tuning once per process unless the user chose: any of MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_,
// MALLOC_TOP_PAD_, MALLOC_ARENA_MAX set, or MDISTILL_MALLOC_TUNING=0. Idempotent and thread-safe: the addon calls it at load and
// DistillStep at construction (for hosts without the addon). Returns what is in effect ("applied: …" or
// "skipped: why"), for `mdistill info`.
const std::string& TuneMalloc();

}  // namespace mdistill
