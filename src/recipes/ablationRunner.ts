// `mdistill ablate`: which part of manifold distillation buys what. Each row of the plan (ablationPlan.ts) is
// trained for several seeds against ONE shared teacher, then tabulated (ablationTable.ts). Finished runs are kept
// and reused by the next invocation; a signal stops the ablation between or inside runs with a partial table.
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TrainConfig } from '../config/schema.js';
import { configToYaml } from '../config/resolveConfig.js';
import { atomicWriteFile } from '../io/atomicWrite.js';
import type { NativeModel } from '../model/nativeModel.js';
import { openDataSources, type DataSources } from '../train/dataSources.js';
import { writeReport } from '../report/report.js';
import { evaluateModel } from '../train/evaluate.js';
import { StopSignal } from '../train/stopSignal.js';
import { trainModel } from '../train/trainRun.js';
import { prepareRunDir } from '../train/runDirectory.js';
import { ablationRows, type AblationRowId } from './ablationPlan.js';
import { formatAblationMarkdown, METRIC, summarizeRow, writeAblation, type AblationResult, type AblationRun } from './ablationTable.js';
import { modelFor, resolveTeacher } from './runModels.js';

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
  await prepareRunDir(outDir);
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
    const written = await writeAblation(outDir, result);
    // report.html: top-1 per epoch of the teacher and every row's runs on one chart, and their final table.
    await writeReport(outDir);
    return written;
  };
  const stop = new StopSignal().install();
  /** The one way out on a signal: the table of what finished, marked as stopped, then what to do next. */
  const stopAndPublish = async (by: string, explain: (table: string) => string[]) => {
    result.stoppedBy = by;
    const paths = await publish();
    for (const line of explain(paths.markdown)) say(line);
    return { exitCode: stop.exitCode, result };
  };

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
            const by = stop.requested ?? 'SIGINT';
            return stopAndPublish(by, () => [
              `stopped by ${by} while training the teacher; run the same command again: it resumes from ${path.join(outDir, 'teacher', 'checkpoint-last')}`,
            ]);
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
            const by = stop.requested;
            return stopAndPublish(by, (table) => [
              `stopped by ${by} between runs; partial table: ${table}. Run the same command again to finish (finished runs are reused)`,
            ]);
          }
          await rm(dir, { recursive: true, force: true });
          say(`\n== ${spec.name}, seed ${seed} -> ${dir}`);
          const trained = await trainModel({
            label: `${spec.id} s${seed}`, dir, config: rowConfig, student,
            teacher: spec.id === 'scratch' ? null : teacher, train: data.train, val: data.val, stop,
          });
          if (trained.stoppedBy || !trained.final) {
            const by = trained.stoppedBy ?? stop.requested ?? 'SIGINT';
            return stopAndPublish(by, (table) => [
              `stopped by ${by}: ${spec.id} seed ${seed} saved its checkpoint-last and is left out of the table; ` +
                'run the same command again to finish (finished runs are reused, this one restarts)',
              `partial table: ${table}`,
            ]);
          }
          const run: AblationRun = {
            seed, dir, acc1: trained.final.acc1, acc5: trained.final.acc5, bestAcc1: trained.best.acc1, bestEpoch: trained.best.epoch,
            ...(trained.finalEma ? { emaAcc1: trained.finalEma.acc1 } : {}), seconds: trained.seconds,
          };
          await writeFile(path.join(dir, 'config.yaml'), configToYaml(rowConfig));
          // Written last and atomically: its presence is what marks the run as finished.
          await atomicWriteFile(path.join(dir, RUN_RESULT), `${JSON.stringify({ config: rowConfig, run }, null, 2)}\n`);
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
