// The CLI against an unlucky user (issue 16): a re-run never destroys an earlier run, every weights flag takes the
// same forms and agrees on a checkpoint caught mid-swap, SIGHUP stops like SIGTERM, a broken teacher is named, a
// broken validation set fails before an epoch is spent (or after the epoch was saved), limits are enforced with
// a message, and no raw errno or C++ text reaches the user. Tiny synthetic runs, seconds each.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/io/packageRoot.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { saveWeights, stateDictOf } from '../../src/model/loadWeights.js';
import { writeCheckpoint } from '../../src/train/checkpoint.js';
import { buildDist, tmpDir } from '../data/helpers.js';
import { tinyModel } from './tinyModels.js';

const cli = path.join(packageRoot, 'bin', 'mdistill.js');
const t = tmpDir('reliability');
afterAll(t.cleanup);
let teacherFile: string;

const RAW = /\b(EISDIR|EEXIST|EROFS|ENOENT|ENOSPC|ELOOP|EACCES|ENOTDIR)\b:|alloc_cpu\.cpp|c10::|frame #\d/;

function tiny(outDir: string, extra: string[] = []): string[] {
  return [
    'train', '--data-set', 'SYNTHETIC', '--input-size', '16', '--train-subset', '64', '--eval-subset', '32', '--batch-size', '16',
    '--epochs', '1', '--model-overrides', '{"embedDim":32,"depth":2,"numHeads":2,"patchSize":4}',
    '--teacher-model', 'deit_tiny_patch16_224', '--teacher-overrides', '{"embedDim":48,"depth":3,"numHeads":2,"patchSize":4}',
    '--teacher-path', teacherFile, '--s-id', '0', '1', '--t-id', '1', '2', '--K', '16', '--teacher-check', '0',
    '--no-compare-scratch', '--log-every', '1', '--workers', '0', '--output-dir', outDir, ...extra,
  ];
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, MDISTILL_THREADS: '2', ...env } });
  expect(r.stderr).not.toMatch(RAW);
  return r;
}

beforeAll(async () => {
  buildDist();
  teacherFile = path.join(t.dir, 'teacher.safetensors');
  await saveWeights(tinyModel({ embedDim: 48, depth: 3, numClasses: 10 }, 7), teacherFile);
});

describe('a re-run into a used --output-dir', () => {
  it('refuses another config without touching the run, reuses the same finished one, and a resumed finished run shows real numbers', () => {
    const dir = path.join(t.dir, 'rerun');
    expect(run(tiny(dir)).status).toBe(0);
    const log = readFileSync(path.join(dir, 'log.jsonl'));
    const weights = readFileSync(path.join(dir, 'checkpoint-last', 'model.safetensors'));

    const other = run(tiny(dir, ['--lr', '1e-3']));
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/--output-dir .*rerun already holds a student run \(epoch 1 of 1\) with another config \(lr 0\.002 → 0\.001\)\. Nothing was changed\. To keep it and start a new run, pass another --output-dir.*--resume .*checkpoint-last/);

    const dead = 2 ** 22 + 4321;
    mkdirSync(path.join(dir, `.checkpoint-last.tmp-${dead}`, 'x'), { recursive: true });
    const same = run(tiny(dir, ['--threads', '1']));
    expect(same.status).toBe(0);
    expect(same.stderr).toMatch(/rerun holds this run, finished \(epoch 1 of 1\): showing its results without training again/);
    expect(same.stdout).toMatch(/student, soft KD \+ manifold( \(EMA\))?\s+\d+\.\d\d%\s+\d+\.\d\d%/);
    expect(existsSync(path.join(dir, `.checkpoint-last.tmp-${dead}`))).toBe(false);

    const resumed = run(tiny(dir, ['--resume', path.join(dir, 'checkpoint-last')]));
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).not.toContain('NaN');
    expect(resumed.stdout).toMatch(/student, soft KD \+ manifold( \(EMA\))?\s+\d+\.\d\d%\s+\d+\.\d\d%/);
    expect(resumed.stderr).toMatch(/nothing to train: .*checkpoint-last has done all 1 epochs/);

    expect(readFileSync(path.join(dir, 'log.jsonl')).equals(log)).toBe(true);
    expect(readFileSync(path.join(dir, 'checkpoint-last', 'model.safetensors')).equals(weights)).toBe(true);
  });
});

describe('weights arguments', () => {
  it('--teacher-path takes a checkpoint directory, as eval/export --weights do', async () => {
    const ckpt = path.join(t.dir, 'teacher-run', 'checkpoint-best');
    const { tensors, metadata } = await readSafetensors(teacherFile);
    await writeCheckpoint(ckpt, {
      model: tensors, optimizer: new Map(),
      state: { epoch: 1, step: 1, batchInEpoch: 0, bestAcc1: 1, bestEpoch: 0, config: {}, studentMetadata: metadata, worldSize: 1, version: 1 },
    });
    const r = run([...tiny(path.join(t.dir, 'from-ckpt')), '--teacher-path', ckpt]);
    expect(r.stderr).not.toMatch(/cannot read|EISDIR/);
    expect(r.status).toBe(0);
    const fromRun = run([...tiny(path.join(t.dir, 'from-run')), '--teacher-path', path.join(t.dir, 'teacher-run')]);
    expect(fromRun.status).toBe(0);
    expect(fromRun.stderr).toMatch(/teacher-run is a run directory; using its checkpoint-best/);
  });

  it('eval, export and --resume all read a checkpoint caught between the two renames of its swap', () => {
    const dir = path.join(t.dir, 'mid-swap');
    expect(run(tiny(dir)).status).toBe(0);
    renameSync(path.join(dir, 'checkpoint-last'), path.join(dir, '.checkpoint-last.old'));
    const last = path.join(dir, 'checkpoint-last');
    const evaluated = run(['eval', '--weights', last, '--data-set', 'SYNTHETIC', '--eval-subset', '16', '--json']);
    expect(evaluated.status).toBe(0);
    expect(JSON.parse(evaluated.stdout).samples).toBe(16);
    const exported = run(['export', '--weights', last, '--safetensors', path.join(t.dir, 'mid-swap.safetensors')]);
    expect(exported.status).toBe(0);
    const resumed = run(tiny(dir, ['--epochs', '2', '--resume', last]));
    expect(resumed.status).toBe(0);
    expect(JSON.parse(readFileSync(path.join(last, 'state.json'), 'utf8')).epoch).toBe(2);
  });
});

describe('signals', () => {
  it('SIGHUP (a closed terminal) stops like SIGTERM: checkpoint-last saved, exit 129', async () => {
    const dir = path.join(t.dir, 'hup');
    const child = spawn(process.execPath, [cli, ...tiny(dir, ['--epochs', '3', '--train-subset', '256'])], { env: { ...process.env, MDISTILL_THREADS: '2' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const log = path.join(dir, 'log.jsonl');
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (existsSync(log) && readFileSync(log, 'utf8').split('"kind":"step"').length > 3) {
          clearInterval(timer);
          child.kill('SIGHUP');
          resolve();
        }
      }, 20);
      void exited.then(() => { clearInterval(timer); reject(new Error(`exited before the signal: ${stderr}`)); });
    });
    expect(await exited).toEqual({ code: 129, signal: null });
    expect(stderr).toMatch(/stopped by SIGHUP; checkpoint-last is saved\. To resume: mdistill train --config .*config\.yaml --resume .*checkpoint-last/);
    expect(JSON.parse(readFileSync(path.join(dir, 'checkpoint-last', 'state.json'), 'utf8')).step).toBeGreaterThanOrEqual(3);
  }, 60_000);
});

describe('teachers', () => {
  it('a teacher with non-finite weights is refused at load, by file and tensor', async () => {
    const broken = path.join(t.dir, 'nan-teacher.safetensors');
    const tensors = stateDictOf(tinyModel({ embedDim: 48, depth: 3, numClasses: 10 }, 7));
    (tensors.get('blocks.2.attn.qkv.weight')!.data as Float32Array).fill(NaN, 0, 5);
    await writeSafetensors(broken, tensors);
    const r = run([...tiny(path.join(t.dir, 'nan-run')), '--teacher-path', broken]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nan-teacher\.safetensors: tensor 'blocks\.2\.attn\.qkv\.weight' holds 5 non-finite value\(s\).*as the teacher/);
    expect(r.stderr).not.toMatch(/Lower --lr/);
  });

  it('--distillation-type none says the teacher is not used, and does not check the layer pairs against the student', () => {
    const r = run(tiny(path.join(t.dir, 'no-teacher'), ['--distillation-type', 'none', '--s-id', '0', '1', '2', '3', '--t-id', '1', '2', '4', '5']));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/--distillation-type none trains without a teacher; --teacher-path .*teacher\.safetensors is not used/);
  });
});

describe('limits and paths', () => {
  it('caps MDISTILL_THREADS at the cores with a warning, and warns when MDISTILL_ADDON cannot be loaded', () => {
    const info = run(['info', '--json'], { MDISTILL_THREADS: '99999' });
    expect(info.status).toBe(0);
    expect(JSON.parse(info.stdout).threads).toBe(availableParallelism());
    expect(info.stderr).toContain(`warning: MDISTILL_THREADS 99999 is more than the ${availableParallelism()} cores this process may use; using ${availableParallelism()}`);
    const addon = run(['info', '--json'], { MDISTILL_ADDON: '/nonexistent/mdistill.node' });
    expect(addon.status).toBe(0);
    expect(addon.stderr).toMatch(/warning: MDISTILL_ADDON=\/nonexistent\/mdistill\.node could not be loaded \(not-built: file does not exist\); falling back to the built addon/);
  }, 60_000);

  it('--output-dir over a file or on a file system that takes no directories: names the flag, no raw errno, no hang', () => {
    const file = path.join(t.dir, 'plain-file');
    writeFileSync(file, 'x');
    const overFile = run(tiny(file));
    expect(overFile.status).toBe(1);
    expect(overFile.stderr).toMatch(/--output-dir .*plain-file: cannot create the run directory: .*plain-file is a regular file, not a directory/);
    const proc = run(tiny('/proc/mdistill-test/run'));
    expect(proc.status).toBe(1);
    expect(proc.stderr).toMatch(/--output-dir \/proc\/mdistill-test\/run: cannot create the run directory: the file system at \/proc does not allow creating directories there/);
  });

  it('a full disk under the run log names the file and what to do; the last checkpoint stays intact', () => {
    const dir = path.join(t.dir, 'full-disk');
    expect(run(tiny(dir)).status).toBe(0);
    const weights = readFileSync(path.join(dir, 'checkpoint-last', 'model.safetensors'));
    rmSync(path.join(dir, 'log.jsonl'));
    symlinkSync('/dev/full', path.join(dir, 'log.jsonl'));
    const r = run(tiny(dir, ['--epochs', '2', '--resume', path.join(dir, 'checkpoint-last')]));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/log\.jsonl: cannot append to the run log: no space is left on the device\. Free some space/);
    expect(readFileSync(path.join(dir, 'checkpoint-last', 'model.safetensors')).equals(weights)).toBe(true);
  });
});

describe('a broken validation set', () => {
  async function folder(root: string, corruptVal: string, valImages = 4): Promise<void> {
    for (const split of ['train', 'val']) {
      for (const cls of ['a', 'b']) {
        mkdirSync(path.join(root, split, cls), { recursive: true });
        for (let i = 0; i < (split === 'val' ? valImages : 4); i++) {
          await sharp(Buffer.alloc(20 * 20 * 3, i * 50 + (cls === 'a' ? 0 : 25)), { raw: { width: 20, height: 20, channels: 3 } })
            .jpeg().toFile(path.join(root, split, cls, `${i}.jpg`));
        }
      }
    }
    writeFileSync(path.join(root, 'val', corruptVal), 'not a jpeg');
  }
  const flags = (root: string, out: string) => [
    'train', '--data-set', 'IMAGEFOLDER', '--data-path', root, '--input-size', '16', '--batch-size', '4', '--epochs', '1',
    '--model-overrides', '{"embedDim":32,"depth":2,"numHeads":2,"patchSize":4}', '--distillation-type', 'none', '--aa', 'none',
    '--mixup', '0', '--cutmix', '0', '--reprob', '0', '--no-repeated-aug', '--max-bad-fraction', '0', '--log-every', '1', '--workers', '0', '--output-dir', out,
  ];

  it('fails before training when the first validation batch cannot be read', async () => {
    const root = path.join(t.dir, 'val-first');
    await folder(root, 'a/0.jpg');
    const out = path.join(t.dir, 'val-first-run');
    const r = run(flags(root, out));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/MDISTILL_TOO_MANY_BAD_SAMPLES/);
    expect(readFileSync(path.join(out, 'log.jsonl'), 'utf8')).not.toContain('"kind":"step"');
  });

  it('saves the epoch before evaluating it, so a bad image later in val loses no training', async () => {
    const root = path.join(t.dir, 'val-late');
    // 16 + 16 good images, then the bad one: in the 6th batch of 6, beyond what the check and its prefetch read.
    await folder(root, 'b/99.jpg', 16);
    const out = path.join(t.dir, 'val-late-run');
    const r = run(flags(root, out));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/b\/99\.jpg/);
    expect(JSON.parse(readFileSync(path.join(out, 'checkpoint-last', 'state.json'), 'utf8')).epoch).toBe(1);
    expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('the launcher refuses absurd process counts', () => {
  it('--nproc-per-node beyond 4 per core is an error, before anything starts', () => {
    const r = run(tiny(path.join(t.dir, 'many'), ['--nproc-per-node', String(4 * availableParallelism() + 1)]));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--nproc-per-node \d+: at most \d+ \(4 per core/);
  });
});
