// The fused CUDA manifold kernels: they must build with nvcc everywhere (CI has no GPU), and match the CPU
// implementation wherever a CUDA device exists. Without nvcc or a device the tests skip (test/helpers/requireTool.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { manifoldLoss } from '../../src/loss/manifoldLoss.js';
import { runtimeInfo } from '../../src/native/index.js';
import { packageRoot } from '../../src/io/packageRoot.js';
import { findNvcc, hasCudaDevice } from '../helpers/requireTool.js';
import { maxRelDiff, pair, relDiff } from './lossTestUtils.js';

const nvcc = findNvcc();
const hasGpu = hasCudaDevice();

interface CudaTestReport {
  ok: boolean;
  skipped?: string;
  device?: string;
  worst_rel_f64?: number;
  worst_rel_f32?: number;
  reference_gradcheck: number;
}

describe.skipIf(!nvcc)('CUDA manifold kernels built with nvcc', () => {
  let buildDir: string;
  let build: SpawnSyncReturns<string>;
  let program: string;

  // One build serves both tests; its folder goes whatever they do.
  beforeAll(() => {
    buildDir = mkdtempSync(path.join(tmpdir(), 'mdistill-cuda-'));
    program = path.join(buildDir, 'manifold_cuda_test');
    build = spawnSync(path.join(packageRoot, 'scripts', 'build-cuda-kernels.sh'), [], {
      encoding: 'utf8',
      env: { ...process.env, MDISTILL_CUDA_BUILD_DIR: buildDir, MDISTILL_CUDA_ARCH: '80' },
    });
  });
  afterAll(() => {
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  });

  it('compile with nvcc (sm_80) into a static library and the standalone test program', () => {
    expect(build.stderr + build.stdout).not.toMatch(/error/i);
    expect(build.status).toBe(0);
    expect(build.stdout.trim().split('\n').pop()).toBe(program);
  });

  it(`test program ${hasGpu ? 'matches the CPU implementation on the device' : 'checks its CPU reference (skipped on the device: no CUDA device)'}`, () => {
    expect(existsSync(program), `the build did not produce ${program}:\n${build.stderr}`).toBe(true);
    const r = spawnSync(program, [], { encoding: 'utf8' });
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
  });
});

describe('CUDA manifold loss through the addon', () => {
  const cudaAddon = (() => {
    try {
      const info = runtimeInfo();
      return info.cudaCompiled && info.cudaDevices.length > 0;
    } catch {
      return false;
    }
  })();

  it.skipIf(!cudaAddon)('fused on CUDA equals naive on CPU (values and gradients)', async () => {
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
