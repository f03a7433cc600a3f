import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseRunLog, readRunDir, readRunLog, RunLogError } from '../../src/report/readRunLog.js';
import { JsonlWriter, LogWriteError, serializeRecord } from '../../src/log/jsonlWriter.js';
import type { StepRecord } from '../../src/log/records.js';
import { makeSyntheticRun, syntheticRecords } from './syntheticRun.js';

const step: StepRecord = {
  kind: 'step',
  time: '2026-11-29T20:00:00.000Z',
  epoch: 0,
  step: 0,
  lr: 1e-4,
  loss: { total: 3, base: 2.3, kd: 1.1, sample: 0.1, patch: 0.4, rand: 0.05 },
  imgPerS: 500,
};
const line = (r: unknown) => JSON.stringify(r);

async function rejection(p: Promise<unknown>): Promise<RunLogError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RunLogError);
    return err as RunLogError;
  }
  throw new Error('expected a rejection');
}

function syncError(f: () => unknown): RunLogError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(RunLogError);
    return err as RunLogError;
  }
  throw new Error('expected an error');
}

describe('readRunLog', () => {
  it('reads back what the JsonlWriter wrote, by kind', async () => {
    const { dir, records } = makeSyntheticRun({ epochs: 2, stepsPerEpoch: 10, logEvery: 2 });
    const run = await readRunDir(dir);
    expect(run.log.records).toEqual(records);
    expect(run.log.steps).toHaveLength(10);
    expect(run.log.epochs.map((e) => e.epoch)).toEqual([0, 1]);
    expect(run.log.teacher?.eval.acc1).toBe(91.2);
    expect(run.log.summary?.badSamples).toBe(2);
    expect(run.log.warnings).toEqual([]);
    expect(run.config.value['w-patch']).toBe(4);
    expect(run.config.value['s-id']).toEqual([0, 1, 2, 3]);
  });

  it('names the file and line of malformed JSON', () => {
    const text = `${line(step)}\n${line({ ...step, step: 1 })}\n{"kind": "step", "time": \n${line(step)}\n`;
    const err = syncError(() => parseRunLog(text, '/runs/a/log.jsonl'));
    expect(err.code).toBe('MDISTILL_BAD_RUN_LOG');
    expect(err.message).toMatch(/^\/runs\/a\/log\.jsonl line 3: not valid JSON/);
    expect(err.message).toContain('expected one JSON object per line');
  });

  it('names the line and field of a record with a wrong or missing field', () => {
    const bad = { ...step, loss: { ...step.loss, kd: 'n/a' } };
    expect(syncError(() => parseRunLog(`${line(step)}\n${line(bad)}\n`, 'log.jsonl')).message).toBe(
      `log.jsonl line 2: step record: field 'loss.kd' must be a number, got the string "n/a"`,
    );
    const { imgPerS: _, ...noThroughput } = step;
    expect(syncError(() => parseRunLog(`${line(noThroughput)}\n`, 'log.jsonl')).message).toBe(
      `log.jsonl line 1: step record: field 'imgPerS' is missing`,
    );
    const epoch = syntheticRecords().find((r) => r.kind === 'epoch')!;
    const badEval = { ...epoch, eval: { acc1: 50, acc5: 80, loss: null, samples: 10 } };
    expect(syncError(() => parseRunLog(`${line(badEval)}\n`, 'log.jsonl')).message).toBe(
      `log.jsonl line 1: epoch record: field 'eval.loss' must be a number, got null`,
    );
  });

  it('rejects unknown kinds and non-objects, listing the valid kinds', () => {
    expect(syncError(() => parseRunLog(`${line({ kind: 'stpe' })}\n`, 'log.jsonl')).message).toBe(
      `log.jsonl line 1: field 'kind' must be one of 'step', 'epoch', 'teacher', 'summary', got the string "stpe"`,
    );
    expect(syncError(() => parseRunLog(`${line(step)}\n[1,2]\n`, 'log.jsonl')).message).toBe(
      'log.jsonl line 2: expected a JSON object, got an array',
    );
  });

  it('says what was expected when the log is empty or missing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mdistill-log-'));
    const log = path.join(dir, 'log.jsonl');
    writeFileSync(log, '\n\n');
    const empty = await rejection(readRunLog(log));
    expect(empty.message).toBe(`${log} has no records; expected one JSON object per line, each with "kind" one of step, epoch, teacher, summary (written by mdistill train)`);
    rmSync(log);
    const missing = await rejection(readRunLog(log));
    expect(missing.code).toBe('MDISTILL_RUN_NOT_FOUND');
    expect(missing.message).toMatch(new RegExp(`^${log.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} does not exist: expected the run's log`));
  });

  it('ignores a torn last line (a write cut short) with a warning, but not a torn middle line', () => {
    const text = `${line(step)}\n${line({ ...step, step: 1 })}\n{"kind":"step","ti`;
    const log = parseRunLog(text, 'log.jsonl');
    expect(log.steps.map((s) => s.step)).toEqual([0, 1]);
    expect(log.warnings).toEqual(['log.jsonl line 3: ignored an incomplete last line (the run was probably interrupted while writing it)']);
    // A complete last line (newline-terminated) that is broken is an error.
    expect(syncError(() => parseRunLog(`${text}\n`, 'log.jsonl')).message).toMatch(/^log\.jsonl line 3: not valid JSON/);
  });

  it('keeps the latest record of each step and epoch when a resumed run logs them again', () => {
    const epoch = syntheticRecords().find((r) => r.kind === 'epoch')!;
    const records = [
      step,
      { ...step, step: 10 },
      { ...step, step: 20, lr: 1 },
      { ...epoch, epoch: 0, imgPerS: 1 },
      { ...step, step: 30, lr: 1 },
      // crash, then resume from the checkpoint after step 10
      { ...step, step: 20, lr: 2 },
      { ...epoch, epoch: 0, imgPerS: 2 },
      { ...step, step: 30, lr: 2 },
    ];
    const log = parseRunLog(records.map((r) => `${line(r)}\n`).join(''), 'log.jsonl');
    expect(log.records).toHaveLength(8);
    expect(log.steps.map((s) => [s.step, s.lr])).toEqual([[0, 1e-4], [10, 1e-4], [20, 2], [30, 2]]);
    expect(log.epochs.map((e) => e.imgPerS)).toEqual([2]);
  });

  it('names the run directory, the config file and its line when they are wrong', async () => {
    const nowhere = path.join(tmpdir(), 'mdistill-no-such-run');
    const noDir = await rejection(readRunDir(nowhere));
    expect(noDir.code).toBe('MDISTILL_RUN_NOT_FOUND');
    expect(noDir.message).toContain(`run directory ${nowhere} does not exist`);

    const { dir } = makeSyntheticRun();
    const config = path.join(dir, 'config.yaml');
    writeFileSync(config, 'model: deit_tiny\nalpha: [0.5\nbeta: 1\n');
    const bad = await rejection(readRunDir(dir));
    expect(bad.code).toBe('MDISTILL_BAD_RUN_CONFIG');
    expect(bad.message).toMatch(new RegExp(`^${config.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} line \\d+: not valid YAML`));

    writeFileSync(config, '- just\n- a list\n');
    expect((await rejection(readRunDir(dir))).message).toBe(`${config}: expected a YAML mapping of configuration keys, got an array`);

    rmSync(config);
    const missing = await rejection(readRunDir(dir));
    expect(missing.message).toContain(`${config} does not exist: expected the resolved configuration (YAML)`);

    const file = path.join(dir, 'log.jsonl');
    expect((await rejection(readRunDir(file))).message).toBe(`${file} is not a directory; pass the --output-dir of an mdistill train run`);
  });
});

describe('JsonlWriter', () => {
  it('appends one line per record and keeps what was there', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mdistill-writer-'));
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'log.jsonl');
    const a = new JsonlWriter(file);
    a.append(step);
    a.close();
    const b = new JsonlWriter(file);
    b.append({ ...step, step: 1 });
    b.close();
    expect(() => b.append(step)).toThrow(`cannot append to ${file}: the writer is closed`);
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')).toEqual([line(step), line({ ...step, step: 1 }), '']);
  });

  it('refuses non-finite numbers, naming the field, instead of writing null', () => {
    const bad = { ...step, loss: { ...step.loss, patch: Number.NaN } };
    expect(() => serializeRecord(bad)).toThrow(LogWriteError);
    expect(() => serializeRecord(bad)).toThrow("log record field 'loss.patch' is NaN; only finite numbers can be logged");
    expect(serializeRecord(step)).toBe(`${line(step)}\n`);
  });
});
