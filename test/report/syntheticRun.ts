// Builds a realistic run directory (config.yaml + log.jsonl) in a temp dir for the report tests.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JsonlWriter } from '../../src/log/jsonlWriter.js';
import type { EvalResult, LogRecord } from '../../src/log/records.js';

export interface SyntheticRunOptions {
  epochs?: number;
  stepsPerEpoch?: number;
  logEvery?: number;
  /** Write the teacher check and the summary (a finished run). */
  finished?: boolean;
  /** Evaluate every epoch (eval + EMA). */
  evaluate?: boolean;
  config?: string;
  /** Write into this directory (created) instead of a fresh temp dir: e.g. the teacher/ of another run. */
  dir?: string;
  /** Added to every eval accuracy, so that compared runs differ. */
  shift?: number;
}

export const HOSTILE_CONFIG = `# resolved configuration
model: deit_tiny_patch16_224
teacher:
  model: cait_s24_224
  weights: "/data/teacher <script>alert('x')</script> & more.safetensors"
data:
  path: /usr/share/datasets/fashion-mnist
  batch-size: 64
distillation-type: soft
alpha: 0.5
beta: 1.0
w-sample: 0.1
w-patch: 4
w-rand: 0.2
s-id: [0, 1, 2, 3]
t-id: [2, 5, 8, 11]
lr: 5.0e-4
note: "</pre><img src=x onerror=alert(1)>"
`;

function evalAt(epoch: number, epochs: number, shift: number): EvalResult {
  const t = (epoch + 1) / epochs;
  return { acc1: 40 + 45 * t + shift, acc5: 75 + 20 * t + shift / 2, loss: 1.9 - 1.3 * t, samples: 1000 };
}

/** The records a run writes, in order, with smooth, plausible curves. */
export function syntheticRecords(o: SyntheticRunOptions = {}): LogRecord[] {
  const epochs = o.epochs ?? 3;
  const stepsPerEpoch = o.stepsPerEpoch ?? 40;
  const logEvery = o.logEvery ?? 4;
  const finished = o.finished ?? true;
  const evaluate = o.evaluate ?? true;
  const totalSteps = epochs * stepsPerEpoch;
  const t0 = Date.parse('2026-11-29T20:00:00Z');
  const time = (s: number) => new Date(t0 + s * 1000).toISOString();
  const records: LogRecord[] = [];
  if (finished) {
    records.push({ kind: 'teacher', time: time(0), eval: { acc1: 91.2, acc5: 99.1, loss: 0.31, samples: 500 }, chance: 10 });
  }
  let best = { epoch: -1, acc1: -Infinity };
  let lastEval: EvalResult | undefined;
  let lastEma: EvalResult | undefined;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = 0; i < stepsPerEpoch; i++) {
      const step = epoch * stepsPerEpoch + i;
      if (step % logEvery !== 0) continue;
      const p = step / totalSteps;
      const wobble = 0.05 * Math.sin(step * 0.7);
      const base = 2.3 * Math.exp(-2 * p) + 0.2 + wobble;
      const kd = 1.5 * Math.exp(-1.5 * p) + 0.1;
      const sample = 0.3 * Math.exp(-3 * p) + 0.02;
      const patch = 0.8 * Math.exp(-2.5 * p) + 0.05;
      const rand = 0.2 * Math.exp(-2 * p) + 0.01;
      const warm = Math.min(1, (step + 1) / (stepsPerEpoch / 2));
      records.push({
        kind: 'step',
        time: time(1 + step * 0.5),
        epoch,
        step,
        lr: 5e-4 * warm * 0.5 * (1 + Math.cos(Math.PI * p)),
        loss: { total: 0.5 * base + 0.5 * kd + sample + patch + rand, base, kd, sample, patch, rand },
        imgPerS: 480 + 20 * Math.cos(step / 50) + 3 * Math.sin(step * 1.3),
      });
    }
    const ev = evaluate ? evalAt(epoch, epochs, o.shift ?? 0) : undefined;
    const ema = evaluate ? evalAt(epoch, epochs, (o.shift ?? 0) - 1.5) : undefined;
    if (ev && ev.acc1 > best.acc1) best = { epoch, acc1: ev.acc1 };
    lastEval = ev ?? lastEval;
    lastEma = ema ?? lastEma;
    records.push({
      kind: 'epoch',
      time: time(1 + (epoch + 1) * stepsPerEpoch * 0.5),
      epoch,
      step: (epoch + 1) * stepsPerEpoch - 1,
      seconds: stepsPerEpoch * 0.5,
      imgPerS: 475 + epoch,
      train: { loss: 1.8 - (0.9 * (epoch + 1)) / epochs, acc1: 30 + (50 * (epoch + 1)) / epochs },
      ...(ev ? { eval: ev } : {}),
      ...(ema ? { evalEma: ema } : {}),
    });
  }
  if (finished) {
    records.push({
      kind: 'summary',
      time: time(2 + totalSteps * 0.5),
      seconds: 3 + totalSteps * 0.5,
      best: best.epoch >= 0 ? best : { epoch: 0, acc1: 0 },
      final: { ...(lastEval ? { eval: lastEval } : {}), ...(lastEma ? { evalEma: lastEma } : {}) },
      badSamples: 2,
    });
  }
  return records;
}

/** Writes config.yaml and log.jsonl (through the trainer's JsonlWriter) into a fresh temp dir. */
export function makeSyntheticRun(o: SyntheticRunOptions = {}): { dir: string; records: LogRecord[] } {
  const dir = o.dir ?? mkdtempSync(path.join(tmpdir(), 'mdistill-run-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.yaml'), o.config ?? HOSTILE_CONFIG);
  const records = syntheticRecords(o);
  const writer = new JsonlWriter(path.join(dir, 'log.jsonl'));
  try {
    for (const r of records) writer.append(r);
  } finally {
    writer.close();
  }
  return { dir, records };
}

/** A quickstart-shaped run: the distilled student's run directory holding teacher/ and scratch/ runs of their own. */
export function makeQuickstartRun(o: SyntheticRunOptions = {}): { dir: string } {
  const { dir } = makeSyntheticRun({ ...o, config: 'model: deit_tiny_patch16_224\ndistillation-type: soft\n', shift: 2 });
  makeSyntheticRun({ ...o, dir: path.join(dir, 'teacher'), config: 'model: deit_small_patch16_224\ndistillation-type: none\n', shift: 8 });
  makeSyntheticRun({ ...o, dir: path.join(dir, 'scratch'), config: 'model: deit_tiny_patch16_224\ndistillation-type: none\n', shift: -4 });
  return { dir };
}
