// Keeps freed heap memory in the process. glibc's malloc gives big freed blocks back to the kernel (munmap, heap
// trimming), so every forward and step page-faults and zeroes its activations again: about a quarter of a CaiT-S24
// forward on the development machine. Fixing the mmap threshold at its maximum (32 MiB) and never trimming keeps
// those pages for the next allocation; the process holds its peak instead of shrinking between steps.
#pragma once
#include <string>

namespace mdistill {

// Applies the tuning once (at module load) unless the user chose: any of MALLOC_MMAP_THRESHOLD_,
// MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_ set, or MDISTILL_MALLOC_TUNING=0. Returns what happened, for `info`.
const std::string& TuneMalloc();

}  // namespace mdistill
