// Checkpoint directories: model.safetensors, ema.safetensors, state.safetensors (optimizer moments) and
// state.json (epoch, step, sampler position, config). Each is written whole into a temp directory and swapped
// into place (io/atomicWrite.ts), so a crash never leaves a torn checkpoint.
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { atomicWriteDir, completeDir } from '../io/atomicWrite.js';
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
    await writeFile(path.join(tmp, 'state.json'), JSON.stringify(ckpt.state, null, 2) + '\n');
  });
}

export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  const from = completeDir(dir, 'state.json');
  if (!from) throw new Error(`${dir}: not a checkpoint directory (no state.json). Pass a run's checkpoint-last/ or checkpoint-best/.`);
  let state: CheckpointState;
  try {
    state = JSON.parse(await readFile(path.join(from, 'state.json'), 'utf8')) as CheckpointState;
  } catch (err) {
    throw new Error(`${path.join(from, 'state.json')}: unreadable (${err instanceof Error ? err.message : String(err)})`);
  }
  if (state.version !== 1) throw new Error(`${path.join(from, 'state.json')}: unknown checkpoint version ${String(state.version)}`);
  const model = (await readSafetensors(path.join(from, 'model.safetensors'))).tensors;
  const emaFile = path.join(from, 'ema.safetensors');
  const ema = existsSync(emaFile) ? (await readSafetensors(emaFile)).tensors : undefined;
  const optimizer = (await readSafetensors(path.join(from, 'state.safetensors'))).tensors;
  return { model, ema, optimizer, state };
}
