// The JS ProcessGroup: two ranks in one process (each connect/collective runs on its own libuv pool thread).
import { describe, expect, test } from 'vitest';
import { createRawProcessGroup, type RawProcessGroup } from '../../src/native/index.js';
import { freePort } from '../../src/dist/launchLocal.js';

async function pair(timeoutMs = 10_000): Promise<RawProcessGroup[]> {
  const masterPort = await freePort();
  const groups = [0, 1].map((rank) => createRawProcessGroup({ rank, worldSize: 2, masterAddr: '127.0.0.1', masterPort, timeoutMs, device: 'cpu' }));
  await Promise.all(groups.map((g) => g.connect()));
  return groups;
}

describe('ProcessGroup (Gloo, loopback)', () => {
  test('allReduce sums element-wise on every rank; barrier resolves', async () => {
    const [a, b] = await pair();
    expect([a.backend, a.rank, b.rank, a.worldSize]).toEqual(['gloo', 0, 1, 2]);
    const [x, y] = await Promise.all([a.allReduce(new Float64Array([1, 2.5, -3])), b.allReduce(new Float64Array([10, 0.25, 3]))]);
    expect(Array.from(x)).toEqual([11, 2.75, 0]);
    expect(Array.from(y)).toEqual([11, 2.75, 0]);
    await Promise.all([a.barrier(), b.barrier()]);
    a.destroy();
    b.destroy();
  });

  test('a collective the peer never joins fails after the timeout, naming the rank', async () => {
    // Long enough for both ranks to rendezvous on a loaded machine (the same timeout covers the rendezvous).
    const [a, b] = await pair(6000);
    await expect(a.allReduce(new Float64Array([1]))).rejects.toMatchObject({ code: 'MDISTILL_DIST_FAILURE', message: expect.stringMatching(/^rank 0 of 2: all-reduce failed/) });
    a.destroy();
    b.destroy();
  });

  test('bad options and unconnected use are reported', () => {
    expect(() => createRawProcessGroup({ rank: 2, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 1, timeoutMs: 10, device: 'cpu' })).toThrow(/rank 2 is outside 0..1/);
    expect(() => createRawProcessGroup({ rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 70000, timeoutMs: 10, device: 'cpu' })).toThrow(/not a TCP port/);
    const g = createRawProcessGroup({ rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 29500, timeoutMs: 10, device: 'cpu' });
    expect(() => g.allReduce(new Float64Array(1))).toThrow(/not connected/);
    expect(() => g.allReduce([1] as unknown as Float64Array)).toThrow(/Float64Array/);
  });
});
