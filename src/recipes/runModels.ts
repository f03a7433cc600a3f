// The models of a run, shared by `train` and `ablate`: a preset fitted to the data (modelFor), and the teacher
// (resolveTeacher): none, weights (a .safetensors or .pth file, a checkpoint or a run directory), or `<output-dir>/teacher` trained first
// and reused once complete.
import path from 'node:path';
import type { TrainConfig } from '../config/schema.js';
import { checkLayerPairs, ConfigError } from '../config/resolveConfig.js';
import { completeDir } from '../io/atomicWrite.js';
import { planLayerPairs } from '../loss/manifoldLoss.js';
import { blockCount, blockLayouts, resolveModel, type ModelConfig } from '../model/modelConfig.js';
import { NativeModel } from '../model/nativeModel.js';
import { loadStateDict } from '../model/loadWeights.js';
import { CHECKPOINT_BEST, CHECKPOINT_LAST, MODEL_WEIGHTS_FILE, readWeights, resolveWeightsSource, type WeightsSource } from '../model/weightsSource.js';
import type { DataSources } from '../train/dataSources.js';
import { claimRunDir } from '../train/runDirectory.js';
import type { StopSignal } from '../train/stopSignal.js';
import { trainModel, type TrainRunResult } from '../train/trainRun.js';
import { SINGLE_PROCESS, type DistContext } from '../dist/distContext.js';
import { processDevice } from '../dist/rankDevice.js';

export function modelFor(name: string, overrides: Record<string, unknown>, config: TrainConfig, data: DataSources, flag = 'model-overrides'): ModelConfig {
  return resolveModel(name, {
    ...(overrides as Partial<ModelConfig>),
    imgSize: config['input-size'],
    inChans: data.channels,
    numClasses: data.classes.length,
  }, Object.keys(overrides).length ? `'${name}' with --${flag}` : `'${name}'`);
}

/** Fails before any training when a --s-id/--t-id pair's grids cannot be brought together under --max-patch-num
 *  (the manifold loss's own rule: same grid, or a merge to a common square grid). */
export function checkPairGrids(config: TrainConfig, student: ModelConfig, teacher: ModelConfig): void {
  const sIds = config['s-id'], tIds = config['t-id'];
  const manifoldOn = config['distillation-type'] !== 'none' && config['distillation-beta'] !== 0 &&
    (config['w-sample'] !== 0 || config['w-patch'] !== 0 || config['w-rand'] !== 0);
  if (!manifoldOn || sIds.length === 0 || sIds.length !== tIds.length) return;
  const s = blockLayouts(student), t = blockLayouts(teacher);
  for (let i = 0; i < sIds.length; i++) {
    try {
      planLayerPairs([{ student: s[sIds[i]], teacher: t[tIds[i]] }], config['max-patch-num']);
    } catch (err) {
      throw new ConfigError(`--s-id ${sIds[i]} / --t-id ${tIds[i]} (student '${config.model}' block ${sIds[i]}, teacher '${config['teacher-model']}' block ${tIds[i]}): ` +
        (err as Error).message.replace(/^manifold loss pair 0: /, ''));
    }
  }
}

export interface ResolvedTeacher {
  teacher: NativeModel | null;
  /** The teacher's training run, when it was trained (or continued) here. */
  result?: TrainRunResult;
  /** Where its weights came from, for messages. */
  source?: string;
}

/** Loads weights (of any format) into a new teacher model on this process's device; non-finite weights are refused here, naming the file. */
async function loadTeacher(config: TrainConfig, teacherConfig: ModelConfig, source: Pick<WeightsSource, 'file'>, dist: DistContext, flag?: string): Promise<NativeModel> {
  const { tensors } = await readWeights(source, { flag });
  const teacher = new NativeModel(teacherConfig, { device: processDevice(config.device, dist) });
  loadStateDict(teacher, tensors, { source: source.file, role: 'teacher' });
  return teacher;
}

/** The teacher of a run: none, weights (--teacher-path), or `<output-dir>/teacher` trained first (reused once complete). */
export async function resolveTeacher(config: TrainConfig, data: DataSources, stop: StopSignal, log: (m: string) => void, dist: DistContext = SINGLE_PROCESS): Promise<ResolvedTeacher> {
  if (config['distillation-type'] === 'none') {
    // ('train', a recipe's own teacher, is simply not needed; a weights path the user gave deserves the note.)
    if (config['teacher-path'] !== null && config['teacher-path'] !== 'train') {
      log(`note: --distillation-type none trains without a teacher; --teacher-path ${config['teacher-path']} is not used`);
    }
    return { teacher: null };
  }
  const teacherConfig = modelFor(config['teacher-model'], config['teacher-overrides'], config, data, 'teacher-overrides');
  const studentConfig = modelFor(config.model, config['model-overrides'], config, data);
  checkLayerPairs(config, blockCount(studentConfig), blockCount(teacherConfig));
  checkPairGrids(config, studentConfig, teacherConfig);
  const teacherPath = config['teacher-path'];
  if (teacherPath === null) {
    throw new Error(`distillation-type '${config['distillation-type']}' needs a teacher: --teacher-path <weights: a .safetensors or .pth file, a checkpoint or a run directory>, ` +
      `or --teacher-path train --teacher-epochs N to train one first (or --distillation-type none)`);
  }
  if (teacherPath !== 'train') {
    const source = await resolveWeightsSource(teacherPath, { flag: '--teacher-path' });
    if (source.note) log(`note: ${source.note}`);
    return { teacher: await loadTeacher(config, teacherConfig, source, dist, '--teacher-path'), source: source.file };
  }
  const dir = path.join(config['output-dir'], 'teacher');
  if (config['teacher-epochs'] < 1) throw new Error(`--teacher-path train needs --teacher-epochs >= 1`);
  // The teacher starts from scratch (--finetune is the student's), so its config.yaml and recipe identity say so.
  const teacherRun: TrainConfig = {
    ...config, epochs: config['teacher-epochs'], 'distillation-type': 'none', model: config['teacher-model'],
    'model-overrides': config['teacher-overrides'], finetune: null,
  };
  const use = await claimRunDir(dir, teacherRun, { label: 'teacher', ownedByRecipe: true });
  const weightsOf = () => {
    const best = completeDir(path.join(dir, CHECKPOINT_BEST), MODEL_WEIGHTS_FILE) ?? completeDir(path.join(dir, CHECKPOINT_LAST), MODEL_WEIGHTS_FILE);
    return path.join(best ?? path.join(dir, CHECKPOINT_BEST), MODEL_WEIGHTS_FILE);
  };
  if (use.kind === 'finished') {
    const best = weightsOf();
    log(`reusing the teacher trained earlier: ${best}`);
    return { teacher: await loadTeacher(config, teacherConfig, { file: best }, dist), source: best };
  }
  if (use.kind === 'continue') log(`continuing the teacher's training from ${use.checkpoint} (epoch ${use.epoch} of ${config['teacher-epochs']})`);
  const result = await trainModel({
    label: 'teacher', dir, config: teacherRun, student: teacherConfig, teacher: null, train: data.train, val: data.val, stop,
    resume: use.kind === 'continue' ? use.checkpoint : null, dist, globalBatch: config['batch-size'] * dist.worldSize,
  });
  if (result.stoppedBy) return { teacher: null, result };
  const best = weightsOf();
  return { teacher: await loadTeacher(config, teacherConfig, { file: best }, dist), result, source: best };
}
