import { afterEach, describe, expect, it, vi } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli/main.js';
import { makeSyntheticRun } from './syntheticRun.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  return { out, err };
}

afterEach(() => vi.restoreAllMocks());

describe('mdistill report', () => {
  it('writes <run-dir>/report.html and says where', async () => {
    const { dir } = makeSyntheticRun();
    const { out } = capture();
    expect(await runCli(['node', 'mdistill', 'report', dir])).toBe(0);
    const file = path.join(dir, 'report.html');
    expect(readFileSync(file, 'utf8')).toMatch(/^<!doctype html>/);
    expect(out.join('\n')).toMatch(new RegExp(`^wrote ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(\\d+ KiB, 11 charts\\)$`));
  });

  it('honours --out and lists the charts that have no data yet', async () => {
    const { dir } = makeSyntheticRun({ evaluate: false });
    const out = path.join(dir, 'elsewhere.html');
    const { out: stdout } = capture();
    expect(await runCli(['node', 'mdistill', 'report', dir, '--out', out])).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(existsSync(path.join(dir, 'report.html'))).toBe(false);
    expect(stdout.join('\n')).toContain('10 charts; no data yet for acc5');
  });

  it('fails with exit code 1 and a message naming the missing path', async () => {
    const nowhere = path.join(tmpdir(), 'mdistill-missing-run-dir');
    const { err } = capture();
    expect(await runCli(['node', 'mdistill', 'report', nowhere])).toBe(1);
    expect(err.join('\n')).toContain(`mdistill: run directory ${nowhere} does not exist`);
    expect(err.join('\n')).toContain('[MDISTILL_RUN_NOT_FOUND]');
  });

  it('requires the run directory argument', async () => {
    const { err } = capture();
    expect(await runCli(['node', 'mdistill', 'report'])).not.toBe(0);
    expect(err.join('')).toContain("missing required argument 'run-dir'");
  });
});
