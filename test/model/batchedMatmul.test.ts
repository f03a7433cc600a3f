// The GEMM layer's batched matmul (attention's q·kᵀ and attn·v) on each engine against at::matmul, forward and
// backward, with b read as a transposed view as attention reads k.
import { describe, expect, it } from 'vitest';
import { batchedMatmulCheck, runtimeInfo } from '../../src/native/index.js';
import { maxAbsDiff } from './fixtures.js';

const filled = (n: number, seed: number) => new Float32Array(n).map((_, i) => Math.sin(i * 0.37 + seed));

const engines = runtimeInfo().gemmEngine.onednnCompiled ? (['onednn', 'aten'] as const) : (['aten'] as const);

describe.each(engines)('batched matmul, %s engine', (engine) => {
  it.each([[6, 5, 4, 7], [1, 1, 8, 3], [12, 20, 16, 20], [3, 37, 19, 29]])('G=%i M=%i K=%i N=%i matches at::matmul with gradients', async (G, M, K, N) => {
    const a = filled(G * M * K, 1);
    const b = filled(G * K * N, 2);
    const g = filled(G * M * N, 3);
    const kernel = await batchedMatmulCheck(a, [G, M, K], b, [G, K, N], g, engine);
    const ref = await batchedMatmulCheck(a, [G, M, K], b, [G, K, N], g, 'reference');
    expect(kernel.out.length).toBe(G * M * N);
    expect(maxAbsDiff(kernel.out, ref.out)).toBeLessThan(1e-5);
    expect(maxAbsDiff(kernel.gradA, ref.gradA)).toBeLessThan(1e-5);
    expect(maxAbsDiff(kernel.gradB, ref.gradB)).toBeLessThan(1e-5);
    // out[0][0][0] by hand: the reference itself is the product.
    let dot = 0;
    for (let k = 0; k < K; k++) dot += a[k] * b[k * N];
    expect(ref.out[0]).toBeCloseTo(dot, 5);
  });

  it('rejects shapes that do not fit', () => {
    expect(() => batchedMatmulCheck(new Float32Array(6), [1, 2, 3], new Float32Array(8), [1, 4, 2], new Float32Array(4), engine))
      .toThrow(expect.objectContaining({ code: 'MDISTILL_SHAPE_MISMATCH' }));
  });
});
