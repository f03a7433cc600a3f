// Checkpoint directories: model.safetensors, ema.safetensors, state.safetensors (optimizer moments) and
// state.json (epoch, step, sampler position, config). Each is written whole into a temp directory and swapped
// into place (io/atomicWrite.ts), so a crash never leaves a torn checkpoint.
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { atomicWriteDir, atomicWriteFile, completeDir } from '../io/atomicWrite.js';
import { reasonOf } from '../io/fileProblem.js';
import { CHECKPOINT_STATE_FILE } from '../model/weightsSource.js';
import { readSafetensors, serializeSafetensors, type TensorEntry } from '../io/safetensors.js';

export interface CheckpointState {
  /** Epoch to run next. */
  epoch: number;
  /** Optimizer steps done. */
  step: number;
  /** Batches of `epoch` already consumed (0 at an epoch boundary). */
  batchInEpoch: number;
  bestAcc1: number;
  bestEpoch: number;
  config: Record<string, unknown>;
  /** timm_class + kwargs, also in the safetensors metadata. */
  studentMetadata: Record<string, string>;
  worldSize: number;
  version: 1;
}

export interface Checkpoint {
  model: Map<string, TensorEntry>;
  ema?: Map<string, TensorEntry>;
  optimizer: Map<string, TensorEntry>;
  state: CheckpointState;
}

export async function writeCheckpoint(dir: string, ckpt: Checkpoint): Promise<void> {
  await atomicWriteDir(dir, async (tmp) => {
    const meta = ckpt.state.studentMetadata;
    await writeFile(path.join(tmp, 'model.safetensors'), serializeSafetensors(ckpt.model, meta));
    if (ckpt.ema) await writeFile(path.join(tmp, 'ema.safetensors'), serializeSafetensors(ckpt.ema, meta));
    await writeFile(path.join(tmp, 'state.safetensors'), serializeSafetensors(ckpt.optimizer, { step: String(ckpt.state.step) }));
    await writeFile(path.join(tmp, CHECKPOINT_STATE_FILE), JSON.stringify(ckpt.state, null, 2) + '\n');
  });
}

/** The state.json of a checkpoint directory (or of the previous version a crash left; see completeDir). */
export async function readCheckpointState(dir: string): Promise<CheckpointState> {
  const from = completeDir(dir, CHECKPOINT_STATE_FILE);
  if (!from) throw new Error(`${dir}: not a checkpoint directory (no state.json). Pass a run's checkpoint-last/ or checkpoint-best/.`);
  const file = path.join(from, CHECKPOINT_STATE_FILE);
  let state: CheckpointState;
  try {
    state = JSON.parse(await readFile(file, 'utf8')) as CheckpointState;
  } catch (err) {
    const why = err instanceof SyntaxError ? `not valid JSON (${err.message})` : reasonOf(err).what;
    throw new Error(`${file}: unreadable: ${why}. The checkpoint is damaged; use the other checkpoint of the run (checkpoint-best or checkpoint-last).`);
  }
  if (state.version !== 1) throw new Error(`${file}: unknown checkpoint version ${String(state.version)}`);
  return state;
}

/** Replaces the state.json of a complete checkpoint directory (atomically): its weights stay as they are. */
export async function rewriteCheckpointState(dir: string, state: CheckpointState): Promise<void> {
  await atomicWriteFile(path.join(dir, CHECKPOINT_STATE_FILE), JSON.stringify(state, null, 2) + '\n');
}

export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  const state = await readCheckpointState(dir);
  const from = completeDir(dir, CHECKPOINT_STATE_FILE)!;
  const model = (await readSafetensors(path.join(from, 'model.safetensors'))).tensors;
  const emaFile = path.join(from, 'ema.safetensors');
  const ema = existsSync(emaFile) ? (await readSafetensors(emaFile)).tensors : undefined;
  const optimizer = (await readSafetensors(path.join(from, 'state.safetensors'))).tensors;
  return { model, ema, optimizer, state };
}
