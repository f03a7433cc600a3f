// What the CLI prints for an error that reached it unworded: no errno text without the path and what to do,
// no C++ source locations or frames, and allocation failures in sizes.
import { describe, expect, it } from 'vitest';
import { failureMessage } from '../../src/cli/failureMessage.js';

function nativeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('failureMessage', () => {
  it('words an errno error with its path', () => {
    const err = Object.assign(new Error("ENOSPC: no space left on device, write '/r/x'"), { code: 'ENOSPC', syscall: 'write', path: '/r/x' });
    expect(failureMessage(err)).toBe('/r/x: cannot write it: no space is left on the device. Free some space (df -h shows how much is left) or choose a path on another disk.');
  });

  it('turns libtorch\'s allocation failure into a size and what to reduce', () => {
    const err = nativeError('MDISTILL_OUT_OF_MEMORY', '[enforce fail at alloc_cpu.cpp:75] . DefaultCPUAllocator: can\'t allocate memory: you tried to allocate 4096000000000 bytes. Error code 12 (Cannot allocate memory)');
    expect(failureMessage(err)).toMatch(/^out of memory: a tensor of 3\.73 TiB could not be allocated \(this machine has .*\)\. Reduce --batch-size or the model size/);
  });

  it('drops C++ source locations and frames from native messages', () => {
    const gloo = nativeError('MDISTILL_DIST_FAILURE', 'rank 1 of 2: all-reduce failed: a peer crashed (--dist-timeout). [./gloo/transport/tcp/pair.cc:598] Connection closed by peer [127.0.0.1]:4242');
    expect(failureMessage(gloo)).toBe('rank 1 of 2: all-reduce failed: a peer crashed (--dist-timeout). Connection closed by peer [127.0.0.1]:4242');
    const framed = nativeError('MDISTILL_TORCH_ERROR', 'shape mismatch\nException raised from check at ../aten/src/ATen/x.cpp:12 (most recent call first):\nframe #0: c10::Error::Error() + 0x1');
    expect(failureMessage(framed)).toBe('shape mismatch');
  });
});
