// The fused CUDA manifold kernels: they must build with nvcc everywhere (CI has no GPU), and match the CPU
// implementation wherever a CUDA device exists.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { manifoldLoss } from '../../src/loss/manifoldLoss.js';
import { runtimeInfo } from '../../src/native/index.js';
import { packageRoot } from '../../src/io/packageRoot.js';
import { maxRelDiff, pair, relDiff } from './lossTestUtils.js';

const nvcc = ['nvcc', '/usr/local/cuda/bin/nvcc'].find((bin) => spawnSync(bin, ['--version']).status === 0);
const hasGpu = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' }).stdout?.includes('GPU') ?? false;

interface CudaTestReport {
  ok: boolean;
  skipped?: string;
  device?: string;
  worst_rel_f64?: number;
  worst_rel_f32?: number;
  reference_gradcheck: number;
}

describe('CUDA manifold kernels', () => {
  let program: string | undefined;
  const buildDir = mkdtempSync(path.join(tmpdir(), 'mdistill-cuda-'));

  it.skipIf(!nvcc)('compile with nvcc (sm_80) into a static library and the standalone test program', () => {
    const r = spawnSync(path.join(packageRoot, 'scripts', 'build-cuda-kernels.sh'), [], {
      encoding: 'utf8',
      env: { ...process.env, MDISTILL_CUDA_BUILD_DIR: buildDir, MDISTILL_CUDA_ARCH: '80' },
    });
    expect(r.stderr + r.stdout).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    program = r.stdout.trim().split('\n').pop();
    expect(program).toBe(path.join(buildDir, 'manifold_cuda_test'));
  });

  it.skipIf(!nvcc)(`test program ${hasGpu ? 'matches the CPU implementation on the device' : 'checks its CPU reference (skipped on the device: no CUDA device)'}`, () => {
    expect(program, 'the build step must run first').toBeDefined();
    const r = spawnSync(program!, [], { encoding: 'utf8' });
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as CudaTestReport;
    expect(report.reference_gradcheck).toBeLessThan(1e-7);
    if (hasGpu) {
      expect(report.skipped).toBeUndefined();
      expect(report.worst_rel_f64!).toBeLessThan(1e-10);
      expect(report.worst_rel_f32!).toBeLessThan(1e-4);
    } else {
      expect(report.skipped).toBe('no CUDA device');
    }
    expect(report.ok).toBe(true);
    expect(r.status).toBe(0);
    rmSync(buildDir, { recursive: true, force: true });
  });

  const cudaAddon = (() => {
    try {
      const info = runtimeInfo();
      return info.cudaCompiled && info.cudaDevices.length > 0;
    } catch {
      return false;
    }
  })();

  it.skipIf(!cudaAddon)('through the addon: fused on CUDA equals naive on CPU (values and gradients)', async () => {
    const pairs = [pair([4, 17, 24], [4, 16, 40], 5, Float32Array), pair([4, 65, 8], [4, 16, 12], 6, Float32Array)];
    for (const maxPatchNum of [0, 16]) {
      const use = maxPatchNum ? [pairs[1]] : [pairs[0]];
      const gpu = await manifoldLoss(use, { k: 20, seed: 2, maxPatchNum, device: 'cuda', impl: 'fused', grad: 'return' });
      const cpu = await manifoldLoss(use, { k: 20, seed: 2, maxPatchNum, impl: 'naive', grad: 'return' });
      expect(relDiff(gpu.total, cpu.total)).toBeLessThan(1e-4);
      expect(maxRelDiff(gpu.gradStudent![0], cpu.gradStudent![0])).toBeLessThan(1e-4);
    }
  });
});
