// Atomic replacement of a file and of a directory: a reader sees the old version or the new one, never a torn one,
// and no temporary name is left behind.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { atomicWriteDir, atomicWriteFile, completeDir } from '../../src/io/atomicWrite.js';
import { tmpDir } from '../data/helpers.js';

const t = tmpDir('atomic');
afterAll(t.cleanup);

describe('atomicWriteFile', () => {
  it('replaces the content and leaves no temporary file', async () => {
    const file = path.join(t.dir, 'table.md');
    await atomicWriteFile(file, 'first');
    await atomicWriteFile(file, 'second');
    expect(readFileSync(file, 'utf8')).toBe('second');
    expect(readdirSync(t.dir).filter((f) => f.includes('table.md'))).toEqual(['table.md']);
  });

  it('names the target when its directory does not exist', async () => {
    const file = path.join(t.dir, 'missing', 'x.json');
    await expect(atomicWriteFile(file, '{}')).rejects.toThrow(`could not write ${file}`);
  });
});

describe('atomicWriteDir', () => {
  it('swaps a whole directory in, the previous one intact until then', async () => {
    const parent = path.join(t.dir, 'run');
    const dir = path.join(parent, 'checkpoint-last');
    await atomicWriteDir(dir, async (tmp) => writeFileSync(path.join(tmp, 'state.json'), '1'));
    let seenDuringFill: string | undefined;
    await atomicWriteDir(dir, async (tmp) => {
      seenDuringFill = readFileSync(path.join(dir, 'state.json'), 'utf8');
      writeFileSync(path.join(tmp, 'state.json'), '2');
    });
    expect(seenDuringFill).toBe('1');
    expect(readFileSync(path.join(dir, 'state.json'), 'utf8')).toBe('2');
    expect(readdirSync(parent)).toEqual(['checkpoint-last']);
  });

  it('leaves the previous directory as it was when filling fails', async () => {
    const dir = path.join(t.dir, 'failing', 'checkpoint-best');
    await atomicWriteDir(dir, async (tmp) => writeFileSync(path.join(tmp, 'state.json'), 'good'));
    await expect(atomicWriteDir(dir, async () => {
      throw new Error('disk full');
    })).rejects.toThrow('disk full');
    expect(readFileSync(path.join(dir, 'state.json'), 'utf8')).toBe('good');
    expect(readdirSync(path.dirname(dir))).toEqual(['checkpoint-best']);
  });
});

describe('completeDir', () => {
  it('reads the directory, or the previous version kept when a crash hit between the two renames', () => {
    const parent = path.join(t.dir, 'crash');
    const dir = path.join(parent, 'checkpoint-last');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'state.json'), '{}');
    expect(completeDir(dir, 'state.json')).toBe(dir);
    // The state between atomicWriteDir's renames: the old version moved aside, the new one not yet in place.
    renameSync(dir, path.join(parent, '.checkpoint-last.old'));
    expect(completeDir(dir, 'state.json')).toBe(path.join(parent, '.checkpoint-last.old'));
    expect(completeDir(path.join(parent, 'nothing'), 'state.json')).toBeUndefined();
  });
});
