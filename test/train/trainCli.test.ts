// The trainer end to end through the CLI: resume exactness across a SIGINT, a non-finite stop that keeps the
// last checkpoint, config errors, and the quickstart's shortened variant producing a report.
import { describe, expect, it, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildDist } from '../data/helpers.js';
import { packageRoot } from '../../src/io/packageRoot.js';
import { saveWeights } from '../../src/model/loadWeights.js';
import { runCli } from '../../src/cli/main.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { tinyModel } from './tinyModels.js';

const cli = path.join(packageRoot, 'bin', 'mdistill.js');
let work: string;
let teacherPath: string;

/** A tiny distillation run on synthetic data: the full recipe (soft KD + manifold + EMA), seconds per epoch. */
function tinyRunFlags(outDir: string, pairs = ['--s-id', '0', '1', '--t-id', '1', '2']): string[] {
  return [
    'train', '--data-set', 'SYNTHETIC', '--input-size', '16', '--train-subset', '256', '--batch-size', '16',
    '--model-overrides', '{"embedDim":32,"depth":2,"numHeads":2,"patchSize":4}',
    '--teacher-model', 'deit_tiny_patch16_224', '--teacher-overrides', '{"embedDim":48,"depth":3,"numHeads":2,"patchSize":4}',
    '--teacher-path', teacherPath, ...pairs, '--K', '32', '--teacher-check', '0',
    '--mixup', '0.8', '--cutmix', '1.0', '--reprob', '0.25', '--model-ema', '--model-ema-decay', '0.9', '--drop-path', '0.1',
    '--no-compare-scratch', '--log-every', '1', '--workers', '1', '--output-dir', outDir,
  ];
}

function run(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, MDISTILL_THREADS: '2' } });
}

async function tensorsOf(file: string) {
  return [...(await readSafetensors(file)).tensors].map(([name, t]) => [name, Buffer.from(t.data.buffer).toString('base64')]);
}

beforeAll(async () => {
  buildDist();
  work = mkdtempSync(path.join(tmpdir(), 'mdistill-train-'));
  teacherPath = path.join(work, 'teacher.safetensors');
  await saveWeights(tinyModel({ embedDim: 48, depth: 3, numClasses: 10 }, 7), teacherPath);
});

describe('mdistill train (CLI)', () => {
  it('resumes after SIGINT to bit-identical weights, and keeps the last checkpoint on a non-finite loss', async () => {
    const straight = path.join(work, 'straight');
    const r = run([...tinyRunFlags(straight), '--epochs', '2']);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);

    const interrupted = path.join(work, 'interrupted');
    const child = spawn(process.execPath, [cli, ...tinyRunFlags(interrupted), '--epochs', '2'], { env: { ...process.env, MDISTILL_THREADS: '2' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const log = path.join(interrupted, 'log.jsonl');
    // Interrupt mid-run: after the third logged step of the first epoch.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const lines = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"kind":"step"')) : [];
        if (lines.length >= 3) {
          clearInterval(timer);
          child.kill('SIGINT');
          resolve();
        }
      }, 20);
      child.on('exit', () => { clearInterval(timer); reject(new Error(`exited before the signal: ${stderr}`)); });
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(stderr).toContain('SIGINT: finishing the current step');
    expect(stderr).toMatch(/To resume: mdistill train --config .*config\.yaml --resume .*checkpoint-last/);
    const state = JSON.parse(readFileSync(path.join(interrupted, 'checkpoint-last', 'state.json'), 'utf8'));
    expect(state.step).toBeGreaterThanOrEqual(3);

    const resumed = run([...tinyRunFlags(interrupted), '--epochs', '2', '--resume', path.join(interrupted, 'checkpoint-last')]);
    expect(resumed.status).toBe(0);
    for (const file of ['model.safetensors', 'ema.safetensors', 'state.safetensors']) {
      expect(await tensorsOf(path.join(interrupted, 'checkpoint-last', file))).toEqual(await tensorsOf(path.join(straight, 'checkpoint-last', file)));
    }

    const before = readFileSync(path.join(straight, 'checkpoint-last', 'model.safetensors'));
    const diverged = run([...tinyRunFlags(straight), '--epochs', '3', '--lr', '1e30', '--resume', path.join(straight, 'checkpoint-last')]);
    expect(diverged.status).toBe(1);
    expect(diverged.stderr).toMatch(/non-finite loss at step \d+: total=\S+ base=\S+ kd=\S+ sample=\S+ patch=\S+ rand=\S+/);
    expect(diverged.stderr).toContain('MDISTILL_NONFINITE_LOSS');
    expect(readFileSync(path.join(straight, 'checkpoint-last', 'model.safetensors')).equals(before)).toBe(true);
  });

  it('rejects bad configs before training, naming the key', async () => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (m: string) => errors.push(m);
    try {
      expect(await runCli(['node', 'mdistill', ...tinyRunFlags(path.join(work, 'bad1'), ['--s-id', '0', '1', '--t-id', '0'])])).toBe(1);
      expect(await runCli(['node', 'mdistill', ...tinyRunFlags(path.join(work, 'bad2'), ['--s-id', '0', '5', '--t-id', '0', '1'])])).toBe(1);
      expect(await runCli(['node', 'mdistill', 'train', '--config', path.join(work, 'missing.yaml')])).toBe(1);
    } finally {
      console.error = original;
    }
    expect(errors[0]).toMatch(/'s-id' has 2 blocks but 't-id' has 1/);
    expect(errors[1]).toMatch(/'s-id' has 5 but the student 'deit_tiny_patch16_224' has blocks 0\.\.1/);
    expect(errors[2]).toMatch(/missing\.yaml' is neither a file nor a preset/);
    const typo = run(['train', '--w-pach', '3']);
    expect(typo.status).not.toBe(0);
    expect(typo.stderr).toMatch(/unknown option '--w-pach'[\s\S]*--w-patch/);
  });
});

describe('a Swin student (CLI)', () => {
  /** A Swin student on a 16 px input, patch 2: blocks 0-1 on an 8x8 grid (block 1 shifted), block 2 on 4x4. */
  // --config quickstart: without it, a 224 px Swin preset starts from the Swin recipe, which sets --max-patch-num.
  const swinFlags = (outDir: string, pairs: string[]) => [
    'train', '--config', 'quickstart', '--data-set', 'SYNTHETIC', '--input-size', '16', '--train-subset', '128', '--batch-size', '16', '--epochs', '1',
    '--model', 'swin_tiny_patch4_window7_224', '--model-overrides', '{"patchSize":2,"embedDim":16,"depths":[2,1],"stageHeads":[2,2],"windowSize":4}',
    '--teacher-model', 'deit_tiny_patch16_224', '--teacher-overrides', '{"embedDim":48,"depth":3,"numHeads":2,"patchSize":4}',
    '--teacher-path', teacherPath, ...pairs, '--K', '32', '--teacher-check', '0', '--no-compare-scratch', '--log-every', '1',
    '--workers', '1', '--output-dir', outDir,
  ];

  it('train --help lists the presets', () => {
    const help = run(['train', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/swin_tiny_patch4_window7_224: Swin, dim 96, depths 2-2-6-2, heads 3-6-12-24, window 7, patch 4, 224 px/);
    expect(help.stdout).toMatch(/cait_s24_224: CaiT, dim 384, depth 24 \+ 2, heads 8/);
  });

  it('distils from a ViT teacher across grids (merged 8x8 -> 4x4, and 4x4 against the teacher\'s 4x4 + cls)', () => {
    const out = path.join(work, 'swin');
    const r = run(swinFlags(out, ['--s-id', '0', '2', '--t-id', '1', '2', '--max-patch-num', '16']));
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const steps = readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((rec) => rec.kind === 'step');
    expect(steps.length).toBeGreaterThan(0);
    for (const s of steps) for (const term of ['sample', 'patch', 'rand']) expect(s.loss[term]).toBeGreaterThan(0);
  });

  it('rejects a pair whose grids differ without --max-patch-num before training, naming the flags and both grids', () => {
    const r = run(swinFlags(path.join(work, 'swin-bad'), ['--s-id', '0', '2', '--t-id', '1', '2']));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--s-id 0 \/ --t-id 1 \(student 'swin_tiny_patch4_window7_224' block 0, teacher 'deit_tiny_patch16_224' block 1\): .*the student's 8x8 grid and the teacher's 4x4 grid differ; set max_patch_num/);
    expect(existsSync(path.join(work, 'swin-bad', 'checkpoint-last'))).toBe(false);
  });
});

describe('quickstart (shortened)', () => {
  it('trains a teacher, a scratch baseline and the distilled student on Fashion-MNIST, then writes the report', () => {
    const out = path.join(work, 'quickstart');
    const r = run(['train', '--train-subset', '512', '--eval-subset', '256', '--epochs', '1', '--teacher-epochs', '1',
      '--teacher-check', '128', '--output-dir', out]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/teacher \(deit_small_patch16_224\)\s+\d+\.\d\d%/);
    expect(r.stdout).toMatch(/student from scratch\s+\d+\.\d\d%/);
    expect(r.stdout).toMatch(/student, soft KD \+ manifold\s+\d+\.\d\d%/);
    for (const f of ['config.yaml', 'log.jsonl', 'report.html', 'classes.json', 'checkpoint-best/model.safetensors', 'teacher/checkpoint-best/model.safetensors']) {
      expect(existsSync(path.join(out, f))).toBe(true);
    }
    const again = run(['train', '--train-subset', '512', '--eval-subset', '256', '--epochs', '1', '--teacher-epochs', '1',
      '--teacher-check', '128', '--no-compare-scratch', '--output-dir', out]);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain('reusing the teacher trained earlier');
    // The second, fresh run replaced the first run's log rather than appending to it.
    const kinds = readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).kind);
    expect(kinds.filter((k) => k === 'teacher')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'summary')).toHaveLength(1);

    const evaluated = run(['eval', '--weights', path.join(out, 'checkpoint-best'), '--eval-subset', '256', '--json']);
    expect(evaluated.status).toBe(0);
    const result = JSON.parse(evaluated.stdout);
    expect(result.samples).toBe(256);
    expect(result.acc1).toBeGreaterThan(10);
    expect(result.acc5).toBeGreaterThanOrEqual(result.acc1);
  });
});
