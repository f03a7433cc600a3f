import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { addon, fmaPeak, gemmBenchmark, gemmShapeBenchmark, isNativeError, matmulProbe, runtimeInfo, setThreads, type RawGemmEngineInfo } from '../../src/native/index.js';
import { packageRoot } from '../../src/io/packageRoot.js';
import { defaultAddonCandidates } from '../../src/native/loader.js';

/** The CPU's feature flags as Linux reports them (the multiply-add ceiling picks its kernel by them too). */
function cpuFlags(): Set<string> {
  return new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
}

function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += a[i * k + t] * b[t * n + j];
    c[i * n + j] = s;
  }
  return c;
}

function transpose(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
  return out;
}

function seeded(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

describe('native addon', () => {
  it('runs a libtorch autograd matmul that matches values computed in TS', async () => {
    const [m, k, n] = [3, 4, 5];
    const a = seeded(m * k, 1);
    const b = seeded(k * n, 2);
    const r = await matmulProbe(a, [m, k], b, [k, n]);
    const c = matmul(a, b, m, k, n);
    // loss = ½‖C‖²; dL/dA = C·Bᵀ; dL/dB = Aᵀ·C
    const loss = c.reduce((acc, v) => acc + 0.5 * v * v, 0);
    const gradA = matmul(c, transpose(b, k, n), m, n, k);
    const gradB = matmul(transpose(a, m, k), c, k, m, n);
    expect(r.loss).toBeCloseTo(loss, 12);
    c.forEach((v, i) => expect(r.product[i]).toBeCloseTo(v, 12));
    gradA.forEach((v, i) => expect(r.gradA[i]).toBeCloseTo(v, 12));
    gradB.forEach((v, i) => expect(r.gradB[i]).toBeCloseTo(v, 12));
  });

  it('maps a libtorch shape error to a JS Error with a stable code and no C++ backtrace', async () => {
    const caught = await matmulProbe(new Float64Array(6), [2, 3], new Float64Array(8), [4, 2]).catch((e: unknown) => e);
    expect(isNativeError(caught)).toBe(true);
    const err = caught as Error & { code: string };
    expect(err.code).toBe('MDISTILL_SHAPE_MISMATCH');
    expect(err.message).toMatch(/2x3 and 4x2/);
    expect(err.message).not.toMatch(/frame #|Exception raised from/);
  });

  it('rejects a buffer of the wrong type or size with MDISTILL_BAD_ARGUMENT / MDISTILL_SHAPE_MISMATCH', () => {
    expect(() => addon().matmulProbe(new Float32Array(4) as unknown as Float64Array, [2, 2], new Float64Array(4), [2, 2]))
      .toThrow(expect.objectContaining({ code: 'MDISTILL_BAD_ARGUMENT' }));
    expect(() => matmulProbe(new Float64Array(3), [2, 2], new Float64Array(4), [2, 2]))
      .toThrow(expect.objectContaining({ code: 'MDISTILL_SHAPE_MISMATCH' }));
  });

  it('rejects out-of-range arguments before queueing work', () => {
    expect(() => gemmBenchmark(0, 0)).toThrow(expect.objectContaining({ code: 'MDISTILL_BAD_ARGUMENT' }));
  });

  it("times one of the models' GEMM shapes per engine and names the kernel; rejects what an engine cannot run", async () => {
    const shape = { batch: 1, m: 37, k: 19, n: 29, minSeconds: 0 };
    const blas = await gemmShapeBenchmark({ ...shape, dtype: 'float32', engine: 'openblas' });
    expect(blas).toMatchObject({ implementation: 'at::mm' });
    expect(blas.iterations).toBeGreaterThan(0);
    const batched = await gemmShapeBenchmark({ ...shape, batch: 3, dtype: 'bfloat16', engine: 'aten' });
    expect(batched.implementation).toBe('at::bmm');
    if (runtimeInfo().gemmEngine.onednnCompiled) {
      const onednn = await gemmShapeBenchmark({ ...shape, dtype: 'float32', engine: 'onednn' });
      expect(onednn.implementation).toMatch(/^(brg|gemm):/);
      expect(onednn.gflops).toBeGreaterThan(0);
    }
    expect(() => gemmShapeBenchmark({ ...shape, dtype: 'bfloat16', engine: 'openblas' }))
      .toThrow(expect.objectContaining({ code: 'MDISTILL_BAD_ARGUMENT', message: expect.stringContaining('openblas has no bfloat16 GEMM') }));
    expect(() => gemmShapeBenchmark({ ...shape, m: 0, dtype: 'float32', engine: 'aten' }))
      .toThrow(expect.objectContaining({ code: 'MDISTILL_BAD_ARGUMENT' }));
  });

  it("runs the multiply-add ceiling on the CPU's widest instructions, on libtorch's threads; rejects what it lacks", async () => {
    const flags = cpuFlags();
    const fp32 = await fmaPeak({ dtype: 'float32', minSeconds: 0.01 });
    expect(fp32.kernel).toBe(flags.has('avx512f') ? 'avx512f fma' : 'avx2 fma');
    expect(fp32.threads).toBe(runtimeInfo().threads);
    expect(fp32.gflops).toBeGreaterThan(0);
    if (flags.has('avx512_bf16')) {
      expect(await fmaPeak({ dtype: 'bfloat16', minSeconds: 0.01 })).toMatchObject({ kernel: 'avx512_bf16 dot' });
    } else {
      expect(() => fmaPeak({ dtype: 'bfloat16', minSeconds: 0.01 }))
        .toThrow(expect.objectContaining({ code: 'MDISTILL_BAD_ARGUMENT', message: expect.stringContaining('AVX512_BF16') }));
    }
    expect(() => fmaPeak({ dtype: 'float32', minSeconds: 0 }))
      .toThrow(expect.objectContaining({ code: 'MDISTILL_BAD_ARGUMENT', message: expect.stringContaining('minSeconds') }));
  });

  it('keeps the event loop ticking while a ~1 s native op runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const r = await gemmBenchmark(256, 1.0);
    clearInterval(timer);
    expect(r.iterations).toBeGreaterThan(0);
    // A blocking call would let at most one tick through; ~1 s of 10 ms ticks gives dozens.
    expect(ticks).toBeGreaterThan(10);
  });

  it('defaults libtorch to every available core', () => {
    expect(runtimeInfo().threads).toBe(availableParallelism());
  });

  it("runs the addon's own parallel loops on every intra-op thread (built with libtorch's OpenMP)", () => {
    const info = runtimeInfo();
    expect(info.parallelInfo).toContain('ATen parallel backend: OpenMP');
    expect(info.parallelForThreads).toBe(info.threads);
    setThreads(1);
    try {
      expect(runtimeInfo().parallelForThreads).toBe(1);
    } finally {
      setThreads(availableParallelism());
    }
  });

  it('loads in a spawned node process, runs an async op and exits cleanly', () => {
    const addonPath = defaultAddonCandidates({}).find((p) => spawnSync('test', ['-f', p]).status === 0)!;
    const script = `
      const a = require(${JSON.stringify(addonPath)});
      a.setNumThreads(2);
      a.matmulProbe(new Float64Array([1, 2, 3, 4]), [2, 2], new Float64Array([1, 0, 0, 1]), [2, 2])
        .then((r) => { if (r.loss !== 15) throw new Error('bad loss ' + r.loss); console.log('ok'); });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: packageRoot });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
  });
});

describe('mdistill info', () => {
  it('prints JSON with libtorch 1.13.x, threads equal to the core count and the loaded BLAS', () => {
    const r = spawnSync(process.execPath, [path.join(packageRoot, 'bin', 'mdistill.js'), 'info', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, MDISTILL_THREADS: '' },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.libtorchVersion).toMatch(/^1\.13\./);
    expect(info.threads).toBe(availableParallelism());
    expect(info.blas.name).toMatch(/OpenBLAS/);
    expect(info.warnings).toEqual([]);
    // The model presets, one line each.
    expect(info.models).toContainEqual('swin_tiny_patch4_window7_224: Swin, dim 96, depths 2-2-6-2, heads 3-6-12-24, window 7, patch 4, 224 px');
    expect(info.models).toContainEqual('deit_tiny_patch16_224: DeiT, dim 192, depth 12, heads 3, patch 16, 224 px');
  });

  it("with --bench, times a GEMM and the CPU's float32 multiply-add ceiling on the CPU's widest FMA", () => {
    const r = spawnSync(process.execPath, [path.join(packageRoot, 'bin', 'mdistill.js'), 'info', '--bench', '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.gemm).toMatchObject({ size: 1024 });
    expect(info.gemm.gflops).toBeGreaterThan(0);
    const flags = cpuFlags();
    expect(info.fmaCeiling.kernel).toBe(flags.has('avx512f') ? 'avx512f fma' : 'avx2 fma');
    expect(info.fmaCeiling.gflops).toBeGreaterThan(0);
  });

  it("keeps freed memory in the process unless the user set glibc's malloc options or MDISTILL_MALLOC_TUNING=0", () => {
    const cli = path.join(packageRoot, 'bin', 'mdistill.js');
    const tuning = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, [cli, 'info', '--json'], { encoding: 'utf8', env: { ...process.env, ...env } });
      expect(r.status).toBe(0);
      return JSON.parse(r.stdout).mallocTuning as string;
    };
    expect(tuning({})).toMatch(/^applied: /);
    expect(tuning({ MDISTILL_MALLOC_TUNING: '0' })).toBe('skipped: MDISTILL_MALLOC_TUNING=0');
    expect(tuning({ MALLOC_TRIM_THRESHOLD_: '1048576' })).toBe('skipped: MALLOC_TRIM_THRESHOLD_ is set');
  });

  it('reports the GEMM engine with oneDNN version and ISA; MDISTILL_GEMM chooses and a bad value is named', () => {
    const cli = path.join(packageRoot, 'bin', 'mdistill.js');
    const engine = (value: string | undefined) => {
      const r = spawnSync(process.execPath, [cli, 'info', '--json'], { encoding: 'utf8', env: { ...process.env, MDISTILL_GEMM: value ?? '' } });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout).gemmEngine as RawGemmEngineInfo;
    };
    const byDefault = engine(undefined);
    if (byDefault.onednnCompiled) {
      expect(byDefault.onednnVersion).toMatch(/^\d+\.\d+\.\d+$/);
      expect(byDefault.onednnIsa).not.toBe('');
      // oneDNN by default exactly where its ISA has AVX-512.
      expect(byDefault.engine).toBe(byDefault.avx512 ? 'onednn' : 'aten');
      expect(engine('onednn')).toMatchObject({ engine: 'onednn', reason: 'MDISTILL_GEMM=onednn' });
    } else {
      expect(byDefault).toMatchObject({ engine: 'aten', onednnVersion: '', onednnIsa: '' });
    }
    expect(engine('aten')).toMatchObject({ engine: 'aten', reason: 'MDISTILL_GEMM=aten' });
    const bad = spawnSync(process.execPath, [cli, 'info'], { encoding: 'utf8', env: { ...process.env, MDISTILL_GEMM: 'mkl' } });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("MDISTILL_GEMM must be 'onednn' or 'aten', got 'mkl'");
  });

  it('honours MDISTILL_THREADS and rejects a bad value with a message naming it', () => {
    const cli = path.join(packageRoot, 'bin', 'mdistill.js');
    const one = spawnSync(process.execPath, [cli, 'info', '--json'], { encoding: 'utf8', env: { ...process.env, MDISTILL_THREADS: '1' } });
    expect(JSON.parse(one.stdout).threads).toBe(1);
    const bad = spawnSync(process.execPath, [cli, 'info'], { encoding: 'utf8', env: { ...process.env, MDISTILL_THREADS: 'lots' } });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("MDISTILL_THREADS must be a positive integer, got 'lots'");
  });
});
