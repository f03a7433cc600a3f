// --finetune end to end: a 10-class checkpoint (the official .pth layout, and one of our checkpoint directories)
// fine-tuned on a 3-class ImageFolder at another input size. At lr 0 the trained weights are exactly what was
// loaded: the checkpoint's, except the heads (fresh, 3 classes) and pos_embed (resampled to the new grid).
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { packageRoot } from '../../src/io/packageRoot.js';
import { readTorchCheckpoint } from '../../src/io/pth/torchCheckpoint.js';
import { readSafetensors, type TensorEntry } from '../../src/io/safetensors.js';
import { saveWeights } from '../../src/model/loadWeights.js';
import { loadFinetuneWeights } from '../../src/model/finetuneWeights.js';
import { resamplePosEmbed } from '../../src/native/index.js';
import { buildDist } from '../data/helpers.js';
import { PTH_DIR } from '../io/pthFixtures.js';
import { tinyModel } from './tinyModels.js';

const cli = path.join(packageRoot, 'bin', 'mdistill.js');
/** The .pth fixture's ViT: DeiT-Tiny's layout at width 8, one block, 4 px patches; trained on 8 px images, 10 classes. */
const PTH_VIT = { embedDim: 8, depth: 1, numHeads: 2, patchSize: 4 };
const OURS = { embedDim: 16, depth: 2, numHeads: 2, patchSize: 4 };
let work: string;
let folder: string;

async function makeImageFolder(root: string): Promise<void> {
  let seed = 1;
  for (const split of ['train', 'val']) {
    for (const cls of ['ant', 'bee', 'cow']) {
      const dir = path.join(root, split, cls);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < (split === 'train' ? 8 : 4); i++) {
        const w = 20 + i, h = 18;
        const px = Buffer.alloc(w * h * 3);
        for (let k = 0; k < px.length; k++) px[k] = (k * 31 + seed * 97 + cls.charCodeAt(0) * 13) % 256;
        seed++;
        await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(dir, `${i}.png`));
      }
    }
  }
}

/** One epoch at lr 0 (nothing moves), no augmentation: the saved weights are the loaded ones. */
function frozenRun(outDir: string, extra: string[]): string[] {
  return [
    'train', '--data-set', 'IMAGEFOLDER', '--data-path', folder, '--input-size', '16', '--epochs', '1', '--batch-size', '8',
    '--lr', '0', '--warmup-lr', '0', '--min-lr', '0', '--warmup-epochs', '0', '--no-model-ema', '--drop-path', '0',
    '--mixup', '0', '--cutmix', '0', '--smoothing', '0', '--aa', 'null', '--reprob', '0', '--no-repeated-aug', '--workers', '1',
    '--teacher-check', '0', '--log-every', '1', '--output-dir', outDir, ...extra,
  ];
}

function run(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, MDISTILL_THREADS: '2' } });
}

const same = (a: TensorEntry, b: TensorEntry) =>
  a.shape.join() === b.shape.join() && Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));

function expectCheckpointExceptHead(trained: Map<string, TensorEntry>, source: Map<string, TensorEntry>, grid: number): void {
  for (const [name, t] of trained) {
    const s = source.get(name)!;
    if (name.startsWith('head.')) {
      expect({ name, shape: t.shape }).toEqual({ name, shape: name === 'head.weight' ? [3, s.shape[1]] : [3] });
    } else if (name === 'pos_embed') {
      const resampled = resamplePosEmbed(s.data as Float32Array, s.shape, [grid, grid], 1);
      expect(t.shape).toEqual(resampled.shape);
      expect(Array.from(t.data as Float32Array)).toEqual(Array.from(resampled.data));
    } else {
      expect(same(t, s), name).toBe(true);
    }
  }
  expect([...trained.keys()].sort()).toEqual([...source.keys()].sort());
}

beforeAll(async () => {
  buildDist();
  work = mkdtempSync(path.join(tmpdir(), 'mdistill-finetune-'));
  folder = path.join(work, 'three-classes');
  await makeImageFolder(folder);
});

describe('--finetune', () => {
  it('starts from a 10-class .pth (the official layout) on 3 classes at 16 px: the checkpoint except the head, pos_embed resampled', async () => {
    const out = path.join(work, 'from-pth');
    const source = path.join(PTH_DIR, 'deit_checkpoint_zip.pth');
    const args = frozenRun(out, ['--finetune', source, '--model', 'deit_tiny_patch16_224', '--model-overrides', JSON.stringify(PTH_VIT), '--distillation-type', 'none']);
    const dry = run([...args, '--dry-run']);
    expect(dry.status).toBe(0);
    const r = run(args);
    expect(r.stderr).not.toMatch(/Error|mdistill:/);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`student: --finetune: loaded 17 tensors as they are from ${source}; kept head.weight, head.bias fresh (10 classes in the checkpoint, 3 here); resampled pos_embed [1, 5, 8] -> [1, 17, 8]`);
    const trained = (await readSafetensors(path.join(out, 'checkpoint-last', 'model.safetensors'))).tensors;
    expectCheckpointExceptHead(trained, (await readTorchCheckpoint(source)).tensors, 4);
    // The dry run printed the config.yaml the run wrote.
    expect(dry.stdout).toBe(readFileSync(path.join(out, 'config.yaml'), 'utf8'));
  });

  it('resumes a fine-tuned run with the command a stop prints (its config.yaml names the --finetune); another --finetune is refused', () => {
    const out = path.join(work, 'resumed');
    const source = path.join(PTH_DIR, 'deit_checkpoint_zip.pth');
    const first = run(frozenRun(out, ['--finetune', source, '--model', 'deit_tiny_patch16_224', '--model-overrides', JSON.stringify(PTH_VIT), '--distillation-type', 'none']));
    expect(first.status).toBe(0);
    const resume = ['train', '--config', path.join(out, 'config.yaml'), '--resume', path.join(out, 'checkpoint-last')];
    const again = run(resume);
    expect(again.stderr).not.toMatch(/drop --finetune/);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/nothing to train: .*checkpoint-last has done all 1 epochs/);
    const other = run([...resume, '--finetune', path.join(PTH_DIR, 'deit_checkpoint_legacy.pth')]);
    expect(other.status).toBe(1);
    expect(other.stderr).toContain('a resumed run already has its weights; drop --finetune');
  });

  it('starts from one of our checkpoint directories, and trains with distillation from a teacher', async () => {
    const ckpt = path.join(work, 'ten-class-run', 'checkpoint-best');
    mkdirSync(ckpt, { recursive: true });
    const sourceModel = tinyModel({ ...OURS, imgSize: 8, numClasses: 10 }, 11);
    await saveWeights(sourceModel, path.join(ckpt, 'model.safetensors'));
    const teacher = path.join(work, 'teacher.safetensors');
    await saveWeights(tinyModel({ embedDim: 16, depth: 2, numHeads: 2, numClasses: 3, imgSize: 16 }, 12), teacher);
    const out = path.join(work, 'from-dir');
    const r = run(frozenRun(out, [
      '--finetune', ckpt, '--model', 'deit_tiny_patch16_224', '--model-overrides', JSON.stringify(OURS),
      '--distillation-type', 'soft', '--teacher-path', teacher, '--teacher-model', 'deit_tiny_patch16_224',
      '--teacher-overrides', JSON.stringify({ embedDim: 16, depth: 2, numHeads: 2, patchSize: 4 }), '--s-id', '0', '1', '--t-id', '0', '1', '--K', '8',
    ]));
    expect(r.stderr).not.toMatch(/Error|mdistill:/);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('kept head.weight, head.bias fresh (10 classes in the checkpoint, 3 here); resampled pos_embed [1, 5, 16] -> [1, 17, 16]');
    const trained = (await readSafetensors(path.join(out, 'checkpoint-last', 'model.safetensors'))).tensors;
    expectCheckpointExceptHead(trained, (await readSafetensors(path.join(ckpt, 'model.safetensors'))).tensors, 4);
    // Distillation was on: every logged step has KD and manifold terms.
    const steps = readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; loss?: { kd: number; patch: number } })
      .filter((rec) => rec.kind === 'step');
    expect(steps.length).toBe(3);
    for (const s of steps) {
      expect(s.loss!.kd).toBeGreaterThan(0);
      expect(s.loss!.patch).toBeGreaterThan(0);
    }
  });

  it('names what does not fit: another architecture, or a distilled checkpoint for a plain student', async () => {
    const student = tinyModel({ ...PTH_VIT, imgSize: 8, numClasses: 3 });
    await expect(loadFinetuneWeights(student, path.join(PTH_DIR, 'cait_model_only.pth')))
      .rejects.toThrow(/--finetune .*cait_model_only\.pth: the weights do not fit the model:\n {2}wrong shape/);
    const dir = path.join(work, 'distilled');
    mkdirSync(dir);
    await saveWeights(tinyModel({ ...PTH_VIT, imgSize: 8, numClasses: 10, distilled: true }), path.join(dir, 'model.safetensors'));
    await expect(loadFinetuneWeights(student, dir)).rejects.toThrow(`--finetune ${dir}: the checkpoint is a distilled DeiT (dist_token, head_dist) but the student is not; pick the --model with _distilled_ to match it`);
  });
});
