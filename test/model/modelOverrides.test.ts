// --model-overrides / --teacher-overrides are checked like the config's own keys: unknown fields get a
// did-you-mean, wrong types name the field and what it got, fields the data decides are refused, and a model too
// large for this machine is refused naming the field before anything is allocated.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configFromFlags, addConfigFlags } from '../../src/cli/configFlags.js';
import { resolveConfig } from '../../src/config/resolveConfig.js';
import { MODEL_PRESETS, resolveModel, type ModelConfig } from '../../src/model/modelConfig.js';
import { parseModelOverrides } from '../../src/model/modelOverrides.js';
import { assertModelFits, parameterCount } from '../../src/model/modelSize.js';
import { timmStateShapes } from '../../src/model/timmStateShapes.js';
import { Command } from 'commander';
import { tmpDir } from '../data/helpers.js';

const t = tmpDir('overrides');
afterAll(t.cleanup);

function flags(...argv: string[]) {
  const command = addConfigFlags(new Command('train').exitOverride());
  command.parse(argv, { from: 'user' });
  return configFromFlags(command);
}

describe('model overrides', () => {
  it('rejects an unknown field with a did-you-mean, from a flag and from YAML', async () => {
    expect(() => flags('--model-overrides', '{"embedDimm":32}')).toThrow(/^--model-overrides: unknown field 'embedDimm' \(did you mean 'embedDim'\?\)\. Fields: arch, patchSize, embedDim/);
    const file = path.join(t.dir, 'c.yaml');
    writeFileSync(file, 'teacher-overrides: { depht: 3 }\n');
    await expect(resolveConfig({ configFile: file })).rejects.toThrow(/c\.yaml: 'teacher-overrides': unknown field 'depht' \(did you mean 'depth'\?\)/);
  });

  it('names the field and what it got for a wrong type', () => {
    expect(() => parseModelOverrides({ embedDim: '32' }, '--model-overrides')).toThrow(`--model-overrides: 'embedDim' must be a positive integer, got the string "32"`);
    expect(() => parseModelOverrides({ mlpRatio: -1 }, 'x')).toThrow(`x: 'mlpRatio' must be a positive number, got -1`);
    expect(() => parseModelOverrides({ qkvBias: 'yes' }, 'x')).toThrow(`x: 'qkvBias' must be true or false, got the string "yes"`);
    expect(() => parseModelOverrides({ depth: 2.5 }, 'x')).toThrow(`x: 'depth' must be a positive integer, got 2.5`);
    expect(() => parseModelOverrides({ arch: 'resnet' }, 'x')).toThrow(`x: 'arch' must be one of 'vit', 'cait', 'swin', got the string "resnet"`);
  });

  it('refuses the fields the data decides instead of ignoring them', () => {
    expect(() => parseModelOverrides({ numClasses: 100 }, '--model-overrides')).toThrow(/'numClasses' cannot be overridden: it follows the data set's classes/);
    expect(() => parseModelOverrides({ imgSize: 64 }, '--model-overrides')).toThrow(/'imgSize' cannot be overridden: set --input-size/);
  });

  it('refuses a model too large for this machine, naming the field, before building it', async () => {
    await expect(resolveConfig({ flags: { 'model-overrides': { mlpRatio: 1e9 }, 'distillation-type': 'none' } }))
      .rejects.toThrow(/^'deit_tiny_patch16_224' with --model-overrides: 'mlpRatio' is too large: 1000000000 makes the model .* parameters \(.* of float32 weights, parameters × 4 bytes\), more than the .* of memory this machine has/);
    const huge = { ...resolveModel('deit_tiny_patch16_224'), embedDim: 3_000_000, numHeads: 1 };
    expect(() => assertModelFits(huge, 'm', 24 * 2 ** 30)).toThrow(/^m: 'embedDim' is too large: 3000000/);
    const tokens = { ...resolveModel('deit_tiny_patch16_224'), imgSize: 4096, patchSize: 1 };
    expect(() => assertModelFits(tokens, 'm', 24 * 2 ** 30)).toThrow(/^m: '(patchSize|imgSize)'( \(--input-size\))? is too large: .* largest activation/);
    expect(() => assertModelFits(resolveModel('cait_s24_224'), 'm', 24 * 2 ** 30)).not.toThrow();
    const wideSwin = { ...resolveModel('swin_tiny_patch4_window7_224'), embedDim: 400_000, stageHeads: [1, 1, 1, 1] };
    expect(() => assertModelFits(wideSwin, 'm', 24 * 2 ** 30)).toThrow(/^m: 'embedDim' is too large: 400000/);
    expect(() => assertModelFits(resolveModel('swin_base_patch4_window7_224'), 'm', 24 * 2 ** 30)).not.toThrow();
  });

  it('counts parameters as timm does (the sum over the state dict)', () => {
    const configs: ModelConfig[] = [
      ...Object.values(MODEL_PRESETS),
      resolveModel('deit_tiny_patch16_224', { imgSize: 28, patchSize: 4, inChans: 1, numClasses: 10, embedDim: 64, depth: 4, numHeads: 2, mlpRatio: 3.5 }),
      resolveModel('swin_tiny_patch4_window7_224', { imgSize: 28, patchSize: 2, inChans: 1, numClasses: 10, embedDim: 24, depths: [2, 3], stageHeads: [2, 4], windowSize: 7 }),
    ];
    for (const c of configs) {
      const timm = [...timmStateShapes(c).values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
      expect(parameterCount(c)).toBe(timm);
    }
  });
});
