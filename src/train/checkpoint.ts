// Checkpoint directories: model.safetensors, ema.safetensors, state.safetensors (optimizer moments) and
// state.json (epoch, step, sampler position, config). Each is written whole into a temp directory and swapped
// into place (io/atomicWrite.ts), so a crash never leaves a torn checkpoint.
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { atomicWriteDir, completeDir } from '../io/atomicWrite.js';
import { readSafetensors, serializeSafetensors, type TensorEntry } from '../io/safetensors.js';
import { weightsFormatOf } from '../io/weightsFile.js';

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

/** Why a weights file (not a checkpoint directory) cannot be resumed, and what to pass instead. */
async function notResumable(file: string): Promise<string> {
  if (await weightsFormatOf(file) === 'pth') {
    return `${file}: a PyTorch checkpoint cannot be resumed here: its optimizer and lr-scheduler state belong to the official ` +
      "PyTorch code (timm's AdamW over parameter indices, a per-epoch schedule), not to mdistill's trainer. To keep training from " +
      `its weights, pass --finetune ${file} instead (with the same classes the head is kept; the schedule starts over).`;
  }
  return `${file}: a weights file holds no optimizer or schedule state, so it cannot be resumed; --resume takes a run's ` +
    `checkpoint-last/ (or checkpoint-best/) directory. To start training from these weights, pass --finetune ${file}.`;
}

/** Throws, saying what to pass instead, when `--resume` names a weights file rather than a checkpoint directory. */
export async function assertResumable(dir: string): Promise<void> {
  if (existsSync(dir) && statSync(dir).isFile()) throw new Error(await notResumable(dir));
}

export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  await assertResumable(dir);
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
