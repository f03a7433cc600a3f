// The GPU check's parts that run here (scripts/gpu/): what pack.sh puts in the archive, the Node-side checks and
// the loss check program with the CPU in the GPU's place. The whole dry run (`scripts/gpu/pack.sh &&
// scripts/gpu/check.sh --dry-run`: unpack, a fresh build, every check) takes too long for the suite on 2 cores.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/io/packageRoot.js';
import { buildDist } from '../data/helpers.js';
import { fixturesDir } from '../model/fixtures.js';

function node(args: string[]): { status: number | null; json: Record<string, unknown>; output: string } {
  const r = spawnSync(process.execPath, args, { cwd: packageRoot, encoding: 'utf8' });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return { status: r.status, json: last.startsWith('{') ? JSON.parse(last) : {}, output: r.stdout + r.stderr };
}

describe('GPU check (the parts that run without a GPU)', () => {
  beforeAll(buildDist);

  it('packs the sources, dist/, the N-API headers and only the packages the checks import', () => {
    const r = spawnSync(process.execPath, ['scripts/gpu/packFiles.mjs'], { cwd: packageRoot, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const files = r.stdout.trim().split('\n');
    for (const f of ['CMakeLists.txt', 'native/sources.txt', 'native/core/torch_compat.h', 'native/tests/loss_device_check.cc',
      'scripts/gpu/check.sh', 'scripts/gpu/checks.mjs', 'scripts/build-cuda-kernels.sh', 'bench/step.mjs', 'dist/train/nativeTrainer.js',
      'src/export/onnx.proto', 'node_modules/node-api-headers/include/node_api.h', 'node_modules/node-addon-api/napi.h',
      'node_modules/protobufjs/package.json', 'package.json']) {
      expect(files, f).toContain(f);
    }
    const packages = new Set(files.filter((f) => f.startsWith('node_modules/')).map((f) => f.split('/').slice(1, f.split('/')[1].startsWith('@') ? 3 : 2).join('/')));
    for (const unneeded of ['cmake-js', 'sharp', 'onnxruntime-node', 'vitest', 'typescript', 'yaml', 'commander', 'vega']) {
      expect(packages.has(unneeded), unneeded).toBe(false);
    }
    expect(files.some((f) => f.startsWith('build/'))).toBe(false);
  });

  it('(b) forward parity: the device (here the CPU) against the CPU and timm on every ViT/CaiT fixture', () => {
    const r = node(['scripts/gpu/checks.mjs', 'forward', '--device', 'cpu', '--fixtures', fixturesDir]);
    expect(r.status, r.output).toBe(0);
    expect(r.json).toMatchObject({ check: 'forward', device: 'cpu', ok: true, tolerance: 1e-4 });
    expect(Object.keys(r.json.models as object)).toEqual(['vit_tiny_gray28', 'deit_distilled_32', 'cait_32']);
  });

  it('(d) one step against the CPU\'s, with a checkpoint round trip and an ONNX export of the result', () => {
    const r = node(['scripts/gpu/checks.mjs', 'step', '--device', 'cpu']);
    expect(r.status, r.output).toBe(0);
    expect(r.json).toMatchObject({ ok: true, terms_rel: 0, grad_norm_rel: 0, weights_max_abs: 0, checkpoint_round_trip_max_abs: 0, onnx_identical_to_cpu_export: true });
  });

  it('(e) 20 bf16-autocast steps: finite and decreasing', () => {
    const r = node(['scripts/gpu/checks.mjs', 'amp', '--device', 'cpu', '--batch', '8']);
    expect(r.status, r.output).toBe(0);
    expect(r.json.ok).toBe(true);
    expect((r.json.losses as number[]).length).toBe(20);
  });

  it('(c) the fused loss against the exact one, and (g) its time against naive, on the CPU', () => {
    const buildDir = path.join(packageRoot, existsSync(path.join(packageRoot, 'build', 'CMakeCache.txt')) ? 'build' : 'build-core');
    if (!existsSync(path.join(buildDir, 'CMakeCache.txt'))) {
      expect(spawnSync('cmake', ['-S', packageRoot, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release'], { encoding: 'utf8' }).status).toBe(0);
    }
    const b = spawnSync('cmake', ['--build', buildDir, '--target', 'mdistill_loss_check', '--parallel', String(availableParallelism())], { encoding: 'utf8' });
    expect(b.status, b.stdout + b.stderr).toBe(0);
    const r = spawnSync(path.join(buildDir, 'mdistill_loss_check'), ['--device', 'cpu', '--batch', '4', '--tokens', '16', '--pairs', '2', '--reps', '1', '--warmup', '0'], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(true);
    expect(out.correctness).toHaveLength(3);
    for (const c of out.correctness) {
      expect(c.fused_f32_vs_f64.value_rel).toBeLessThanOrEqual(1e-5);
      expect(c.fused_f32_vs_f64.grad_rel).toBeLessThanOrEqual(1e-4);
    }
    expect(out.bench.fused_ms).toBeGreaterThan(0);
    expect(out.bench.memory_ratio).toBeNull();
  }, 600_000);
});
