// What a training run may do with its directory. A fresh run never overwrites an earlier one: an empty directory
// (or one without a checkpoint) is used; a finished run of the same recipe is reused (as ablate and the quickstart's
// teacher always did); an unfinished run of the same recipe is continued where the recipe owns the directory (the
// quickstart's teacher/ and scratch/) and otherwise needs --resume; anything else is refused, and the message says
// what differs and what to do. Nothing is written before this decision.
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { completeDir } from '../io/atomicWrite.js';
import { FileProblemError, fileKind, fileProblem } from '../io/fileProblem.js';
import { makeDirectories } from '../io/makeDirectories.js';
import type { ConfigKey, TrainConfig } from '../config/schema.js';
import { CHECKPOINT_BEST, CHECKPOINT_LAST, CHECKPOINT_STATE_FILE } from '../model/weightsSource.js';

export type RunDirUse =
  /** Nothing of value there: start a new run. */
  | { kind: 'fresh' }
  /** The same recipe ran every epoch: reuse it (resume from its checkpoint-last, with nothing left to train). */
  | { kind: 'finished'; checkpoint: string; epoch: number }
  /** The same recipe stopped early, in a directory the recipe owns: continue it. */
  | { kind: 'continue'; checkpoint: string; epoch: number };

export class RunDirectoryError extends Error {
  readonly code = 'MDISTILL_RUN_DIR_IN_USE';
}

/** Keys that change how a run goes (threads, logging, where), not what it trains; they may differ on a re-run. */
const RUN_ONLY_KEYS: readonly ConfigKey[] = [
  'output-dir', 'resume', 'threads', 'workers', 'log-every', 'teacher-check', 'compare-scratch', 'nproc-per-node',
  'dist-timeout', 'bucket-cap-mb', 'dist-eval', 'device', 'max-bad-fraction', 'epochs',
];

/** Keys that only matter with a teacher: a run without one (a teacher's own training, the scratch baseline) ignores them. */
const TEACHER_KEYS: readonly ConfigKey[] = [
  'distillation-type', 'distillation-alpha', 'distillation-beta', 'distillation-tau', 'w-sample', 'w-patch', 'w-rand', 'K',
  's-id', 't-id', 'max-patch-num', 'manifold-impl', 'teacher-model', 'teacher-overrides', 'teacher-path', 'teacher-epochs',
  'global-sample-manifold',
];

function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** The keys whose values differ between a stored run's config and this one (only what changes the trained weights). */
export function recipeDifferences(stored: Record<string, unknown>, current: TrainConfig): string[] {
  const ignored = new Set<string>(RUN_ONLY_KEYS);
  if (current['distillation-type'] === 'none') for (const k of TEACHER_KEYS) ignored.add(k);
  const diffs: string[] = [];
  for (const key of Object.keys(current) as ConfigKey[]) {
    if (ignored.has(key) || !(key in stored)) continue;
    if (JSON.stringify(stored[key]) !== JSON.stringify(current[key])) diffs.push(`${key} ${shown(stored[key])} → ${shown(current[key])}`);
  }
  return diffs;
}

interface StoredRun {
  checkpoint: string;
  epoch: number;
  epochs: number;
  config: Record<string, unknown>;
}

async function storedRun(dir: string): Promise<StoredRun | undefined> {
  for (const name of [CHECKPOINT_LAST, CHECKPOINT_BEST]) {
    const found = completeDir(path.join(dir, name), CHECKPOINT_STATE_FILE);
    if (!found) continue;
    try {
      const state = JSON.parse(await readFile(path.join(found, CHECKPOINT_STATE_FILE), 'utf8')) as { epoch: number; config: Record<string, unknown> };
      const epochs = typeof state.config?.epochs === 'number' ? state.config.epochs : state.epoch;
      return { checkpoint: found, epoch: state.epoch, epochs, config: state.config ?? {} };
    } catch {
      return { checkpoint: found, epoch: 0, epochs: 0, config: {} };
    }
  }
  return undefined;
}

/**
 * --resume of a checkpoint from another run directory: the output directory must not hold a run of its own,
 * which the resumed run's checkpoints would replace.
 */
export async function assertFreeForResume(dir: string, checkpoint: string, flag = '--output-dir'): Promise<void> {
  if (path.resolve(path.dirname(checkpoint)) === path.resolve(dir)) return;
  const stored = await storedRun(dir);
  if (!stored) return;
  throw new RunDirectoryError(`${flag} ${dir} already holds a run (epoch ${stored.epoch} of ${stored.epochs}); --resume ${checkpoint} ` +
    `continues another run and would write over it. Nothing was changed. Resume into that run's own directory ` +
    `(--output-dir ${path.dirname(checkpoint)}), or pass an empty --output-dir.`);
}

export interface ClaimOptions {
  /** 'student', 'teacher', 'scratch': names the run in messages. */
  label: string;
  /** The flag whose value `dir` is (or is under), for messages. */
  flag?: string;
  /** The recipe owns the directory (teacher/, scratch/): an unfinished run of the same recipe is continued. */
  ownedByRecipe?: boolean;
}

/** Decides what a run without --resume may do in `dir` (see the header); throws RunDirectoryError to refuse. */
export async function claimRunDir(dir: string, config: TrainConfig, options: ClaimOptions): Promise<RunDirUse> {
  const stored = await storedRun(dir);
  if (!stored) return { kind: 'fresh' };
  const flag = options.flag ?? '--output-dir';
  const diffs = recipeDifferences(stored.config, config);
  // A longer run of the same recipe had another schedule (the cosine spans its epochs): only a recipe's own
  // directory takes it as finished (a teacher trained longer than asked).
  if (stored.epochs > config.epochs && !options.ownedByRecipe) diffs.push(`epochs ${stored.epochs} → ${config.epochs}`);
  const progress = `epoch ${stored.epoch} of ${stored.epochs}`;
  const last = path.join(dir, CHECKPOINT_LAST);
  const ways = `To keep it and start a new run, pass another ${flag}; to replace it, delete ${dir} first.`;
  if (diffs.length > 0) {
    throw new RunDirectoryError(`${flag} ${dir} already holds a ${options.label} run (${progress}) with another config ` +
      `(${diffs.slice(0, 6).join(', ')}${diffs.length > 6 ? `, … ${diffs.length} keys in all` : ''}). Nothing was changed. ${ways} ` +
      `To continue that run with these settings instead, add --resume ${last}.`);
  }
  if (stored.epoch >= config.epochs && stored.epoch >= stored.epochs) return { kind: 'finished', checkpoint: stored.checkpoint, epoch: stored.epoch };
  if (options.ownedByRecipe) return { kind: 'continue', checkpoint: stored.checkpoint, epoch: stored.epoch };
  const held = stored.epoch >= stored.epochs
    ? `a finished ${options.label} run of this config with fewer epochs (${stored.epochs}; ${config.epochs} asked)`
    : `an unfinished ${options.label} run of this config (${progress})`;
  throw new RunDirectoryError(`${flag} ${dir} already holds ${held}. Nothing was changed. ` +
    `To train it on to ${config.epochs} epochs, add --resume ${last}. ${ways}`);
}

/**
 * Creates the run directory (and its parents) and checks that files can be written into it, before any data is read
 * or any model is built: a read-only disk or a file in the way fails here, naming --output-dir and what to do.
 */
export async function prepareRunDir(dir: string, flag = '--output-dir'): Promise<void> {
  await makeDirectories(dir, { flag, what: 'the run directory' });
  const probe = path.join(dir, `.write-test.tmp-${process.pid}`);
  try {
    await writeFile(probe, '');
  } catch (err) {
    const info = await stat(dir).catch(() => undefined);
    if (info && !info.isDirectory()) throw new FileProblemError(`${flag} ${dir}: it is ${fileKind(info)}, not a directory. Pass another ${flag}.`, dir);
    throw fileProblem(err, { path: dir, action: 'write into it', flag });
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}
