// Keeps freed tensor memory in the process for reuse by the next training step.
#pragma once

namespace mdistill::train {

// libtorch's CPU allocator is plain posix_memalign/free. With glibc's defaults, the step's large activations
// (attention maps, MLP hidden states: megabytes each) are mmapped and unmapped, or trimmed off the heap, on every
// step, and the kernel zero-fills their pages again on the next touch: a third of a million page faults per
// paper-sized step (measured). This raises glibc's mmap and trim thresholds once per process, so those blocks
// stay on the heap. No-op off glibc.
void KeepFreedMemoryForReuse();

}  // namespace mdistill::train
