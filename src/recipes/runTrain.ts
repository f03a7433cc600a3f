// `mdistill train`: resolves the teacher (weights, or one trained first and reused on the next run), optionally
// trains a from-scratch baseline, distils the student, and prints the comparison table. A re-run never destroys an
// earlier run (train/runDirectory.ts decides what a run may do with its directory before anything is written).
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TrainConfig } from '../config/schema.js';
import { configToYaml } from '../config/resolveConfig.js';
import { fileProblem } from '../io/fileProblem.js';
import type { NativeModel } from '../model/nativeModel.js';
import { resolveCheckpointDir, resolveWeightsSource } from '../model/weightsSource.js';
import { JsonlWriter } from '../log/jsonlWriter.js';
import type { EvalResult } from '../log/records.js';
import { writeReport } from '../report/report.js';
import { openDataSources, type DataSources } from '../train/dataSources.js';
import { evaluateModel } from '../train/evaluate.js';
import { readCheckpointState } from '../train/checkpoint.js';
import { assertFreeForResume, claimRunDir, prepareRunDir, RunDirectoryError, type RunDirUse } from '../train/runDirectory.js';
import { StopSignal } from '../train/stopSignal.js';
import { trainModel, type TrainRunResult } from '../train/trainRun.js';
import { SINGLE_PROCESS, type DistContext } from '../dist/distContext.js';
import { modelFor, resolveTeacher } from './runModels.js';

export interface TrainOutcome {
  exitCode: number;
  rows: { name: string; acc1: number; acc5: number }[];
}

/** Warns loudly when the teacher is near chance on a slice of val: a wrong checkpoint or normalisation. */
async function checkTeacher(teacher: NativeModel, config: TrainConfig, data: DataSources, log: JsonlWriter | null, dist: DistContext, warn: boolean): Promise<EvalResult> {
  const r = await evaluateModel(teacher, data.valSlice(config['teacher-check']), dist);
  if (!warn) return r;
  const chance = 100 / data.classes.length;
  const warning = r.acc1 < 2 * chance
    ? `the teacher's top-1 on ${r.samples} validation images is ${r.acc1.toFixed(1)}%, near chance (${chance.toFixed(1)}%): ` +
      'check --teacher-path, --teacher-model and the input normalisation before spending compute'
    : undefined;
  log?.append({ kind: 'teacher', time: new Date().toISOString(), eval: r, chance, ...(warning ? { warning } : {}) });
  if (warning) process.stderr.write(`\n!!! WARNING: ${warning}\n\n`);
  return r;
}

type MainRunUse = RunDirUse | { kind: 'resume' };
const DECISION: MainRunUse['kind'][] = ['fresh', 'finished', 'continue', 'resume'];

/**
 * What the main run does with --output-dir: decided by rank 0 (which alone writes there) and shared with every
 * rank, so all of them train, reuse, resume or stop together.
 */
async function agreeOnRunDir(outDir: string, config: TrainConfig, dist: DistContext, resumeFrom: string | undefined): Promise<MainRunUse> {
  let use: MainRunUse | undefined;
  let refusal: unknown;
  if (dist.isMain) {
    try {
      if (resumeFrom) {
        await assertFreeForResume(outDir, resumeFrom);
        use = { kind: 'resume' };
      } else {
        use = await claimRunDir(outDir, config, { label: 'student' });
      }
    } catch (err) {
      refusal = err;
    }
  }
  if (dist.worldSize === 1) {
    if (refusal) throw refusal;
    return use!;
  }
  const code = (await dist.sum([dist.isMain ? (refusal ? DECISION.length : DECISION.indexOf(use!.kind)) : 0]))[0];
  if (refusal) throw refusal;
  if (code >= DECISION.length) throw new RunDirectoryError(`rank 0 refused --output-dir ${outDir} (its message says why)`);
  if (use) return use;
  const kind = DECISION[code];
  return kind === 'fresh' || kind === 'resume' ? { kind } : { kind, checkpoint: path.join(outDir, 'checkpoint-last'), epoch: 0 };
}

/** Under several processes (`dist`), every rank runs this; only rank 0 writes files and prints. */
export async function runTrain(config: TrainConfig, dist: DistContext = SINGLE_PROCESS): Promise<TrainOutcome> {
  const outDir = config['output-dir'];
  const say = (m: string) => {
    if (dist.isMain) process.stderr.write(`${m}\n`);
  };
  if (dist.isMain) await prepareRunDir(outDir);
  const resumeFrom = config.resume ? await resolveCheckpointDir(config.resume, { flag: '--resume' }) : null;
  if (resumeFrom?.note) say(`note: ${resumeFrom.note}`);
  if (resumeFrom && config.finetune !== null) {
    // The resume command printed after a stop passes the run's config.yaml, whose finetune started that very run.
    const startedFrom = (await readCheckpointState(resumeFrom.dir)).config.finetune ?? null;
    if (startedFrom !== config.finetune) {
      throw new Error(`--finetune ${config.finetune} with --resume ${config.resume}: a resumed run already has its weights; drop --finetune`);
    }
  }
  const use = await agreeOnRunDir(outDir, config, dist, resumeFrom?.dir);
  const reuse = use.kind === 'finished';
  // A new run's --finetune is resolved (a wrong path refused) before any data is read or any teacher is trained.
  const finetuneFrom = use.kind === 'fresh' && config.finetune !== null ? await resolveWeightsSource(config.finetune, { flag: '--finetune' }) : null;
  if (finetuneFrom?.note) say(`note: ${finetuneFrom.note}`);
  if (use.kind === 'finished') {
    say(`${outDir} holds this run, finished (epoch ${use.epoch} of ${config.epochs}): showing its results without training again. ` +
      `For a new run pass another --output-dir; to train longer, --epochs N --resume ${path.join(outDir, 'checkpoint-last')}.`);
  }
  // A run refused above has written nothing; from here on the directory is this run's.
  if (dist.isMain && !reuse) {
    try {
      await writeFile(path.join(outDir, 'config.yaml'), configToYaml(config));
    } catch (err) {
      throw fileProblem(err, { path: path.join(outDir, 'config.yaml'), action: 'write it', flag: '--output-dir' });
    }
  }
  const stop = new StopSignal(dist.isMain ? undefined : () => undefined).install();
  try {
    const data = await openDataSources(config, dist);
    try {
      return await trainAll(config, dist, data, stop, say, {
        reuse, resume: resumeFrom?.dir ?? (use.kind === 'finished' ? use.checkpoint : null), init: finetuneFrom?.file ?? null,
      });
    } finally {
      await data.close();
    }
  } finally {
    stop.uninstall();
  }
}

async function trainAll(
  config: TrainConfig, dist: DistContext, data: DataSources, stop: StopSignal, say: (m: string) => void,
  main: { reuse: boolean; resume: string | null; init: string | null },
): Promise<TrainOutcome> {
  const outDir = config['output-dir'];
  const globalBatch = config['batch-size'] * dist.worldSize;
  if (dist.isMain && !main.reuse) {
    try {
      await data.writeClasses(outDir);
    } catch (err) {
      throw fileProblem(err, { path: path.join(outDir, 'classes.json'), action: 'write it', flag: '--output-dir' });
    }
  }
  if (dist.worldSize > 1) say(`data parallel: ${dist.worldSize} processes (${dist.group?.backend ?? 'gloo'}), global batch ${globalBatch}`);
  const rows: TrainOutcome['rows'] = [];
  if (stop.requested) return stopped(stop, dist, 'before training started; nothing was saved. Run the same command again to start');
  const { teacher, result: teacherResult, source: teacherSource } = await resolveTeacher(config, data, stop, say, dist);
  if (stop.requested) {
    const teacherDir = path.join(outDir, 'teacher');
    return stopped(stop, dist, teacherResult?.saved
      ? `while training the teacher; its checkpoint-last is saved in ${teacherDir}. Run the same command again: the teacher continues from it`
      : 'before the student\'s training started; nothing new was saved. Run the same command again to start');
  }
  const studentConfig = modelFor(config.model, config['model-overrides'], config, data);
  const logPath = path.join(outDir, 'log.jsonl');
  // A fresh run starts its log here (the teacher check is its first record); a resumed one appends; a reused
  // finished run leaves its log as it is.
  if (dist.isMain && !main.resume) await rm(logPath, { force: true });
  const log = dist.isMain && !main.reuse ? new JsonlWriter(logPath) : null;
  if (teacher) {
    const checked = config['teacher-check'] > 0 ? await checkTeacher(teacher, config, data, log, dist, !main.reuse) : undefined;
    const t = teacherResult?.final ?? checked;
    if (t) rows.push({ name: `teacher (${config['teacher-model']})`, acc1: t.acc1, acc5: t.acc5 });
  }
  log?.close();
  if (config['compare-scratch'] && teacher) {
    const dir = path.join(outDir, 'scratch');
    // The baseline is the student trained from scratch: no teacher, and not from the --finetune weights either.
    const scratchConfig: TrainConfig = { ...config, 'distillation-type': 'none', finetune: null };
    const use = await claimRunDir(dir, scratchConfig, { label: 'scratch', ownedByRecipe: true });
    const scratch = await trainModel({
      label: 'scratch', dir, config: scratchConfig, student: studentConfig,
      teacher: null, train: data.train, val: data.val, stop, dist, globalBatch, resume: use.kind === 'fresh' ? null : use.checkpoint,
    });
    if (scratch.stoppedBy) {
      return stopped(stop, dist, scratch.saved
        ? `while training the baseline; its checkpoint-last is saved in ${dir}. Run the same command again: the baseline continues from it (the teacher is reused)`
        : 'before the baseline\'s training started; nothing new was saved. Run the same command again (the teacher is reused)');
    }
    rows.push(rowOf('student from scratch', scratch));
  }
  const student = await trainModel({
    label: 'student', dir: outDir, config, student: studentConfig, teacher, train: data.train, val: data.val, stop, resume: main.resume,
    init: main.init, keepLog: true, dist, globalBatch, teacherSource,
  });
  if (student.stoppedBy) {
    const resume = `mdistill train --config ${path.join(outDir, 'config.yaml')} --resume ${path.join(outDir, 'checkpoint-last')}`;
    return stopped(stop, dist, student.saved
      ? `; checkpoint-last is saved. To resume: ${resume}`
      : main.resume
        ? `before the first step of this attempt; checkpoint-last is as it was. To resume: ${resume}`
        : 'before the first step; nothing was saved. Run the same command again to start');
  }
  if (student.alreadyFinished && !main.reuse) {
    say(`nothing to train: ${main.resume} has done all ${config.epochs} epochs; these are its results (raise --epochs to train longer)`);
  }
  rows.push(rowOf(teacher ? `student, ${config['distillation-type']} KD + manifold` : 'student (no teacher)', student));
  if (!dist.isMain) return { exitCode: 0, rows };
  const report = await writeReport(outDir);
  printTable(rows);
  say(`report: ${report.path}`);
  return { exitCode: 0, rows };
}

function rowOf(name: string, r: TrainRunResult): TrainOutcome['rows'][number] {
  const best = r.finalEma && r.final && r.finalEma.acc1 > r.final.acc1 ? r.finalEma : r.final;
  return { name: best === r.finalEma ? `${name} (EMA)` : name, acc1: best?.acc1 ?? NaN, acc5: best?.acc5 ?? NaN };
}

/** The one message of a stopped run: what was saved (only what really was) and how to go on. */
function stopped(stop: StopSignal, dist: DistContext, what: string): TrainOutcome {
  if (dist.isMain) process.stderr.write(`stopped by ${stop.requested}${what.startsWith(';') ? '' : ' '}${what}\n`);
  return { exitCode: stop.exitCode, rows: [] };
}

export function printTable(rows: TrainOutcome['rows']): void {
  const width = Math.max(...rows.map((r) => r.name.length), 5);
  const pct = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2).padStart(5)}%` : '    –  ');
  console.log(`${'model'.padEnd(width)}  top-1   top-5`);
  for (const r of rows) console.log(`${r.name.padEnd(width)}  ${pct(r.acc1)}  ${pct(r.acc5)}`);
}
