// The native core without Node: builds the C++ test program (native/tests/core_test.cc, CMake target
// mdistill_core_test, which links only the mdistill_core static library) and runs it. It checks ViT and Swin forwards
// against timm, the fused manifold loss against the naive one, and training steps with the malloc tuning the step
// leaves in effect, which the runs below observe under each environment.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturesDir } from '../model/fixtures.js';

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
    expect(lines).toContain('ok malloc tuning after a step: applied: mmap threshold 32 MiB, no trimming; a 30 MiB block is heap');
    expect(lines.at(-1)).toBe('passed: 0 check(s) failed');
    expect(lines).toHaveLength(23);
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
