// Device specs at the boundary: 'cpu', 'cuda' or 'cuda:N' for models, the standalone manifold loss, process groups
// and the GPU memory figures; anything else is refused with an error that names the option.
import { describe, expect, it } from 'vitest';
import { manifoldLoss } from '../../src/loss/manifoldLoss.js';
import { resolveModel } from '../../src/model/modelConfig.js';
import { NativeModel } from '../../src/model/nativeModel.js';
import { createRawProcessGroup, deviceMemory, runtimeInfo, type RawDevice } from '../../src/native/index.js';

const tiny = resolveModel('deit_tiny_patch16_224', { imgSize: 16, patchSize: 8, embedDim: 8, depth: 1, numHeads: 2, numClasses: 3 });
const badArgument = (message: RegExp) => expect.objectContaining({ code: 'MDISTILL_BAD_ARGUMENT', message: expect.stringMatching(message) });
const hasCuda = runtimeInfo().torchHasCuda;

describe('device specs', () => {
  it('refuses a malformed device, naming the option', async () => {
    for (const bad of ['gpu', 'cuda:', 'cuda:x', 'cuda0']) {
      expect(() => new NativeModel(tiny, { device: bad as RawDevice })).toThrow(badArgument(new RegExp(`^--device '${bad}' is not a device: use cpu, cuda or cuda:N$`)));
    }
    const pair = [{ student: { data: new Float32Array(2 * 4 * 3), shape: [2, 4, 3] }, teacher: { data: new Float32Array(2 * 4 * 3), shape: [2, 4, 3] } }];
    await expect(manifoldLoss(pair, { k: 2, device: 'tpu' as RawDevice })).rejects.toThrow(badArgument(/^manifoldLoss option 'device' 'tpu' is not a device/));
    expect(() => createRawProcessGroup({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: 29500, timeoutMs: 1000, device: 'cuda:a' as RawDevice }))
      .toThrow(badArgument(/^ProcessGroup option 'device' 'cuda:a' is not a device/));
  });

  it.skipIf(hasCuda)('without CUDA in libtorch, refuses cuda and cuda:N and has no GPU memory to report', () => {
    for (const device of ['cuda', 'cuda:1'] as const) {
      expect(() => new NativeModel(tiny, { device })).toThrow(badArgument(new RegExp(`^--device '${device}': this libtorch has no CUDA`)));
    }
    expect(() => deviceMemory('cuda')).toThrow(badArgument(/^deviceMemory device 'cuda': this libtorch has no CUDA/));
  });

  it('reports GPU memory for CUDA devices only', () => {
    expect(() => deviceMemory('cpu')).toThrow(badArgument(/^device memory: 'cpu' is not a CUDA device/));
  });
});
