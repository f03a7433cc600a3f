// What a run without --resume may do with a directory that already holds a run: reuse it when it is the same
// recipe and finished, continue it when the recipe owns the directory, and otherwise refuse, saying what differs.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/resolveConfig.js';
import type { TrainConfig } from '../../src/config/schema.js';
import { assertFreeForResume, claimRunDir, prepareRunDir, recipeDifferences } from '../../src/train/runDirectory.js';
import { tmpDir } from '../data/helpers.js';

const t = tmpDir('rundir');
afterAll(t.cleanup);

function runWith(name: string, stored: TrainConfig, epoch: number): string {
  const dir = path.join(t.dir, name);
  mkdirSync(path.join(dir, 'checkpoint-last'), { recursive: true });
  writeFileSync(path.join(dir, 'checkpoint-last', 'state.json'), JSON.stringify({ epoch, config: stored }));
  return dir;
}

const base: TrainConfig = { ...defaultConfig(), epochs: 3, lr: 0.002 };

describe('claimRunDir', () => {
  it('uses a directory without a checkpoint', async () => {
    mkdirSync(path.join(t.dir, 'empty'));
    writeFileSync(path.join(t.dir, 'empty', 'log.jsonl'), '');
    expect(await claimRunDir(path.join(t.dir, 'empty'), base, { label: 'student' })).toEqual({ kind: 'fresh' });
    expect(await claimRunDir(path.join(t.dir, 'absent'), base, { label: 'student' })).toEqual({ kind: 'fresh' });
  });

  it('reuses a finished run of the same recipe, whatever the machine settings', async () => {
    const dir = runWith('finished', base, 3);
    const use = await claimRunDir(dir, { ...base, threads: 1, workers: 4, 'log-every': 5 }, { label: 'student' });
    expect(use).toEqual({ kind: 'finished', checkpoint: path.join(dir, 'checkpoint-last'), epoch: 3 });
  });

  it('refuses another recipe, naming the keys that differ and the ways out, and changes nothing', async () => {
    const dir = runWith('other', base, 3);
    await expect(claimRunDir(dir, { ...base, lr: 0.001, seed: 4 }, { label: 'student' })).rejects.toThrow(
      new RegExp(`^--output-dir ${dir} already holds a student run \\(epoch 3 of 3\\) with another config \\(lr 0\\.002 → 0\\.001, seed 0 → 4\\)\\. ` +
        `Nothing was changed\\. To keep it and start a new run, pass another --output-dir; to replace it, delete ${dir} first\\. ` +
        `To continue that run with these settings instead, add --resume ${dir}/checkpoint-last\\.$`));
  });

  it('refuses an unfinished run, offering --resume; continues it where the recipe owns the directory', async () => {
    const dir = runWith('unfinished', base, 1);
    await expect(claimRunDir(dir, base, { label: 'student' })).rejects.toThrow(/already holds an unfinished student run of this config \(epoch 1 of 3\)\. .*add --resume .*checkpoint-last/);
    expect(await claimRunDir(dir, base, { label: 'teacher', ownedByRecipe: true })).toMatchObject({ kind: 'continue', epoch: 1 });
    await expect(claimRunDir(runWith('shorter', base, 3), { ...base, epochs: 5 }, { label: 'student' }))
      .rejects.toThrow(/a finished student run of this config with fewer epochs \(3; 5 asked\)\. Nothing was changed\. To train it on to 5 epochs, add --resume/);
  });

  it('ignores the distillation keys for a run without a teacher (a teacher\'s own training, the scratch baseline)', () => {
    const scratch = { ...base, 'distillation-type': 'none' as const };
    expect(recipeDifferences({ ...scratch, 'w-patch': 1, K: 8 }, scratch)).toEqual([]);
    expect(recipeDifferences({ ...base, 'w-patch': 1 }, base)).toEqual(['w-patch 1 → 4']);
  });

  it('counts --finetune as part of the recipe: the student starts from other weights', () => {
    expect(recipeDifferences({ ...base, finetune: 'a.pth' }, base)).toEqual(['finetune "a.pth" → null']);
    expect(recipeDifferences({ ...base, finetune: 'a.pth' }, { ...base, finetune: 'b.pth' })).toEqual(['finetune "a.pth" → "b.pth"']);
    // A run whose config predates a key is compared on the keys it has.
    const { finetune: _, ...older } = base;
    expect(recipeDifferences(older, base)).toEqual([]);
  });
});

describe('assertFreeForResume', () => {
  it('lets a run resume into its own directory or an empty one, never over another run', async () => {
    const a = runWith('resume-a', base, 1);
    const b = runWith('resume-b', base, 3);
    await expect(assertFreeForResume(a, path.join(a, 'checkpoint-last'))).resolves.toBeUndefined();
    await expect(assertFreeForResume(a, path.join(a, '.checkpoint-last.old'))).resolves.toBeUndefined();
    await expect(assertFreeForResume(path.join(t.dir, 'resume-new'), path.join(a, 'checkpoint-last'))).resolves.toBeUndefined();
    await expect(assertFreeForResume(b, path.join(a, 'checkpoint-last'))).rejects.toThrow(
      /^--output-dir .*resume-b already holds a run \(epoch 3 of 3\); --resume .*resume-a\/checkpoint-last continues another run and would write over it\. Nothing was changed\./);
  });
});

describe('prepareRunDir', () => {
  it('names --output-dir and what is in the way', async () => {
    const file = path.join(t.dir, 'a-file');
    writeFileSync(file, 'x');
    await expect(prepareRunDir(file)).rejects.toThrow(/^--output-dir .*a-file: cannot create the run directory: .*a-file is a regular file, not a directory\. Remove it or choose another path, or pass another --output-dir\.$/);
    await expect(prepareRunDir('/proc/mdistill-x/run')).rejects.toThrow(/the file system at \/proc does not allow creating directories there/);
  }, 5000);
});
