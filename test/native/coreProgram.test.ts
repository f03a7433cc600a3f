// The native core without Node: builds the C++ test program (native/tests/core_test.cc, CMake target
// mdistill_core_test, which links only the mdistill_core static library) and runs it. It checks ViT and Swin forwards
// against timm, the fused manifold loss against the naive one, training steps with the malloc tuning the step
// leaves in effect (which the runs below observe under each environment), the GEMM layer's ops against ATen in
// float32, float64 and bfloat16 (native/tests/gemm_checks.cc), a step on each GEMM engine and under --amp, and the
// teacher's bfloat16 replica.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturesDir } from '../model/fixtures.js';
import { runtimeInfo } from '../../src/native/index.js';
import { requireTool } from '../helpers/requireTool.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const hasCmake = spawnSync('cmake', ['--version']).status === 0;
// The cmake-js build directory when `npm run build:native` used CMake (its core objects are reused); otherwise a
// directory of its own.
const buildDir = existsSync(path.join(root, 'build', 'CMakeCache.txt')) ? path.join(root, 'build') : path.join(root, 'build-core');
const program = path.join(buildDir, 'mdistill_core_test');

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' });
  expect(r.error, `${cmd} ${args.join(' ')}`).toBeUndefined();
  expect(r.status, `${cmd} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

function build(): void {
  if (!existsSync(path.join(buildDir, 'CMakeCache.txt'))) {
    const generator = spawnSync('ninja', ['--version']).status === 0 ? ['-G', 'Ninja'] : [];
    run('cmake', ['-S', root, '-B', buildDir, ...generator, '-DCMAKE_BUILD_TYPE=Release']);
  }
  const jobs = String(Number(process.env.MDISTILL_BUILD_JOBS) || availableParallelism());
  run('cmake', ['--build', buildDir, '--target', 'mdistill_core_test', '--parallel', jobs]);
}

function runProgram(env: Record<string, string>): { status: number | null; lines: string[]; output: string } {
  const r = spawnSync(program, [fixturesDir], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, lines: r.stdout.trim().split('\n'), output: r.stdout + r.stderr };
}

describe.skipIf(!hasCmake)('the native core without Node (C++ test program)', () => {
  // A cold build of the core on 2 cores takes minutes; with the addon's objects (or ccache) it takes seconds.
  beforeAll(build, 600_000);

  it('links the core library alone (no Node) and passes every check', () => {
    const { status, lines, output } = runProgram({});
    expect(output).not.toMatch(/^FAIL /m);
    const forwards = [
      ...['logits', 'block.0', 'block.1', 'block.2'].map((check) => `vit_tiny_gray28 ${check}`),
      ...['logits', 'block.0', 'block.1', 'block.2', 'block.3', 'block.4', 'block.5'].map((check) => `swin_32 ${check}`),
    ];
    for (const check of forwards) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ok model forward ${check.replace('.', '\\.')}: max \\|diff\\| \\S+ against timm \\(tolerance 0\\.0001\\)$`)));
    }
    for (const shapes of ['two pairs, one extra student token', 'K >= B*N clamped', 'merge 8x8 (+cls) with 4x4, max_patch_num 16',
      'merge 14x14 (+cls) with 7x7, max_patch_num 49', 'Swin stages 8x8 and 4x4 against a ViT 4x4 (+cls), max_patch_num 16']) {
      expect(lines.filter((l) => l.startsWith(`ok manifold fused = naive (float64) ${shapes}: `))).toHaveLength(1);
    }
    expect(lines).toContainEqual(expect.stringMatching(/^ok device specs: cpu accepted, 8 malformed specs refused, cuda:\d+ refused: /));
    expect(lines).toContain('ok step generators cpu: a drop-path mask repeats under the same seed and changes with another');
    expect(lines).toContainEqual(expect.stringMatching(/^ok autocast per device type: CUDA's on leaves the CPU's off and the reverse; dtypes kept apart \(libtorch \d/));
    expect(lines).toContainEqual(expect.stringMatching(/^ok distill step: /));
    expect(lines).toContainEqual(expect.stringMatching(/^ok distill step, Swin student merged to a ViT teacher's grid: /));
    expect(lines).toContain('ok malloc tuning after a step: applied: mmap threshold 32 MiB, no trimming, one arena; a 30 MiB block is heap');
    expect(lines.at(-1)).toBe('passed: 0 check(s) failed');
    expect(lines).toHaveLength(23 + GEMM_CHECKS.length);
    expect(status).toBe(0);
  });

  // The GEMM layer's checks (native/tests/gemm_checks.cc and the step-level ones in core_test.cc). The program skips
  // the oneDNN ones in a build without oneDNN (a GPU machine's PyTorch has no oneDNN headers); scripts/setup.sh
  // installs libdnnl-dev, so here the build must have it and every one must pass.
  const GEMM_CHECKS = [
    ...['Linear [3, 37, 19] x [29, 19]ᵀ + b', 'Linear + GELU [3, 37, 19] x [29, 19]ᵀ + b', 'Linear without bias [111, 19] x [29, 19]ᵀ',
      'Linear on a strided view (rows 40 apart)', 'Linear on a transposed input', 'Linear on a selected token [111, 3, 19][:, 1]',
      'Matmul q·kᵀ·0.3 [5, 37, 19] x [5, 23, 19]ᵀ', 'Matmul on a transposed a [5, 19, 37]ᵀ x [5, 19, 23]',
      'Matmul broadcast [1, 7, 7] x [4, 7, 61]', 'Matmul M=1 [6, 1, 16] x [6, 33, 16]ᵀ', 'Matmul 2-D [37, 19] x [19, 23]',
      'SelfAttention [3, 37, 3·24], 3 heads', 'SelfAttention with talking heads (inference) [3, 37, 3·32], 4 heads']
      .map((op) => `gemm float32 onednn = aten ${op}`),
    'talking-heads softmax in one pass (float32) = float64 composition [3, 6, 37, 37]',
    'talking-heads softmax in one pass (bfloat16) = float64 composition [3, 6, 37, 37]',
    'gemm float64 gradients = finite differences Linear + GELU [2, 3, 5] x [4, 5]ᵀ + b',
    'gemm float64 gradients = finite differences Matmul broadcast·0.7 [1, 3, 4] x [2, 5, 4]ᵀ',
    'gemm float64 gradients = finite differences SelfAttention [2, 5, 3·4], 2 heads',
    'gemm bfloat16 under amp Linear [3, 37, 64] x [48, 64]ᵀ + b',
    'gemm bfloat16 under amp Matmul·0.5 [5, 37, 32] x [5, 23, 32]ᵀ',
    'gemm bfloat16 under amp Linear + GELU read by products (fc1) [3, 37, 64] x [96, 64]ᵀ + b',
    'gemm bfloat16 under amp SelfAttention [3, 37, 3·24], 3 heads',
    "gemm bfloat16 in and out (a bfloat16 model's Linear + GELU)",
    'distill step onednn = aten (float32)',
    'distill step amp (bfloat16) near float32, onednn',
    'distill step amp (bfloat16) near float32, aten',
    'bf16 replica',
    'bf16 replica of a Swin',
  ];

  it('holds the GEMM layer to ATen: float32 at 1e-5, float64 gradients, bfloat16, both engines on a step', () => {
    requireTool({
      what: "oneDNN's headers in the addon's build (it was built without them)", debianPackage: 'libdnnl-dev',
      present: () => runtimeInfo().gemmEngine.onednnCompiled, otherwise: 'then rebuild with `npm run build:native`',
    });
    const { status, lines } = runProgram({});
    for (const check of GEMM_CHECKS) {
      const escaped = check.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(lines.filter((l) => new RegExp(`^ok ${escaped}: `).test(l)), check).toHaveLength(1);
    }
    // Each float32 and bfloat16 op check ran its forward and both input gradients on oneDNN; self-attention its
    // six products (with talking heads, inference only: scores and output, the mixings and softmax fused between).
    expect(lines.filter((l) => / 3 products on oneDNN$/.test(l))).toHaveLength(14);
    expect(lines.filter((l) => / 6 products on oneDNN$/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => /talking heads \(inference\).* 2 products on oneDNN$/.test(l))).toHaveLength(1);
    expect(status).toBe(0);
  });

  it('with MDISTILL_MALLOC_TUNING=0 or a MALLOC_*_ variable of the user, the step leaves glibc malloc as it was', () => {
    const off = runProgram({ MDISTILL_MALLOC_TUNING: '0' });
    expect(off.lines).toContain('ok malloc tuning after a step: skipped: MDISTILL_MALLOC_TUNING=0; a 30 MiB block is mmapped');
    expect(off.status).toBe(0);
    const user = runProgram({ MALLOC_TRIM_THRESHOLD_: '1048576' });
    expect(user.lines).toContain('ok malloc tuning after a step: skipped: MALLOC_TRIM_THRESHOLD_ is set; a 30 MiB block is mmapped');
    expect(user.status).toBe(0);
  });
});
