// The state-dict layout we check weights against is timm's, key for key (shared/fixtures/timm_keys).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveModel } from '../../src/model/modelConfig.js';
import { checkStateDict, timmStateShapes } from '../../src/model/timmStateShapes.js';
import { packageRoot } from '../../src/io/packageRoot.js';

const KEYS_DIR = path.resolve(packageRoot, '..', 'shared', 'fixtures', 'timm_keys');
const files = readdirSync(KEYS_DIR).filter((f) => f.endsWith('.json'));

describe.each(files)('timm_keys/%s', (file) => {
  it('matches timmStateShapes for the preset: names, order, shapes and parameter count', () => {
    const ref = JSON.parse(readFileSync(path.join(KEYS_DIR, file), 'utf8')) as { model: string; params: number; state_dict: [string, number[]][] };
    const ours = [...timmStateShapes(resolveModel(ref.model))];
    expect(ours).toEqual(ref.state_dict);
    expect(ours.reduce((sum, [, s]) => sum + s.reduce((a, b) => a * b, 1), 0)).toBe(ref.params);
  });
});

it('checkStateDict sorts missing, unexpected, wrong-shape and training-only keys', () => {
  const config = resolveModel('deit_tiny_patch16_224', { imgSize: 32, patchSize: 8, depth: 1, numClasses: 3 });
  const tensors = new Map([...timmStateShapes(config)].map(([k, shape]) => [k, { dtype: 'F32' as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }]));
  tensors.delete('head.bias');
  tensors.set('norm.weight', { dtype: 'F32', shape: [5], data: new Float32Array(5) });
  tensors.set('blocks.9.norm1.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
  tensors.set('teacher.head.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
  expect(checkStateDict(config, tensors)).toEqual({
    missing: ['head.bias'],
    unexpected: ['blocks.9.norm1.weight'],
    wrongShape: [{ name: 'norm.weight', expected: [192], actual: [5] }],
    trainingOnly: ['teacher.head.weight'],
  });
});
