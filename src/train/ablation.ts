// `mdistill ablate`: which part of manifold distillation buys what. Six rows (scratch, soft KD, KD + each manifold
// term alone, the full loss), each trained for several seeds against ONE shared teacher, then a table of
// mean ± std top-1 (ablation.md) and the raw numbers (ablation.json).
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TrainConfig } from '../config/schema.js';
import { configToYaml } from '../config/resolveConfig.js';
import type { NativeModel } from '../model/nativeModel.js';
import { evaluateModel, trainStage } from './trainStage.js';
import { openDataSources, type DataSources } from './dataSources.js';
import { modelFor, resolveTeacher } from './runTrain.js';
import { StopSignal } from './stopSignal.js';

export type AblationRowId = 'scratch' | 'kd' | 'kd-patch' | 'kd-sample' | 'kd-rand' | 'manifold';

export interface AblationRowSpec {
  id: AblationRowId;
  name: string;
  /** Keys that differ from the preset for this row. */
  overrides: Partial<TrainConfig>;
}

const MANIFOLD_WEIGHTS = ['w-sample', 'w-patch', 'w-rand'] as const;

/** The six rows. Each manifold row keeps the preset's weight for its term(s) and zeroes the others. */
export function ablationRows(config: TrainConfig): AblationRowSpec[] {
  const kd = config['distillation-type'];
  if (kd === 'none') {
    throw new Error(`ablate needs a distillation config: 'distillation-type' is none; use --distillation-type soft (or hard)`);
  }
  if (!(config['distillation-beta'] > 0)) {
    throw new Error(`ablate needs 'distillation-beta' > 0 (got ${config['distillation-beta']}): it scales every manifold term`);
  }
  for (const key of MANIFOLD_WEIGHTS) {
    if (!(config[key] > 0)) {
      throw new Error(`ablate needs '${key}' > 0 (got ${config[key]}): its row would repeat the KD-only row; give it a weight with --${key}`);
    }
  }
  const only = (keep: (typeof MANIFOLD_WEIGHTS)[number][]): Partial<TrainConfig> =>
    Object.fromEntries(MANIFOLD_WEIGHTS.map((k) => [k, keep.includes(k) ? config[k] : 0])) as Partial<TrainConfig>;
  return [
    { id: 'scratch', name: 'student from scratch (no teacher)', overrides: { 'distillation-type': 'none' } },
    { id: 'kd', name: `${kd} KD only`, overrides: only([]) },
    { id: 'kd-patch', name: `${kd} KD + patch manifold`, overrides: only(['w-patch']) },
    { id: 'kd-sample', name: `${kd} KD + sample manifold`, overrides: only(['w-sample']) },
    { id: 'kd-rand', name: `${kd} KD + random manifold`, overrides: only(['w-rand']) },
    { id: 'manifold', name: `${kd} KD + full manifold (patch + sample + random)`, overrides: only([...MANIFOLD_WEIGHTS]) },
  ];
}

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

export async function writeAblation(dir: string, result: AblationResult): Promise<{ markdown: string; json: string }> {
  const markdown = path.join(dir, 'ablation.md');
  const json = path.join(dir, 'ablation.json');
  // JSON has no NaN: a std over one seed is written as null.
  const replacer = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);
  await writeFile(`${markdown}.tmp`, formatAblationMarkdown(result));
  await writeFile(`${json}.tmp`, `${JSON.stringify(result, replacer, 2)}\n`);
  await rename(`${markdown}.tmp`, markdown);
  await rename(`${json}.tmp`, json);
  return { markdown, json };
}

export interface AblationOptions {
  /** The resolved preset + flags; its `output-dir` is the ablation directory and `seed` the first seed. */
  config: TrainConfig;
  preset: string;
  seeds: number;
  /** The command line, recorded in the table. */
  command: string;
  log?: (message: string) => void;
}

const RUN_RESULT = 'ablation-run.json';

/** A run finished by an earlier invocation with exactly this config, or undefined. */
function finishedRun(dir: string, config: TrainConfig): AblationRun | undefined {
  const file = path.join(dir, RUN_RESULT);
  if (!existsSync(file)) return undefined;
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { config: unknown; run: AblationRun };
    return JSON.stringify(saved.config) === JSON.stringify(config) ? { ...saved.run, reused: true } : undefined;
  } catch {
    return undefined;
  }
}

export async function runAblation(options: AblationOptions): Promise<{ exitCode: number; result: AblationResult }> {
  const { config } = options;
  const say = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (!Number.isInteger(options.seeds) || options.seeds < 1) throw new Error(`--seeds must be a positive integer, got ${options.seeds}`);
  const specs = ablationRows(config);
  const outDir = config['output-dir'];
  const started = Date.now();
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'config.yaml'), configToYaml(config));
  const seeds = Array.from({ length: options.seeds }, (_, i) => config.seed + i);
  const runs = new Map<AblationRowId, AblationRun[]>(specs.map((s) => [s.id, []]));
  const result: AblationResult = {
    preset: options.preset, command: options.command, seeds, metric: METRIC,
    budget: { epochs: config.epochs, trainSubset: config['train-subset'], evalSubset: config['eval-subset'], batchSize: config['batch-size'], dataSet: config['data-set'] },
    teacher: null, rows: [], totalSeconds: 0,
  };
  const publish = async () => {
    result.rows = specs.map((s) => summarizeRow(s, config, runs.get(s.id) ?? []));
    result.totalSeconds = (Date.now() - started) / 1000;
    return writeAblation(outDir, result);
  };

  const stop = new StopSignal().install();
  let teacher: NativeModel | null = null;
  try {
    for (const seed of seeds) {
      const seedConfig: TrainConfig = { ...config, seed, resume: null, 'compare-scratch': false };
      const data: DataSources = await openDataSources(seedConfig);
      try {
        if (seed === seeds[0]) {
          await data.writeClasses(outDir);
          const teacherStart = Date.now();
          const resolved = await resolveTeacher(config, data, stop, say);
          if (stop.requested || !resolved.teacher) {
            result.stoppedBy = stop.requested ?? 'SIGINT';
            say(`stopped by ${result.stoppedBy} while training the teacher; run the same command again: it resumes from ${path.join(outDir, 'teacher', 'checkpoint-last')}`);
            await publish();
            return { exitCode: stop.exitCode, result };
          }
          teacher = resolved.teacher;
          const t = resolved.result?.final ?? (await evaluateModel(teacher, data.val));
          const source = resolved.result
            ? `trained once here (${config['teacher-epochs']} epochs, ${path.join(outDir, 'teacher')})`
            : config['teacher-path'] === 'train'
              ? `trained by an earlier run (${path.join(outDir, 'teacher')})`
              : `loaded from ${config['teacher-path']}`;
          result.teacher = {
            model: config['teacher-model'], source, acc1: t.acc1, acc5: t.acc5,
            seconds: resolved.result ? (Date.now() - teacherStart) / 1000 : null,
          };
          say(`teacher top-1 ${t.acc1.toFixed(2)}% (${source})`);
        }
        const student = modelFor(config.model, config['model-overrides'], config, data);
        for (const spec of specs) {
          const rowConfig: TrainConfig = { ...seedConfig, ...spec.overrides };
          const dir = path.join(outDir, `${spec.id}-seed${seed}`);
          rowConfig['output-dir'] = dir;
          const previous = finishedRun(dir, rowConfig);
          if (previous) {
            say(`${spec.id} seed ${seed}: reusing the finished run in ${dir} (top-1 ${previous.acc1.toFixed(2)}%)`);
            runs.get(spec.id)!.push(previous);
            continue;
          }
          if (stop.requested) {
            result.stoppedBy = stop.requested;
            const paths = await publish();
            say(`stopped by ${stop.requested} between runs; partial table: ${paths.markdown}. Run the same command again to finish (finished runs are reused)`);
            return { exitCode: stop.exitCode, result };
          }
          await rm(dir, { recursive: true, force: true });
          say(`\n== ${spec.name}, seed ${seed} -> ${dir}`);
          const stage = await trainStage({
            label: `${spec.id} s${seed}`, dir, config: rowConfig, student,
            teacher: spec.id === 'scratch' ? null : teacher, train: data.train, val: data.val, stop,
          });
          if (stage.stoppedBy || !stage.final) {
            result.stoppedBy = stage.stoppedBy ?? stop.requested ?? 'SIGINT';
            say(`stopped by ${result.stoppedBy}: ${spec.id} seed ${seed} saved its checkpoint-last and is left out of the table; ` +
              'run the same command again to finish (finished runs are reused, this one restarts)');
            const paths = await publish();
            say(`partial table: ${paths.markdown}`);
            return { exitCode: stop.exitCode, result };
          }
          const run: AblationRun = {
            seed, dir, acc1: stage.final.acc1, acc5: stage.final.acc5, bestAcc1: stage.best.acc1, bestEpoch: stage.best.epoch,
            ...(stage.finalEma ? { emaAcc1: stage.finalEma.acc1 } : {}), seconds: stage.seconds,
          };
          await writeFile(path.join(dir, RUN_RESULT), `${JSON.stringify({ config: rowConfig, run }, null, 2)}\n`);
          await writeFile(path.join(dir, 'config.yaml'), configToYaml(rowConfig));
          runs.get(spec.id)!.push(run);
          await publish();
        }
      } finally {
        await data.close();
      }
    }
    const paths = await publish();
    process.stdout.write(formatAblationMarkdown(result));
    say(`ablation table: ${paths.markdown} (raw numbers: ${paths.json})`);
    return { exitCode: 0, result };
  } finally {
    stop.uninstall();
  }
}
