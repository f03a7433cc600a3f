// Parity with the paper's official loss code (shared/fixtures/manifold_loss.safetensors, float64).
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { readSafetensors, type TensorEntry } from '../../src/io/safetensors.js';
import { manifoldLoss, type LayerPair } from '../../src/loss/manifoldLoss.js';
import { packageRoot } from '../../src/io/packageRoot.js';
import { maxRelDiff } from './lossTestUtils.js';

const fixture = path.resolve(packageRoot, '..', 'shared', 'fixtures', 'manifold_loss.safetensors');

describe('manifold loss vs the official code (float64 fixture)', async () => {
  const file = await readSafetensors(fixture);
  const get = (name: string): TensorEntry => {
    const e = file.tensors.get(name);
    if (!e) throw new Error(`fixture lacks ${name}`);
    return e;
  };
  const shape3 = (e: TensorEntry) => e.shape as [number, number, number];
  const pairs: LayerPair[] = [0, 1].map((i) => ({
    student: { data: get(`fs.${i}`).data as Float64Array, shape: shape3(get(`fs.${i}`)) },
    teacher: { data: get(`ft.${i}`).data as Float64Array, shape: shape3(get(`ft.${i}`)) },
  }));
  const perms = [0, 1].map((i) => get(`perm.${i}`).data as BigInt64Array);
  const scalar = (name: string) => (get(name).data as Float64Array)[0];
  const options = {
    wSample: Number(file.metadata.w_sample), wPatch: Number(file.metadata.w_patch), wRand: Number(file.metadata.w_rand),
    k: Number(file.metadata.K), perms,
  };

  for (const impl of ['fused', 'naive'] as const) {
    it(`${impl}: terms and student gradients match within 1e-10`, async () => {
      const r = await manifoldLoss(pairs, { ...options, impl, grad: 'return' });
      expect(Math.abs(r.sample - scalar('loss_sample'))).toBeLessThan(1e-10);
      expect(Math.abs(r.patch - scalar('loss_patch'))).toBeLessThan(1e-10);
      expect(Math.abs(r.rand - scalar('loss_rand'))).toBeLessThan(1e-10);
      expect(r.total).toBeCloseTo(scalar('loss_sample') + scalar('loss_patch') + scalar('loss_rand'), 10);
      expect(r.gradStudent![0]).toBeInstanceOf(Float64Array);
      for (const i of [0, 1]) {
        const want = get(`grad_fs.${i}`).data as Float64Array;
        const got = r.gradStudent![i];
        let worst = 0;
        for (let j = 0; j < want.length; j++) worst = Math.max(worst, Math.abs(got[j] - want[j]));
        expect(worst).toBeLessThan(1e-10);
        expect(maxRelDiff(got, want)).toBeLessThan(1e-8);
      }
      expect([...r.perms[0]]).toEqual([...perms[0]]);
    });
  }
});
