// Every preset with a timm key file builds with exactly timm's state-dict names, shapes, order and parameter count.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODEL_PRESETS } from '../../src/model/modelConfig.js';
import { NativeModel } from '../../src/model/nativeModel.js';
import { fixturesDir } from './fixtures.js';

interface KeyFile {
  model: string;
  params: number;
  state_dict: [string, number[]][];
}

const keyDir = path.join(fixturesDir, 'timm_keys');
const keyFiles = readdirSync(keyDir).filter((f) => f.endsWith('.json')).sort();

describe('timm state-dict keys', () => {
  it('covers the key files', () => {
    expect(keyFiles.length).toBeGreaterThanOrEqual(7);
  });

  it.each(keyFiles)('%s', (file) => {
    const keys = JSON.parse(readFileSync(path.join(keyDir, file), 'utf8')) as KeyFile;
    const preset = MODEL_PRESETS[keys.model];
    expect(preset, `no preset named ${keys.model}`).toBeDefined();
    const model = new NativeModel(preset);
    const ours = model.parameterShapes().map((p) => [p.name, p.shape]);
    expect(ours).toEqual(keys.state_dict);
    expect(model.numParameters()).toBe(keys.params);
  });
});
