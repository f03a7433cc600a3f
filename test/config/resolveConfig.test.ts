import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkLayerPairs, coerceValue, ConfigError, configToYaml, defaultConfig, parseConfigObject, resolveConfig } from '../../src/config/resolveConfig.js';

function yamlFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'mdistill-cfg-')), 'c.yaml');
  writeFileSync(file, text);
  return file;
}

describe('config', () => {
  it('loads the paper preset by name', async () => {
    const c = await resolveConfig({ configFile: 'deit-tiny-cait-s24' });
    expect(c['teacher-model']).toBe('cait_s24_224');
    expect(c['t-id']).toEqual([0, 1, 2, 3, 20, 21, 22, 23]);
    expect(c['w-patch']).toBe(4);
  });

  it('loads the fine-tuning preset: DeiT\'s AdamW transfer recipe for CIFAR at 224 px, without a teacher', async () => {
    const c = await resolveConfig({ configFile: 'finetune-cifar', flags: { finetune: 'manifold_kd_deit_76.4.pth' } });
    expect(c).toMatchObject({
      model: 'deit_tiny_patch16_224', 'data-set': 'CIFAR10', 'input-size': 224, 'distillation-type': 'none', finetune: 'manifold_kd_deit_76.4.pth',
      epochs: 1000, 'batch-size': 96, lr: 5e-6, 'warmup-epochs': 5, 'warmup-lr': 1e-6, 'weight-decay': 0.05, 'drop-path': 0.1,
      mixup: 0.8, cutmix: 1.0, smoothing: 0.1, reprob: 0, 'repeated-aug': true, aa: 'rand-m9-mstd0.5-inc1',
    });
    // The schedule decays: the floor is below the scaled lr (7.5e-6 at DeiT's global batch of 768).
    expect(c['min-lr']).toBeLessThan((c.lr * 768) / 512);
  });

  it('lets flags override the file', async () => {
    const c = await resolveConfig({ configFile: yamlFile('epochs: 3\nlr: 0.001\n'), flags: { epochs: 7 } });
    expect(c.epochs).toBe(7);
    expect(c.lr).toBe(0.001);
  });

  it('rejects an unknown key with a did-you-mean naming the file', async () => {
    const file = yamlFile('w-pach: 3\n');
    await expect(resolveConfig({ configFile: file })).rejects.toThrow(`${file}: unknown key 'w-pach' (did you mean 'w-patch'?)`);
  });

  it('rejects a wrong type naming the key', () => {
    expect(() => parseConfigObject({ epochs: 'ten' }, 'c.yaml')).toThrow(/c\.yaml: 'epochs' must be an integer >= 1, got "ten"/);
    expect(() => coerceValue('distillation-type', 'sfot', '--distillation-type')).toThrow(/did you mean 'soft'/);
    expect(() => coerceValue('lr', 'abc', '--lr')).toThrow(/--lr: 'lr' must be a number/);
  });

  it('shows NaN and Infinity as themselves (JSON would print null)', async () => {
    await expect(resolveConfig({ configFile: yamlFile('lr: .nan\n') })).rejects.toThrow(/'lr' must be a number >= 0, got NaN$/);
    await expect(resolveConfig({ configFile: yamlFile('epochs: .inf\n') })).rejects.toThrow(/'epochs' must be an integer >= 1, got Infinity$/);
  });

  it('names --config and what to pass when it is a directory, not the raw EISDIR', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mdistill-cfgdir-'));
    const err = await resolveConfig({ configFile: dir }).catch((e: Error) => e);
    expect(String(err)).toMatch(/--config .*mdistill-cfgdir-.*: it is a directory; pass a YAML file, or a preset name \(.*quickstart/);
    expect(String(err)).not.toMatch(/EISDIR/);
  });

  it('accepts snake_case keys from the official code', () => {
    expect(parseConfigObject({ w_patch: 2, distillation_type: 'hard' }, 'x')).toEqual({ 'w-patch': 2, 'distillation-type': 'hard' });
  });

  it('parses flag strings: lists, nulls, booleans', () => {
    expect(coerceValue('s-id', '0 1 2', '--s-id')).toEqual([0, 1, 2]);
    expect(coerceValue('aa', 'none', '--aa')).toBeNull();
    expect(coerceValue('amp', 'true', '--amp')).toBe(true);
    expect(() => coerceValue('epochs', 'none', '--epochs')).toThrow(/'epochs' must be an integer/);
  });

  it('requires s-id and t-id of the same length', async () => {
    await expect(resolveConfig({ flags: { 's-id': [0, 1], 't-id': [0] } })).rejects.toThrow(/'s-id' has 2 blocks but 't-id' has 1/);
  });

  it('checks layer indices against the model depths', () => {
    const c = { ...defaultConfig(), 's-id': [0, 12], 't-id': [0, 1] };
    expect(() => checkLayerPairs(c, 12, 24)).toThrow(/'s-id' has 12 but the student 'deit_tiny_patch16_224' has blocks 0\.\.11/);
    expect(() => checkLayerPairs({ ...c, 's-id': [0, 1], 't-id': [0, 30] }, 12, 24)).toThrow(ConfigError);
  });

  it('round-trips through YAML', async () => {
    const c = defaultConfig();
    const back = await resolveConfig({ configFile: yamlFile(configToYaml(c)) });
    expect(back).toEqual(c);
  });
});
