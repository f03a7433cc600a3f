// `mdistill train`: resolves the teacher (a weights file, or one trained first and reused on the next run),
// optionally trains a from-scratch baseline, distils the student, and prints the comparison table.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TrainConfig } from '../config/schema.js';
import { configToYaml } from '../config/resolveConfig.js';
import type { NativeModel } from '../model/nativeModel.js';
import { JsonlWriter } from '../log/jsonlWriter.js';
import type { EvalResult } from '../log/records.js';
import { writeReport } from '../report/report.js';
import { openDataSources, type DataSources } from '../train/dataSources.js';
import { evaluateModel } from '../train/evaluate.js';
import { StopSignal } from '../train/stopSignal.js';
import { assertResumable } from '../train/checkpoint.js';
import { trainModel, type TrainRunResult } from '../train/trainRun.js';
import { SINGLE_PROCESS, type DistContext } from '../dist/distContext.js';
import { modelFor, resolveTeacher } from './runModels.js';

export interface TrainOutcome {
  exitCode: number;
  rows: { name: string; acc1: number; acc5: number }[];
}

/** Warns loudly when the teacher is near chance on a slice of val: a wrong checkpoint or normalisation. */
async function checkTeacher(teacher: NativeModel, config: TrainConfig, data: DataSources, log: JsonlWriter | null, dist: DistContext): Promise<EvalResult> {
  const r = await evaluateModel(teacher, data.valSlice(config['teacher-check']), dist);
  if (!log) return r;
  const chance = 100 / data.classes.length;
  const warning = r.acc1 < 2 * chance
    ? `the teacher's top-1 on ${r.samples} validation images is ${r.acc1.toFixed(1)}%, near chance (${chance.toFixed(1)}%): ` +
      'check --teacher-path, --teacher-model and the input normalisation before spending compute'
    : undefined;
  log.append({ kind: 'teacher', time: new Date().toISOString(), eval: r, chance, ...(warning ? { warning } : {}) });
  if (warning) process.stderr.write(`\n!!! WARNING: ${warning}\n\n`);
  return r;
}

/** Under several processes (`dist`), every rank runs this; only rank 0 writes files and prints. */
export async function runTrain(config: TrainConfig, dist: DistContext = SINGLE_PROCESS): Promise<TrainOutcome> {
  const outDir = config['output-dir'];
  // Before any data or model work: what cannot run at all.
  if (config.resume && config.finetune) throw new Error(`--finetune ${config.finetune} with --resume ${config.resume}: a resumed run already has its weights; drop --finetune`);
  if (config.resume) await assertResumable(config.resume);
  await mkdir(outDir, { recursive: true });
  if (dist.isMain) await writeFile(path.join(outDir, 'config.yaml'), configToYaml(config));
  const stop = new StopSignal(dist.isMain ? undefined : () => undefined).install();
  const say = (m: string) => {
    if (dist.isMain) process.stderr.write(`${m}\n`);
  };
  const data = await openDataSources(config, dist);
  const globalBatch = config['batch-size'] * dist.worldSize;
  try {
    if (dist.isMain) await data.writeClasses(outDir);
    if (dist.worldSize > 1) say(`data parallel: ${dist.worldSize} processes (${dist.group?.backend ?? 'gloo'}), global batch ${globalBatch}`);
    const rows: TrainOutcome['rows'] = [];
    const { teacher, result: teacherResult } = await resolveTeacher(config, data, stop, say, dist);
    if (stop.requested) return stopped(stop, 'run the same command again: the teacher resumes from its checkpoint-last', dist);
    const studentConfig = modelFor(config.model, config['model-overrides'], config, data);
    const logPath = path.join(outDir, 'log.jsonl');
    // A fresh run starts its log here (the teacher check is its first record); a resumed one appends.
    if (dist.isMain && !config.resume) await rm(logPath, { force: true });
    const log = dist.isMain ? new JsonlWriter(logPath) : null;
    if (teacher) {
      const checked = config['teacher-check'] > 0 ? await checkTeacher(teacher, config, data, log, dist) : undefined;
      const t = teacherResult?.final ?? checked;
      if (t) rows.push({ name: `teacher (${config['teacher-model']})`, acc1: t.acc1, acc5: t.acc5 });
    }
    log?.close();
    if (config['compare-scratch'] && teacher) {
      const scratch = await trainModel({
        label: 'scratch', dir: path.join(outDir, 'scratch'), config: { ...config, 'distillation-type': 'none' }, student: studentConfig,
        teacher: null, train: data.train, val: data.val, stop, dist, globalBatch,
      });
      if (scratch.stoppedBy) return stopped(stop, 'run the same command again (the baseline restarts; the teacher is reused)', dist);
      rows.push(rowOf('student from scratch', scratch));
    }
    const main = await trainModel({
      label: 'student', dir: outDir, config, student: studentConfig, teacher, train: data.train, val: data.val, stop, resume: config.resume,
      init: config.finetune, keepLog: true, dist, globalBatch,
    });
    if (main.stoppedBy) {
      return stopped(stop, `mdistill train --config ${path.join(outDir, 'config.yaml')} --resume ${path.join(outDir, 'checkpoint-last')}`, dist);
    }
    rows.push(rowOf(teacher ? `student, ${config['distillation-type']} KD + manifold` : 'student (no teacher)', main));
    if (!dist.isMain) return { exitCode: 0, rows };
    const report = await writeReport(outDir);
    printTable(rows);
    say(`report: ${report.path}`);
    return { exitCode: 0, rows };
  } finally {
    stop.uninstall();
    await data.close();
  }
}

function rowOf(name: string, r: TrainRunResult): TrainOutcome['rows'][number] {
  const best = r.finalEma && r.final && r.finalEma.acc1 > r.final.acc1 ? r.finalEma : r.final;
  return { name: best === r.finalEma ? `${name} (EMA)` : name, acc1: best?.acc1 ?? NaN, acc5: best?.acc5 ?? NaN };
}

function stopped(stop: StopSignal, howToResume: string, dist: DistContext): TrainOutcome {
  if (dist.isMain) process.stderr.write(`stopped by ${stop.requested}; checkpoint-last is saved. To resume: ${howToResume}\n`);
  return { exitCode: stop.exitCode, rows: [] };
}

export function printTable(rows: TrainOutcome['rows']): void {
  const width = Math.max(...rows.map((r) => r.name.length), 5);
  console.log(`${'model'.padEnd(width)}  top-1   top-5`);
  for (const r of rows) console.log(`${r.name.padEnd(width)}  ${r.acc1.toFixed(2).padStart(5)}%  ${r.acc5.toFixed(2).padStart(5)}%`);
}
