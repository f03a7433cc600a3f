// Every flag that takes weights accepts the same forms (a .safetensors or .pth file, a checkpoint directory, a run
// directory), and all of them read the complete previous version a crash between a checkpoint swap's two renames
// leaves behind. Loading refuses broken weights by name, and its error stays short for a file of 300k keys.
import { copyFileSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors, type TensorEntry } from '../../src/io/safetensors.js';
import { loadStateDict, saveWeights, stateDictOf } from '../../src/model/loadWeights.js';
import { readWeights, resolveCheckpointDir, resolveWeightsSource } from '../../src/model/weightsSource.js';
import { writeCheckpoint } from '../../src/train/checkpoint.js';
import { tmpDir } from '../data/helpers.js';
import { PTH_DIR } from '../io/pthFixtures.js';
import { tinyModel } from '../train/tinyModels.js';

const t = tmpDir('weightsource');
afterAll(t.cleanup);
const run = path.join(t.dir, 'run');
const file = path.join(t.dir, 'w.safetensors');

beforeAll(async () => {
  const model = tinyModel();
  await saveWeights(model, file);
  const state = { epoch: 1, step: 8, batchInEpoch: 0, bestAcc1: 50, bestEpoch: 0, config: { epochs: 1 }, studentMetadata: {}, worldSize: 1, version: 1 as const };
  for (const name of ['checkpoint-last', 'checkpoint-best']) {
    await writeCheckpoint(path.join(run, name), { model: stateDictOf(model), ema: stateDictOf(model), optimizer: new Map(), state });
  }
});

describe('resolveWeightsSource', () => {
  it('takes a file, a checkpoint directory (model or EMA) and a run directory (its checkpoint-best)', async () => {
    expect(await resolveWeightsSource(file, { flag: '--teacher-path' })).toMatchObject({ file, kind: 'file' });
    const last = path.join(run, 'checkpoint-last');
    expect(await resolveWeightsSource(last, { flag: '--teacher-path' })).toMatchObject({ file: path.join(last, 'model.safetensors'), kind: 'model' });
    expect(await resolveWeightsSource(last, { flag: '--weights', ema: true })).toMatchObject({ file: path.join(last, 'ema.safetensors'), kind: 'ema' });
    const fromRun = await resolveWeightsSource(run, { flag: '--weights' });
    expect(fromRun.file).toBe(path.join(run, 'checkpoint-best', 'model.safetensors'));
    expect(fromRun.note).toMatch(/is a run directory; using its checkpoint-best/);
  });

  it('falls back to the complete previous version when a crash hit between the two renames of a checkpoint swap', async () => {
    const crashed = path.join(t.dir, 'crashed');
    await writeCheckpoint(path.join(crashed, 'checkpoint-last'), {
      model: stateDictOf(tinyModel()), optimizer: new Map(),
      state: { epoch: 1, step: 8, batchInEpoch: 0, bestAcc1: 1, bestEpoch: 0, config: {}, studentMetadata: {}, worldSize: 1, version: 1 },
    });
    renameSync(path.join(crashed, 'checkpoint-last'), path.join(crashed, '.checkpoint-last.old'));
    const old = path.join(crashed, '.checkpoint-last.old');
    const weights = await resolveWeightsSource(path.join(crashed, 'checkpoint-last'), { flag: '--weights' });
    expect(weights.file).toBe(path.join(old, 'model.safetensors'));
    expect(weights.note).toMatch(/checkpoint-last is missing \(a crash while it was being replaced\); using its complete previous version/);
    expect((await resolveCheckpointDir(path.join(crashed, 'checkpoint-last'), { flag: '--resume' })).dir).toBe(old);
    expect((await resolveCheckpointDir(crashed, { flag: '--resume' })).dir).toBe(old);
  });

  it('names the flag and the forms it takes when the argument is none of them', async () => {
    const empty = path.join(t.dir, 'empty');
    mkdirSync(empty);
    await expect(resolveWeightsSource(path.join(t.dir, 'nope'), { flag: '--teacher-path' })).rejects.toThrow(/^--teacher-path .*nope: no such file or directory\. Pass a \.safetensors file, a checkpoint directory/);
    await expect(resolveWeightsSource(empty, { flag: '--weights' })).rejects.toThrow(/^--weights .*empty: the directory has no model\.safetensors and no other \.safetensors file \(it is empty\)/);
    await expect(resolveCheckpointDir(file, { flag: '--resume' })).rejects.toThrow(/^--resume .*w\.safetensors: a weights file holds no optimizer state or data position/);
    await expect(resolveCheckpointDir(empty, { flag: '--resume' })).rejects.toThrow(/^--resume .*empty: not a checkpoint directory \(no state\.json; it is empty\)/);
  });
});

describe('a PyTorch .pth through the same resolver', () => {
  const pth = (name: string) => path.join(PTH_DIR, name);
  const hexOf = (t: TensorEntry) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');

  it('reads the model, or with --ema its model_ema, told by the bytes whatever the name', async () => {
    const renamed = path.join(t.dir, 'checkpoint.bin');
    copyFileSync(pth('deit_checkpoint_zip.pth'), renamed);
    const model = await resolveWeightsSource(renamed, { flag: '--teacher-path' });
    expect(model).toMatchObject({ file: renamed, kind: 'file' });
    expect(await readWeights(model)).toMatchObject({ format: 'pth', wrapper: 'model', metadata: {} });
    const ema = await resolveWeightsSource(renamed, { flag: '--weights', ema: true });
    expect(ema).toMatchObject({ file: renamed, kind: 'ema', emaInFile: true });
    const read = await readWeights(ema);
    expect(read.wrapper).toBe('model_ema');
    const expected = (await readSafetensors(pth('deit_checkpoint_zip.ema.expected.safetensors'))).tensors;
    for (const [name, tensor] of expected) expect(hexOf(read.tensors.get(name)!), name).toBe(hexOf(tensor));
    await expect(resolveWeightsSource(file, { flag: '--weights', ema: true }))
      .rejects.toThrow(/^--ema needs a checkpoint directory \(with ema\.safetensors\) or a \.pth holding model_ema, but --weights .*w\.safetensors is a single file/);
  });

  it("strips DataParallel's module. prefixes once, for every consumer", async () => {
    const { tensors } = await readWeights({ file: pth('dataparallel_legacy.pth') });
    expect([...tensors.keys()].some((k) => k.startsWith('module.'))).toBe(false);
    expect(tensors.has('blocks.0.attn.qkv.weight')).toBe(true);
  });

  it('--resume of a .pth is refused, pointing at --finetune; of a .safetensors too', async () => {
    await expect(resolveCheckpointDir(pth('deit_checkpoint_legacy.pth'), { flag: '--resume' }))
      .rejects.toThrow(/^--resume .*deit_checkpoint_legacy\.pth: a PyTorch checkpoint cannot be resumed here: .*pass --finetune .*deit_checkpoint_legacy\.pth instead/);
    await expect(resolveCheckpointDir(file, { flag: '--resume' })).rejects.toThrow(/To start training from these weights, pass --finetune .*w\.safetensors\.$/);
  });
});

describe('loading refuses broken weights by name', () => {
  it('non-finite values: names the file and the tensor', async () => {
    const broken = path.join(t.dir, 'nan.safetensors');
    const tensors = stateDictOf(tinyModel());
    (tensors.get('blocks.1.mlp.fc1.weight')!.data as Float32Array)[7] = NaN;
    await writeSafetensors(broken, tensors);
    const { tensors: read } = await readSafetensors(broken);
    expect(() => loadStateDict(tinyModel(), read, { source: broken, role: 'teacher' }))
      .toThrow(/nan\.safetensors: tensor 'blocks\.1\.mlp\.fc1\.weight' holds 1 non-finite value\(s\).*as the teacher/);
  });

  it('an I64 tensor: names the file', async () => {
    const ints = path.join(t.dir, 'ints.safetensors');
    const tensors = stateDictOf(tinyModel());
    const head = tensors.get('head.bias')!;
    tensors.set('head.bias', { dtype: 'I64', shape: head.shape, data: new BigInt64Array(head.shape[0]) } as TensorEntry);
    await writeSafetensors(ints, tensors);
    const { tensors: read } = await readSafetensors(ints);
    expect(() => loadStateDict(tinyModel(), read, { source: ints })).toThrow(/ints\.safetensors: tensor 'head\.bias': is I64/);
  });

  it('300k unexpected keys: a short message that counts them', async () => {
    const many = stateDictOf(tinyModel());
    for (let i = 0; i < 300_000; i++) many.set(`extra.${i}`, { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    let message = '';
    try {
      loadStateDict(tinyModel(), many, { source: 'huge.safetensors' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/unexpected in the checkpoint \(300000\): extra\.0, extra\.1, .*… \(300000 in all\)/);
    expect(message.length).toBeLessThan(1000);
  });
});
