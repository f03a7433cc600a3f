// The .pth reader against files torch.save wrote (both formats): every tensor bit for bit, the wrapper picked as
// the official code does, EMA on request, views materialised, and clean refusals of what it must not read.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readSafetensors, type TensorEntry } from '../../src/io/safetensors.js';
import { parseTorchCheckpoint, readTorchCheckpoint, TorchCheckpointError } from '../../src/io/pth/torchCheckpoint.js';
import { PYTHON, pythonModule } from '../helpers/requireTool.js';
import { MAKE_FIXTURES, PTH_DIR, makeZip, readManifest } from './pthFixtures.js';

const bytesOf = (t: TensorEntry) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');

async function expectSameTensors(actual: Map<string, TensorEntry>, expectedFile: string): Promise<void> {
  const { tensors: expected } = await readSafetensors(expectedFile);
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    expect({ name, dtype: a.dtype, shape: a.shape }).toEqual({ name, dtype: e.dtype, shape: e.shape });
    expect(bytesOf(a), name).toBe(bytesOf(e));
  }
}

async function checkDirectory(dir: string): Promise<string[]> {
  const manifest = readManifest(dir);
  for (const [name, m] of Object.entries(manifest)) {
    const file = path.join(dir, name);
    const ckpt = await readTorchCheckpoint(file);
    expect({ name, format: ckpt.format, wrapper: ckpt.wrapper, keys: ckpt.topLevelKeys, skipped: ckpt.skipped.map((s) => [s.name, s.dtype]) })
      .toEqual({ name, format: m.format, wrapper: m.wrapper, keys: m.topLevelKeys, skipped: m.skipped });
    expect(ckpt.tensors.size + ckpt.skipped.length).toBe(m.tensors);
    await expectSameTensors(ckpt.tensors, file.replace(/\.pth$/, '.expected.safetensors'));
    if (m.emaWrapper) {
      const ema = await readTorchCheckpoint(file, { ema: true });
      expect(ema.wrapper).toBe(m.emaWrapper);
      await expectSameTensors(ema.tensors, file.replace(/\.pth$/, '.ema.expected.safetensors'));
    }
  }
  return Object.keys(manifest);
}

describe('.pth reader', () => {
  it('reads every committed torch.save fixture bit for bit (zip and legacy formats)', async () => {
    const names = await checkDirectory(PTH_DIR);
    expect(names.sort()).toEqual([
      'cait_model_only.pth', 'dataparallel_legacy.pth', 'deit_checkpoint_legacy.pth', 'deit_checkpoint_zip.pth',
      'timm_fp16.pth', 'views_legacy.pth', 'views_zip.pth',
    ]);
  });

  it('reads the official training checkpoint layout: model weights, not the optimizer, EMA or args', async () => {
    const ckpt = await readTorchCheckpoint(path.join(PTH_DIR, 'deit_checkpoint_zip.pth'));
    expect(ckpt.topLevelKeys).toEqual(['model', 'optimizer', 'lr_scheduler', 'epoch', 'model_ema', 'scaler', 'args']);
    expect(ckpt.wrapper).toBe('model');
    expect([...ckpt.tensors.keys()].slice(0, 4)).toEqual(['cls_token', 'pos_embed', 'patch_embed.proj.weight', 'patch_embed.proj.bias']);
    expect(ckpt.tensors.get('head.weight')!.shape).toEqual([10, 8]);
  });

  it('materialises views: transposes, slices with offsets, expanded and tied tensors, scalars, empty tensors', async () => {
    for (const name of ['views_zip.pth', 'views_legacy.pth']) {
      const { tensors } = await readTorchCheckpoint(path.join(PTH_DIR, name));
      const values = (key: string) => Array.from(tensors.get(key)!.data as Float32Array);
      expect(values('transposed').slice(0, 9)).toEqual([0, 8, 16, 24, 32, 40, 48, 56, 1]);
      expect(values('rows')).toEqual(Array.from({ length: 24 }, (_, i) => 16 + i));
      expect(values('column')).toEqual([3, 11, 19, 27, 35, 43, 51, 59]);
      expect(values('strided')).toEqual([8, 10, 12, 14, 32, 34, 36, 38, 56, 58, 60, 62]);
      expect(values('expanded')).toEqual([1.5, -2.5, 1.5, -2.5, 1.5, -2.5]);
      expect(values('tied_b')).toEqual(values('tied_a'));
      expect(tensors.get('scalar')).toMatchObject({ dtype: 'F32', shape: [] });
      expect(values('scalar')).toEqual([3.25]);
      expect(tensors.get('empty')).toMatchObject({ shape: [0, 4] });
      expect(Array.from(tensors.get('f64')!.data as Float64Array)).toEqual([1, 2, 4, 5]);
      expect(tensors.get('num_batches_tracked')).toMatchObject({ dtype: 'I64', shape: [], data: BigInt64Array.of(7n) });
    }
  });

  it('says why --ema cannot be honoured', async () => {
    await expect(readTorchCheckpoint(path.join(PTH_DIR, 'dataparallel_legacy.pth'), { ema: true })).rejects.toThrow(/dataparallel_legacy\.pth: is a bare state dict, with no EMA weights in it: drop --ema/);
    await expect(readTorchCheckpoint(path.join(PTH_DIR, 'cait_model_only.pth'), { ema: true })).rejects.toThrow(/cait_model_only\.pth: holds no EMA state dict.*'model_ema' or 'state_dict_ema'.*top-level keys are model/);
  });

  it('refuses any other global, naming it and the file, without running it', () => {
    // The pickle of os.system('touch /tmp/pwned') as protocol 2, inside a torch.save-shaped archive.
    const evil = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('cposix\nsystem\nq\x00X\x10\x00\x00\x00touch /tmp/pwnedq\x01\x85q\x02Rq\x03.', 'latin1')]);
    const zip = makeZip([{ name: 'archive/data.pkl', data: evil }, { name: 'archive/version', data: Buffer.from('3\n') }]);
    expect(() => parseTorchCheckpoint(zip, 'evil.pth')).toThrow(TorchCheckpointError);
    expect(() => parseTorchCheckpoint(zip, 'evil.pth')).toThrow(/^evil\.pth: refuses the global 'posix\.system'/);
    // A whole pickled module (torch.save(model)) names its class.
    const module = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('ctimm.models.vision_transformer\nVisionTransformer\nq\x00)\x81q\x01.', 'latin1')]);
    expect(() => parseTorchCheckpoint(makeZip([{ name: 'm/data.pkl', data: module }]), 'model.pth'))
      .toThrow(/model\.pth: refuses the global 'timm\.models\.vision_transformer\.VisionTransformer'.*save model\.state_dict\(\) instead/);
  });

  it('names the file for what is not a checkpoint', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mdistill-pth-'));
    const text = path.join(dir, 'notes.pth');
    writeFileSync(text, 'hello');
    await expect(readTorchCheckpoint(text)).rejects.toThrow(`${text}: not a PyTorch checkpoint`);
    await expect(readTorchCheckpoint(path.join(dir, 'missing.pth'))).rejects.toThrow(/missing\.pth: no such file/);
    const script = makeZip([{ name: 'archive/data.pkl', data: Uint8Array.of(0x80, 0x02, 0x4e, 0x2e) }, { name: 'archive/constants.pkl', data: Uint8Array.of(0x2e) }]);
    expect(() => parseTorchCheckpoint(script, 'scripted.pt')).toThrow(/scripted\.pt: a TorchScript archive/);
    const noneAtAll = makeZip([{ name: 'archive/data.pkl', data: Uint8Array.of(0x80, 0x02, 0x4e, 0x2e) }]);
    expect(() => parseTorchCheckpoint(noneAtAll, 'none.pth')).toThrow(/none\.pth: holds a None, not a dict/);
  });

  const hasTorch = pythonModule('torch', 'python3-torch').present();
  it.skipIf(!hasTorch)(
    `reads the files make_pth_fixtures.py writes with this machine's torch${hasTorch ? '' : ' (skipped: python3-torch is not installed; scripts/setup.sh --peer installs it)'}`,
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'mdistill-pth-regen-'));
      const r = spawnSync(PYTHON, [MAKE_FIXTURES, dir], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(await checkDirectory(dir)).toHaveLength(7);
      // The committed files were made by the same script: same structure, same tensors.
      expect(readFileSync(path.join(dir, 'deit_checkpoint_zip.expected.safetensors'))).toEqual(readFileSync(path.join(PTH_DIR, 'deit_checkpoint_zip.expected.safetensors')));
    },
  );
});
