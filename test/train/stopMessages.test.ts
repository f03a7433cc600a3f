// A signal that arrives before anything was trained: the run stops and says so, without claiming a saved
// checkpoint-last or a teacher to resume (there is none: the teacher here is a weights file).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveConfig } from '../../src/config/resolveConfig.js';
import { saveWeights } from '../../src/model/loadWeights.js';
import { runTrain } from '../../src/recipes/runTrain.js';
import { existsSync } from 'node:fs';
import { tmpDir } from '../data/helpers.js';
import { tinyModel } from './tinyModels.js';

// The signal arrives while the data is being opened, as a Ctrl-C during a long ImageFolder listing would.
vi.mock('../../src/train/dataSources.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/train/dataSources.js')>();
  return {
    ...original,
    openDataSources: async (...args: Parameters<typeof original.openDataSources>) => {
      const data = await original.openDataSources(...args);
      (process.emit as (event: string, signal: string) => boolean)('SIGINT', 'SIGINT');
      return data;
    },
  };
});

const t = tmpDir('stopmsg');
afterAll(t.cleanup);
let teacher: string;

beforeAll(async () => {
  teacher = path.join(t.dir, 'teacher.safetensors');
  await saveWeights(tinyModel({ embedDim: 48, depth: 3, numClasses: 10 }, 7), teacher);
});

describe('a stop before the first step', () => {
  it('says that nothing was saved, and nothing is', async () => {
    const out = path.join(t.dir, 'run');
    const config = await resolveConfig({
      configFile: 'quickstart',
      flags: {
        'data-set': 'SYNTHETIC', 'input-size': 16, 'train-subset': 64, 'eval-subset': 32, 'batch-size': 16, epochs: 1,
        'model-overrides': { embedDim: 32, depth: 2, numHeads: 2, patchSize: 4 }, 'teacher-model': 'deit_tiny_patch16_224',
        'teacher-overrides': { embedDim: 48, depth: 3, numHeads: 2, patchSize: 4 }, 'teacher-path': teacher, 's-id': [0, 1], 't-id': [1, 2],
        K: 16, 'teacher-check': 0, 'compare-scratch': false, workers: 0, 'output-dir': out,
      },
    });
    const lines: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    let exitCode: number;
    try {
      ({ exitCode } = await runTrain(config));
    } finally {
      write.mockRestore();
    }
    const text = lines.join('');
    expect(exitCode).toBe(130);
    expect(text).toMatch(/stopped by SIGINT before training started; nothing was saved\. Run the same command again to start/);
    expect(text).not.toMatch(/; checkpoint-last is saved|teacher resumes/);
    expect(existsSync(path.join(out, 'checkpoint-last'))).toBe(false);
  });
});
