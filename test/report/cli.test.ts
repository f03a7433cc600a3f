import { afterEach, describe, expect, it, vi } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli/main.js';
import { makeSyntheticRun } from './syntheticRun.js';
import { captureConsole } from '../helpers/captureConsole.js';

afterEach(() => vi.restoreAllMocks());

describe('mdistill report', () => {
  it('writes <run-dir>/report.html and says where', async () => {
    const { dir } = makeSyntheticRun();
    const { out } = captureConsole();
    expect(await runCli(['node', 'mdistill', 'report', dir])).toBe(0);
    const file = path.join(dir, 'report.html');
    expect(readFileSync(file, 'utf8')).toMatch(/^<!doctype html>/);
    expect(out.join('\n')).toMatch(new RegExp(`^wrote ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(\\d+ KiB, 11 charts\\)$`));
  });

  it('honours --out and lists the charts that have no data yet', async () => {
    const { dir } = makeSyntheticRun({ evaluate: false });
    const out = path.join(dir, 'elsewhere.html');
    const { out: stdout } = captureConsole();
    expect(await runCli(['node', 'mdistill', 'report', dir, '--out', out])).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(existsSync(path.join(dir, 'report.html'))).toBe(false);
    expect(stdout.join('\n')).toContain('10 charts; no data yet for acc5');
  });

  it('fails with exit code 1 and a message naming the missing path', async () => {
    const nowhere = path.join(tmpdir(), 'mdistill-missing-run-dir');
    const { err } = captureConsole();
    expect(await runCli(['node', 'mdistill', 'report', nowhere])).toBe(1);
    expect(err.join('\n')).toContain(`mdistill: run directory ${nowhere} does not exist`);
    expect(err.join('\n')).toContain('[MDISTILL_RUN_NOT_FOUND]');
  });

  it('compares any run directories on one page (mdistill report a b c)', async () => {
    const a = makeSyntheticRun({ epochs: 2, shift: 1 }).dir;
    const b = makeSyntheticRun({ epochs: 3, shift: -2 }).dir;
    const c = makeSyntheticRun({ epochs: 1, finished: false }).dir;
    const out = path.join(a, 'compared.html');
    const { out: stdout } = captureConsole();
    expect(await runCli(['node', 'mdistill', 'report', a, b, c, '--out', out])).toBe(0);
    expect(stdout.join('\n')).toMatch(/^wrote .*compared\.html \(\d+ KiB, 1 charts, 3 runs compared\)$/);
    const html = readFileSync(out, 'utf8');
    for (const dir of [a, b, c]) expect(html).toContain(`<tr><th scope="row">${path.basename(dir)}</th>`);
    expect(html).toContain('running or interrupted');
    // a: 2 epochs + b: 3 + c: 1, one line each.
    expect(html).toMatch(/data-chart="compare-acc1" data-points="6" data-series="3"/);
  });

  it('requires the run directory argument', async () => {
    const { err } = captureConsole();
    expect(await runCli(['node', 'mdistill', 'report'])).not.toBe(0);
    expect(err.join('')).toContain("missing required argument 'run-dir'");
  });
});
