// The ablation's results: mean ± std over seeds per row, the markdown table (ablation.md) and the raw numbers
// (ablation.json).
import path from 'node:path';
import type { TrainConfig } from '../config/schema.js';
import { atomicWriteFile } from '../io/atomicWrite.js';
import type { AblationRowId, AblationRowSpec } from './ablationPlan.js';

export interface MeanStd {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1); NaN when n < 2. */
  std: number;
}

export function meanStd(values: number[]): MeanStd {
  const n = values.length;
  if (n === 0) return { n, mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n < 2 ? NaN : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return { n, mean, std };
}

export interface AblationRun {
  seed: number;
  dir: string;
  /** The student's top-1/top-5 after the last epoch (the table's metric). */
  acc1: number;
  acc5: number;
  /** The best epoch's top-1 (student or EMA, as the trainer picks checkpoint-best). */
  bestAcc1: number;
  bestEpoch: number;
  emaAcc1?: number;
  seconds: number;
  /** True when an earlier `ablate` finished this run with the same config and its result was reused. */
  reused?: boolean;
}

export interface AblationRowResult {
  id: AblationRowId;
  name: string;
  weights: { 'w-sample': number; 'w-patch': number; 'w-rand': number } | null;
  runs: AblationRun[];
  acc1: MeanStd;
  acc5: MeanStd;
  /** Sum of the runs' training times. */
  seconds: number;
}

export interface AblationResult {
  preset: string;
  command: string;
  seeds: number[];
  metric: string;
  budget: { epochs: number; trainSubset: number; evalSubset: number; batchSize: number; dataSet: string };
  teacher: { model: string; source: string; acc1: number; acc5: number; seconds: number | null } | null;
  rows: AblationRowResult[];
  totalSeconds: number;
  /** Set when a signal stopped the run: the table holds the runs that finished. */
  stoppedBy?: string;
}

export const METRIC = "the student's top-1 on the validation set after the final epoch (not the best epoch; not the EMA)";

function fixed(v: number, digits = 2): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '–';
}

export function formatMeanStd(m: MeanStd): string {
  if (m.n === 0) return '–';
  return m.n < 2 ? `${fixed(m.mean)} (1 seed)` : `${fixed(m.mean)} ± ${fixed(m.std)}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min ${String(r).padStart(2, '0')} s`;
}

export function formatAblationMarkdown(r: AblationResult): string {
  const lines: string[] = [];
  lines.push(`# Ablation of manifold distillation (${r.preset})`, '');
  lines.push(`Command: \`${r.command}\``, '');
  const b = r.budget;
  lines.push(
    `Seeds: ${r.seeds.length} (${r.seeds.join(', ')}) per row. Budget per run: ${b.epochs} epoch(s) on ` +
      `${b.trainSubset > 0 ? b.trainSubset : 'all'} ${b.dataSet} training images, batch ${b.batchSize}; evaluated on ` +
      `${b.evalSubset > 0 ? b.evalSubset : 'all'} validation images.`,
  );
  lines.push(`Metric: ${r.metric}; ± is the sample standard deviation over seeds.`);
  if (r.teacher) {
    lines.push(
      `Teacher: ${r.teacher.model}, top-1 ${fixed(r.teacher.acc1)}% (top-5 ${fixed(r.teacher.acc5)}%), ${r.teacher.source}; ` +
        'the same teacher for every row and seed.',
    );
  }
  if (r.stoppedBy) lines.push('', `**Stopped by ${r.stoppedBy}: the table holds only the runs that finished.**`);
  lines.push('');
  lines.push('| row | w-sample | w-patch | w-rand | seeds | top-1 % (mean ± std) | top-5 % (mean ± std) | top-1 per seed | wall time (row) | wall time / run |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---|---:|---:|');
  for (const row of r.rows) {
    const w = row.weights;
    const perSeed = row.runs.map((run) => `${fixed(run.acc1)} (s${run.seed})`).join(', ') || '–';
    lines.push(
      `| ${row.name} | ${w ? w['w-sample'] : '–'} | ${w ? w['w-patch'] : '–'} | ${w ? w['w-rand'] : '–'} | ${row.runs.length} | ` +
        `${formatMeanStd(row.acc1)} | ${formatMeanStd(row.acc5)} | ${perSeed} | ${formatDuration(row.seconds)} | ` +
        `${row.runs.length ? formatDuration(row.seconds / row.runs.length) : '–'} |`,
    );
  }
  lines.push('');
  const teacherTime = r.teacher?.seconds != null ? `, of which ${formatDuration(r.teacher.seconds)} training the teacher` : '';
  const reused = r.rows.reduce((a, row) => a + row.runs.filter((run) => run.reused).length, 0);
  lines.push(
    `Total wall time: ${formatDuration(r.totalSeconds)}${teacherTime}.` +
      (reused ? ` ${reused} run(s) were reused from an earlier invocation (their row times are from when they ran).` : ''),
  );
  return `${lines.join('\n')}\n`;
}

export function summarizeRow(spec: AblationRowSpec, config: TrainConfig, runs: AblationRun[]): AblationRowResult {
  const rowConfig = { ...config, ...spec.overrides };
  return {
    id: spec.id,
    name: spec.name,
    weights: spec.id === 'scratch' ? null : { 'w-sample': rowConfig['w-sample'], 'w-patch': rowConfig['w-patch'], 'w-rand': rowConfig['w-rand'] },
    runs,
    acc1: meanStd(runs.map((r) => r.acc1)),
    acc5: meanStd(runs.map((r) => r.acc5)),
    seconds: runs.reduce((a, r) => a + r.seconds, 0),
  };
}

/** Writes ablation.md and ablation.json into `dir`, each atomically (a reader never sees a torn table). */
export async function writeAblation(dir: string, result: AblationResult): Promise<{ markdown: string; json: string }> {
  const markdown = path.join(dir, 'ablation.md');
  const json = path.join(dir, 'ablation.json');
  // JSON has no NaN: a std over one seed is written as null.
  const replacer = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);
  await atomicWriteFile(markdown, formatAblationMarkdown(result));
  await atomicWriteFile(json, `${JSON.stringify(result, replacer, 2)}\n`);
  return { markdown, json };
}
