// One model's training run: epochs of native steps fed by the data pipeline, per-epoch eval of the model and its
// EMA, log.jsonl, atomic checkpoints, exact resume, and a clean stop on SIGINT/SIGTERM. Several runs (a teacher,
// a baseline, the student; the ablation's rows) are put together in src/recipes/.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TrainConfig } from '../config/schema.js';
import { configToYaml } from '../config/resolveConfig.js';
import type { ModelConfig } from '../model/modelConfig.js';
import { NativeModel } from '../model/nativeModel.js';
import { loadStateDict, stateDictOf, timmMetadata } from '../model/loadWeights.js';
import { describeFinetune, loadFinetuneWeights } from '../model/finetuneWeights.js';
import { JsonlWriter } from '../log/jsonlWriter.js';
import type { EvalResult } from '../log/records.js';
import { Progress } from '../log/progress.js';
import { readCheckpoint, readCheckpointState, rewriteCheckpointState, writeCheckpoint, type CheckpointState } from './checkpoint.js';
import { removeStaleTemporaries } from '../io/atomicWrite.js';
import { makeDirectories } from '../io/makeDirectories.js';
import { fileProblem } from '../io/fileProblem.js';
import type { EvalBatchSource, TrainBatchSource } from './dataSources.js';
import { evaluateModel } from './evaluate.js';
import { learningRate, scaledLr } from './lrSchedule.js';
import { NativeTrainer, lossTermsOf } from './nativeTrainer.js';
import { dataParallelOptionsOf, trainerOptionsOf } from './runOptions.js';
import type { StopSignal } from './stopSignal.js';
import { SINGLE_PROCESS, type DistContext } from '../dist/distContext.js';
import { processDevice } from '../dist/rankDevice.js';
import { translateResume } from '../dist/resumePosition.js';

export interface TrainRunSpec {
  /** Short name in progress lines: 'teacher', 'scratch', 'student'. */
  label: string;
  dir: string;
  config: TrainConfig;
  student: ModelConfig;
  /** null trains without a teacher (distillation-type is then treated as none). */
  teacher: NativeModel | null;
  train: TrainBatchSource;
  val: EvalBatchSource;
  stop: StopSignal;
  /** A checkpoint directory to continue from exactly. */
  resume?: string | null;
  /** Weights to start the student from, for transfer (--finetune): a weights file (.safetensors or .pth) or a checkpoint directory. */
  init?: string | null;
  /** Keep an existing log.jsonl on a fresh start (the caller already started it); by default a fresh start empties it. */
  keepLog?: boolean;
  /** Global batch (batch-size × world size), for the lr scaling. */
  globalBatch?: number;
  /** The data-parallel job (default: one process). Only rank 0 logs, prints and writes checkpoints. */
  dist?: DistContext;
  /** Where the teacher's weights came from, for messages. */
  teacherSource?: string;
}

export interface TrainRunResult {
  dir: string;
  student: NativeModel;
  ema: NativeModel | null;
  best: { epoch: number; acc1: number };
  final?: EvalResult;
  finalEma?: EvalResult;
  stoppedBy?: NodeJS.Signals;
  /** With stoppedBy: whether checkpoint-last was written before stopping (not when the stop came before the first step). */
  saved?: boolean;
  /** The run had already trained every epoch (a finished run reused or resumed): nothing was trained or written. */
  alreadyFinished?: boolean;
  seconds: number;
}

function now(): string {
  return new Date().toISOString();
}

/** The best accuracy a run reached so far: its checkpoint-last's record, or its checkpoint-best's if a crash left last behind it. */
async function bestSoFar(checkpoint: string, state: CheckpointState): Promise<{ bestAcc1: number; bestEpoch: number }> {
  const best = await readCheckpointState(path.join(path.dirname(checkpoint), 'checkpoint-best')).catch(() => undefined);
  return best && best.bestAcc1 > state.bestAcc1 ? { bestAcc1: best.bestAcc1, bestEpoch: best.bestEpoch } : { bestAcc1: state.bestAcc1, bestEpoch: state.bestEpoch };
}

/** Decodes the first validation batch, so a broken validation set fails before an epoch is spent. */
async function checkValidationSet(val: EvalBatchSource): Promise<void> {
  for await (const batch of val.batches()) {
    batch.release();
    break;
  }
}

/** The native non-finite-loss error, with the teacher named when its terms are the non-finite ones. */
function explainNonFinite(err: unknown, teacher: NativeModel | null, teacherSource: string | undefined): unknown {
  if (!teacher || !(err instanceof Error) || (err as { code?: unknown }).code !== 'MDISTILL_NONFINITE_LOSS') return err;
  const term = (name: string) => new RegExp(` ${name}=(\\S+?)\\.?(\\s|$)`).exec(err.message)?.[1];
  const finite = (v: string | undefined) => v !== undefined && Number.isFinite(Number(v));
  const teacherTerms = ['kd', 'sample', 'patch', 'rand'].filter((t) => !finite(term(t)));
  if (finite(term('base')) && teacherTerms.length > 0) {
    err.message += ` The student's own loss (base) is finite but ${teacherTerms.join(', ')} ${teacherTerms.length > 1 ? 'are' : 'is'} not: ` +
      `the teacher${teacherSource ? ` (${teacherSource})` : ''} produces non-finite outputs. Check its weights and --teacher-model.`;
  }
  return err;
}

export async function trainModel(spec: TrainRunSpec): Promise<TrainRunResult> {
  const { config, train, val, stop } = spec;
  const dist = spec.dist ?? SINGLE_PROCESS;
  const started = Date.now();
  await makeDirectories(spec.dir, { flag: '--output-dir', what: `the ${spec.label}'s run directory` });
  if (dist.isMain) {
    for (const d of [spec.dir, path.join(spec.dir, 'checkpoint-last'), path.join(spec.dir, 'checkpoint-best')]) {
      const removed = await removeStaleTemporaries(d);
      if (removed.length) process.stderr.write(`${spec.label}: removed ${removed.length} temporary copies left by killed runs in ${d} (${removed.join(', ')})\n`);
    }
  }
  const options = trainerOptionsOf(config, spec.teacher !== null);
  const { kd } = options;
  const device = processDevice(config.device, dist);
  const student = new NativeModel(spec.student, { dropPathRate: config['drop-path'], seed: config.seed, device });
  const ema = config['model-ema'] ? new NativeModel(spec.student, { seed: config.seed, device }) : null;
  const trainer = new NativeTrainer(student, spec.teacher, ema, options);
  const metadata = timmMetadata(spec.student);
  const stepsPerEpoch = train.batchesPerEpoch;
  const schedule = {
    baseLr: scaledLr(config.lr, spec.globalBatch ?? config['batch-size']),
    warmupLr: config['warmup-lr'],
    minLr: config['min-lr'],
    warmupSteps: Math.round(config['warmup-epochs'] * stepsPerEpoch),
    totalSteps: config.epochs * stepsPerEpoch,
  };

  let state: CheckpointState = {
    epoch: 0, step: 0, batchInEpoch: 0, bestAcc1: -1, bestEpoch: -1,
    config: config as unknown as Record<string, unknown>, studentMetadata: metadata, worldSize: dist.worldSize, version: 1,
  };
  if (spec.resume) {
    const ckpt = await readCheckpoint(spec.resume);
    loadStateDict(student, ckpt.model, { source: path.join(spec.resume, 'model.safetensors') });
    if (ema && ckpt.ema) loadStateDict(ema, ckpt.ema, { source: path.join(spec.resume, 'ema.safetensors') });
    trainer.loadOptimizerState(ckpt.optimizer, ckpt.state.step);
    state = { ...ckpt.state, config: state.config };
    const moved = translateResume(ckpt.state, { worldSize: dist.worldSize, batchSize: config['batch-size'], stepsPerEpoch });
    if (moved.note && dist.isMain) process.stderr.write(`${spec.label}: ${moved.note}\n`);
    state = { ...state, step: moved.step, batchInEpoch: moved.batchInEpoch, worldSize: dist.worldSize, ...(await bestSoFar(spec.resume, state)) };
  } else {
    if (spec.init) {
      const loaded = await loadFinetuneWeights(student, spec.init);
      if (dist.isMain) process.stderr.write(`${spec.label}: --finetune: ${describeFinetune(loaded)}\n`);
    }
    // The EMA starts from the student's starting weights (fine-tuned or fresh).
    if (ema) trainer.resetEma();
  }
  // Rank 0's weights (and EMA) reach every rank; from here on each step averages the gradients.
  if (dist.group) await trainer.attachProcessGroup(dist.group, dataParallelOptionsOf(config));
  if (state.epoch >= config.epochs) {
    // Every epoch is done (a finished run resumed or reused): evaluate what it left, train and write nothing.
    const final = await evaluateModel(student, val, dist);
    const finalEma = ema ? await evaluateModel(ema, val, dist) : undefined;
    return { dir: spec.dir, student, ema, best: { epoch: state.bestEpoch, acc1: state.bestAcc1 }, final, finalEma, alreadyFinished: true, seconds: (Date.now() - started) / 1000 };
  }
  // Every run directory it trains says how it was made (the teacher/ and scratch/ runs too, which the report compares).
  if (dist.isMain) {
    const file = path.join(spec.dir, 'config.yaml');
    await writeFile(file, configToYaml(config)).catch((err: unknown) => {
      throw fileProblem(err, { path: file, action: 'write it', flag: '--output-dir' });
    });
  }
  await checkValidationSet(val);

  const logPath = path.join(spec.dir, 'log.jsonl');
  // A fresh run in a reused directory must not mix its records with an earlier run's.
  if (dist.isMain && !spec.resume && !spec.keepLog) await rm(logPath, { force: true });
  const log: Pick<JsonlWriter, 'append' | 'close'> = dist.isMain ? new JsonlWriter(logPath) : { append: () => undefined, close: () => undefined };
  const progress: Pick<Progress, 'update' | 'done'> = dist.isMain ? new Progress() : { update: () => undefined, done: () => undefined };
  const saveCheckpoint = async (name: 'checkpoint-last' | 'checkpoint-best') => {
    if (!dist.isMain) return;
    const opt = trainer.optimizerState();
    await writeCheckpoint(path.join(spec.dir, name), {
      model: stateDictOf(student), ema: ema ? stateDictOf(ema) : undefined, optimizer: opt.tensors, state,
    });
  };
  const stoppedResult = async (): Promise<TrainRunResult> => {
    progress.done();
    // (A stop that came before the first step still lets one step run, so there is always something to save.)
    const saved = batchesDone > 0;
    if (saved) await saveCheckpoint('checkpoint-last');
    return { dir: spec.dir, student, ema, best: { epoch: state.bestEpoch, acc1: state.bestAcc1 }, stoppedBy: stop.requested, saved, seconds: (Date.now() - started) / 1000 };
  };
  let batchesDone = 0;

  let final: EvalResult | undefined;
  let finalEma: EvalResult | undefined;
  try {
    for (let epoch = state.epoch; epoch < config.epochs; epoch++) {
      const epochStart = Date.now();
      let seen = 0, lossSum = 0, correct = 0, batchesThisRun = 0;
      let windowStart = Date.now(), windowImages = 0;
      for await (const batch of train.batches(epoch, state.batchInEpoch)) {
        let terms;
        try {
          const lr = learningRate(state.step, schedule);
          terms = await trainer.step(batch, lr, state.step).catch((err: unknown) => {
            throw explainNonFinite(err, spec.teacher, spec.teacherSource);
          });
          batchesDone++;
          // The terms are already means over the ranks; the counts cover the global batch.
          const b = batch.shape[0] * dist.worldSize;
          seen += b;
          windowImages += b;
          lossSum += terms.total * b;
          correct += terms.correct;
          batchesThisRun++;
          state.step++;
          state.batchInEpoch++;
          const elapsed = (Date.now() - windowStart) / 1000;
          const imgPerS = elapsed > 0 ? windowImages / elapsed : 0;
          if (state.step % config['log-every'] === 0) {
            await log.append({ kind: 'step', time: now(), epoch, step: state.step, lr, loss: lossTermsOf(terms), imgPerS });
            windowStart = Date.now();
            windowImages = 0;
          }
          progress.update({
            label: spec.label, epoch, epochs: config.epochs, batch: state.batchInEpoch, batches: stepsPerEpoch, imgPerS,
            terms: kd === 'none' ? { loss: terms.total } : { loss: terms.total, kd: terms.kd, patch: terms.patch, sample: terms.sample, rand: terms.rand },
          });
        } finally {
          batch.release();
        }
        // Every rank stops after the same step, even when the signal reached them a step apart.
        if (dist.worldSize > 1 ? (await dist.sum([stop.requested ? 1 : 0]))[0] > 0 : stop.requested) {
          if (!stop.requested) stop.request('SIGTERM');
          break;
        }
      }
      if (stop.requested) {
        state.epoch = epoch;
        return await stoppedResult();
      }
      progress.done();
      state.epoch = epoch + 1;
      state.batchInEpoch = 0;
      // Saved before evaluating: a validation set that fails now costs no training.
      await saveCheckpoint('checkpoint-last');
      final = await evaluateModel(student, val, dist);
      finalEma = ema ? await evaluateModel(ema, val, dist) : undefined;
      const seconds = (Date.now() - epochStart) / 1000;
      await log.append({
        kind: 'epoch', time: now(), epoch, step: state.step, seconds, imgPerS: seen / Math.max(seconds, 1e-9),
        train: { loss: lossSum / Math.max(seen, 1), acc1: (100 * correct) / Math.max(seen, 1) }, eval: final, evalEma: finalEma,
      });
      const acc = Math.max(final.acc1, finalEma?.acc1 ?? -1);
      const isBest = acc > state.bestAcc1;
      if (isBest) {
        state.bestAcc1 = acc;
        state.bestEpoch = epoch;
        await saveCheckpoint('checkpoint-best');
        if (dist.isMain) await rewriteCheckpointState(path.join(spec.dir, 'checkpoint-last'), state);
      }
      if (dist.isMain) process.stderr.write(
        `${spec.label} epoch ${epoch + 1}/${config.epochs}: top-1 ${final.acc1.toFixed(2)}%` +
          (finalEma ? ` (EMA ${finalEma.acc1.toFixed(2)}%)` : '') + `, ${batchesThisRun} steps in ${seconds.toFixed(1)} s\n`,
      );
    }
    // The other ranks may read what rank 0 just wrote (a trained teacher's checkpoint-best).
    await dist.barrier();
    const seconds = (Date.now() - started) / 1000;
    log.append({ kind: 'summary', time: now(), seconds, best: { epoch: state.bestEpoch, acc1: state.bestAcc1 }, final: { eval: final, evalEma: finalEma }, badSamples: train.badSamples() });
  } catch (err) {
    progress.done();
    throw err;
  } finally {
    log.close();
  }
  const seconds = (Date.now() - started) / 1000;
  return { dir: spec.dir, student, ema, best: { epoch: state.bestEpoch, acc1: state.bestAcc1 }, final, finalEma, seconds };
}
