// Several runs side by side: the runs a directory holds (the quickstart's teacher/ and scratch/ beside its
// student; the ablation's <row>-seed<k>/ runs), or any run directories given on the command line. Each gets a
// label and a row of final results; the chart of their top-1 per epoch is reportCharts.comparisonChart.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { EvalResult } from '../log/records.js';
import { readRunDir, RUN_CONFIG_FILE, RUN_LOG_FILE, type RunDir } from './readRunLog.js';

export interface ComparedRun {
  label: string;
  run: RunDir;
}

export interface ComparisonRow {
  label: string;
  dir: string;
  /** Epochs with an evaluation. */
  epochs: number;
  final?: EvalResult;
  finalEma?: EvalResult;
  /** The best evaluated top-1 (model or EMA, as the trainer picks checkpoint-best), 1-based epoch. */
  best?: { acc1: number; epoch: number };
  seconds?: number;
  finished: boolean;
}

async function isRunDir(dir: string): Promise<boolean> {
  try {
    await Promise.all([stat(path.join(dir, RUN_LOG_FILE)), stat(path.join(dir, RUN_CONFIG_FILE))]);
    return true;
  } catch {
    return false;
  }
}

/** Order on the page: the teacher, the baseline, then the rest by name. */
function rank(name: string): number {
  return name === 'teacher' ? 0 : name === 'scratch' ? 1 : 2;
}

/** The run directories directly inside `dir` (its teacher/, scratch/, an ablation's rows). */
export async function subRunDirs(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const names = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  const runs: string[] = [];
  for (const name of names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))) {
    if (await isRunDir(path.join(dir, name))) runs.push(name);
  }
  return runs;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** What a run is, in the words of the trainer's results table. */
export function labelOf(name: string, config: Record<string, unknown>, role: 'main' | 'sub'): string {
  const kd = text(config['distillation-type']);
  if (role === 'sub' && name === 'teacher') return `teacher (${text(config.model) ?? 'unknown model'})`;
  if (role === 'sub' && name === 'scratch') return 'student from scratch';
  if (role === 'main') return kd && kd !== 'none' ? `student, ${kd} KD + manifold` : `student (${name})`;
  return name;
}

/** Reads the runs inside `dir`; a sub-run that cannot be read is left out with a warning. */
export async function readSubRuns(dir: string, warnings: string[]): Promise<ComparedRun[]> {
  const out: ComparedRun[] = [];
  for (const name of await subRunDirs(dir)) {
    try {
      const run = await readRunDir(path.join(dir, name));
      out.push({ label: labelOf(name, run.config.value, 'sub'), run });
    } catch (err) {
      warnings.push(`left ${path.join(dir, name)} out of the comparison: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}

/** Labels for runs named on the command line: their directory names, with the parent's where two share one. */
export function labelsForDirs(dirs: string[]): string[] {
  const base = dirs.map((d) => path.basename(path.resolve(d)));
  return dirs.map((d, i) => {
    const clash = base.filter((b) => b === base[i]).length > 1;
    return clash ? path.join(path.basename(path.dirname(path.resolve(d))), base[i]) : base[i];
  });
}

export function comparisonRow(c: ComparedRun): ComparisonRow {
  const { epochs, summary } = c.run.log;
  const evaluated = epochs.filter((e) => e.eval);
  const lastEval = evaluated.at(-1)?.eval;
  const lastEma = [...epochs].reverse().find((e) => e.evalEma)?.evalEma;
  let best: ComparisonRow['best'];
  for (const e of epochs) {
    const acc = Math.max(e.eval?.acc1 ?? -Infinity, e.evalEma?.acc1 ?? -Infinity);
    if (Number.isFinite(acc) && (!best || acc > best.acc1)) best = { acc1: acc, epoch: e.epoch + 1 };
  }
  return {
    label: c.label,
    dir: c.run.dir,
    epochs: evaluated.length,
    final: summary?.final.eval ?? lastEval,
    finalEma: summary?.final.evalEma ?? lastEma,
    best,
    seconds: summary?.seconds ?? (epochs.length ? epochs.reduce((s, e) => s + e.seconds, 0) : undefined),
    finished: summary !== undefined,
  };
}
