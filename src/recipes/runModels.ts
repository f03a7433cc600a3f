// The models of a run, shared by `train` and `ablate`: a preset fitted to the data (modelFor), and the teacher
// (resolveTeacher): none, a weights file, or `<output-dir>/teacher` trained first and reused once complete.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TrainConfig } from '../config/schema.js';
import { checkLayerPairs, ConfigError } from '../config/resolveConfig.js';
import { planLayerPairs } from '../loss/manifoldLoss.js';
import { blockCount, blockLayouts, resolveModel, type ModelConfig } from '../model/modelConfig.js';
import { NativeModel } from '../model/nativeModel.js';
import { loadWeightsFile } from '../model/loadWeights.js';
import type { DataSources } from '../train/dataSources.js';
import type { StopSignal } from '../train/stopSignal.js';
import { trainModel, type TrainRunResult } from '../train/trainRun.js';
import { SINGLE_PROCESS, type DistContext } from '../dist/distContext.js';

export function modelFor(name: string, overrides: Record<string, unknown>, config: TrainConfig, data: DataSources): ModelConfig {
  return resolveModel(name, {
    ...(overrides as Partial<ModelConfig>),
    imgSize: config['input-size'],
    inChans: data.channels,
    numClasses: data.classes.length,
  });
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

function teacherDone(dir: string, epochs: number): boolean {
  const stateFile = path.join(dir, 'checkpoint-last', 'state.json');
  if (!existsSync(stateFile) || !existsSync(path.join(dir, 'checkpoint-best', 'model.safetensors'))) return false;
  try {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { epoch: number };
    return state.epoch >= epochs;
  } catch {
    return false;
  }
}

/** The teacher of a run: none, a weights file, or `<output-dir>/teacher` trained first (reused once complete). */
export async function resolveTeacher(config: TrainConfig, data: DataSources, stop: StopSignal, log: (m: string) => void, dist: DistContext = SINGLE_PROCESS): Promise<{ teacher: NativeModel | null; result?: TrainRunResult }> {
  if (config['distillation-type'] === 'none') return { teacher: null };
  const teacherConfig = modelFor(config['teacher-model'], config['teacher-overrides'], config, data);
  const studentConfig = modelFor(config.model, config['model-overrides'], config, data);
  checkLayerPairs(config, blockCount(studentConfig), blockCount(teacherConfig));
  checkPairGrids(config, studentConfig, teacherConfig);
  const teacherPath = config['teacher-path'];
  if (teacherPath === null) {
    throw new Error(`distillation-type '${config['distillation-type']}' needs a teacher: --teacher-path <timm safetensors>, ` +
      `or --teacher-path train --teacher-epochs N to train one first (or --distillation-type none)`);
  }
  if (teacherPath !== 'train') {
    const teacher = new NativeModel(teacherConfig, { device: config.device });
    await loadWeightsFile(teacher, teacherPath);
    return { teacher };
  }
  const dir = path.join(config['output-dir'], 'teacher');
  const best = path.join(dir, 'checkpoint-best', 'model.safetensors');
  if (teacherDone(dir, config['teacher-epochs'])) {
    log(`reusing the teacher trained earlier: ${best}`);
    const teacher = new NativeModel(teacherConfig, { device: config.device });
    await loadWeightsFile(teacher, best);
    return { teacher };
  }
  if (config['teacher-epochs'] < 1) throw new Error(`--teacher-path train needs --teacher-epochs >= 1`);
  const teacherRun: TrainConfig = {
    ...config, epochs: config['teacher-epochs'], 'distillation-type': 'none', model: config['teacher-model'],
    'model-overrides': config['teacher-overrides'],
  };
  const resume = existsSync(path.join(dir, 'checkpoint-last', 'state.json')) ? path.join(dir, 'checkpoint-last') : null;
  const result = await trainModel({
    label: 'teacher', dir, config: teacherRun, student: teacherConfig, teacher: null, train: data.train, val: data.val, stop, resume,
    dist, globalBatch: config['batch-size'] * dist.worldSize,
  });
  if (result.stoppedBy) return { teacher: null, result };
  const teacher = new NativeModel(teacherConfig, { device: config.device });
  await loadWeightsFile(teacher, best);
  return { teacher, result };
}
