// The one reading of a weights argument (--teacher-path, eval/export --weights, --finetune) and of a checkpoint
// argument (--resume). Each accepts the same forms:
//   - a weights file: .safetensors, or a PyTorch checkpoint (.pth, torch.save: the official ManifoldKD / DeiT / timm
//     files), told apart by their bytes (io/weightsFile.ts);
//   - a checkpoint directory (checkpoint-best/, checkpoint-last/), including the complete previous version that
//     a crash between a checkpoint swap's two renames leaves as `.checkpoint-last.old` (io/atomicWrite.ts);
//   - a run directory (its checkpoint-best/ for weights, its checkpoint-last/ for --resume).
// --ema picks a checkpoint directory's ema.safetensors, or a single .pth's model_ema. Errors name the flag and say
// what to pass instead; a weights file given to --resume is refused with a pointer to --finetune.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { completeDir } from '../io/atomicWrite.js';
import { fileKind, fileProblem } from '../io/fileProblem.js';
import { readWeightsFile, weightsFormatOf, type WeightsFile } from '../io/weightsFile.js';
import { withoutPrefixes } from './statePrefixes.js';
import { WeightsError } from './weightsError.js';

export type { WeightsFile };

export const MODEL_WEIGHTS_FILE = 'model.safetensors';
export const EMA_WEIGHTS_FILE = 'ema.safetensors';
export const CHECKPOINT_STATE_FILE = 'state.json';
export const CHECKPOINT_LAST = 'checkpoint-last';
export const CHECKPOINT_BEST = 'checkpoint-best';

export interface WeightsSource {
  /** The weights file to read. */
  file: string;
  /** The checkpoint directory, or the directory holding the file. */
  dir: string;
  /** 'model' or 'ema' from a checkpoint directory (or 'ema' for a single .pth's model_ema), 'file' for a weights file given directly. */
  kind: 'model' | 'ema' | 'file';
  /** A single .pth read with --ema: its EMA state dict (model_ema / state_dict_ema) rather than its model's. */
  emaInFile?: boolean;
  /** Set when the argument was resolved further than given (a run directory, a checkpoint's previous version). */
  note?: string;
}

const FORMS = `a .safetensors file, a checkpoint directory (runs/<name>/${CHECKPOINT_BEST}), a run directory or a PyTorch .pth checkpoint`;
/** Names of weights files (a directory holding one was probably meant as the file itself). */
const WEIGHTS_FILE_NAME = /\.(safetensors|pth|pt|bin)$/;

async function statOrUndefined(p: string) {
  try {
    return await stat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The complete checkpoint directory at `dir` (or its kept previous version) holding `marker`, with a note when it is the previous version. */
function checkpointAt(dir: string, marker: string): { dir: string; note?: string } | undefined {
  const found = completeDir(dir, marker);
  if (!found) return undefined;
  return found === dir ? { dir } : { dir: found, note: `${dir} is missing (a crash while it was being replaced); using its complete previous version ${found}` };
}

async function describeContent(dir: string): Promise<string> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  if (entries.length === 0) return 'it is empty';
  const shown = entries.slice(0, 6).join(', ') + (entries.length > 6 ? `, … (${entries.length} entries)` : '');
  return `it holds ${shown}`;
}

/** Resolves a weights argument (see the header). `flag` names it in errors; `ema` picks ema.safetensors of a checkpoint. */
export async function resolveWeightsSource(arg: string, options: { flag: string; ema?: boolean }): Promise<WeightsSource> {
  const { flag, ema = false } = options;
  const name = ema ? EMA_WEIGHTS_FILE : MODEL_WEIGHTS_FILE;
  let info;
  try {
    info = await statOrUndefined(arg);
  } catch (err) {
    throw fileProblem(err, { path: arg, action: 'read it', flag, fix: `Pass ${FORMS}` });
  }
  if (!info) {
    // A checkpoint caught between the two renames of its swap: only its previous version is there.
    const previous = checkpointAt(arg, name);
    if (previous) return { file: path.join(previous.dir, name), dir: previous.dir, kind: ema ? 'ema' : 'model', note: previous.note };
    throw new WeightsError('MDISTILL_BAD_ARGUMENT', `${flag} ${arg}: no such file or directory. Pass ${FORMS}.`);
  }
  if (info.isDirectory()) {
    const own = checkpointAt(arg, name);
    if (own) return { file: path.join(own.dir, name), dir: own.dir, kind: ema ? 'ema' : 'model', note: own.note };
    for (const sub of [CHECKPOINT_BEST, CHECKPOINT_LAST]) {
      const inRun = checkpointAt(path.join(arg, sub), name);
      if (inRun) {
        const note = `${arg} is a run directory; using its ${path.basename(inRun.dir)}${inRun.note ? ` (${inRun.note})` : ''}`;
        return { file: path.join(inRun.dir, name), dir: inRun.dir, kind: ema ? 'ema' : 'model', note };
      }
    }
    const present = await readdir(arg).catch(() => [] as string[]);
    const others = present.filter((f) => WEIGHTS_FILE_NAME.test(f));
    throw new WeightsError('MDISTILL_BAD_ARGUMENT', `${flag} ${arg}: the directory has no ${name}` +
      (others.length ? ` (it holds ${others.join(', ')})` : ` and no other .safetensors file (${await describeContent(arg)})`) +
      (ema ? '. Drop --ema to use the raw model weights, or pick a checkpoint saved with an EMA.' : `. Pass ${FORMS}.`));
  }
  if (!info.isFile()) {
    throw new WeightsError('MDISTILL_BAD_ARGUMENT', `${flag} ${arg}: it is ${fileKind(info)}, not a weights file or a directory. Pass ${FORMS}.`);
  }
  if (ema) {
    // A .pth training checkpoint may hold its EMA beside the model ('model_ema').
    if (await weightsFormatOf(arg) === 'pth') return { file: arg, dir: path.dirname(arg), kind: 'ema', emaInFile: true };
    throw new WeightsError('MDISTILL_BAD_ARGUMENT', `--ema needs a checkpoint directory (with ${EMA_WEIGHTS_FILE}) or a .pth holding model_ema, but ${flag} ${arg} is a single file. Drop --ema, or pass the directory.`);
  }
  return { file: arg, dir: path.dirname(arg), kind: 'file' };
}

/** Reads the tensors and metadata of a resolved weights source, whatever its format. */
export async function readWeights(source: Pick<WeightsSource, 'file' | 'emaInFile'>, options: { flag?: string } = {}): Promise<WeightsFile> {
  const read = await readWeightsFile(source.file, { ema: source.emaInFile, flag: options.flag });
  // The official code strips DataParallel's 'module.' from .pth state dicts; so does this, once, for every consumer.
  return read.format === 'pth' ? { ...read, tensors: withoutPrefixes(read.tensors, read.file) } : read;
}

/** Why a weights file cannot be resumed, and what to pass instead (--finetune starts a run from its weights). */
async function notResumable(file: string, flag: string, expect: string): Promise<string> {
  if (await weightsFormatOf(file) === 'pth') {
    return `${flag} ${file}: a PyTorch checkpoint cannot be resumed here: its optimizer and lr-scheduler state belong to the official ` +
      "PyTorch code (timm's AdamW over parameter indices, a per-epoch schedule), not to mdistill's trainer. To keep training from " +
      `its weights, pass --finetune ${file} instead (with the same classes the head is kept; the schedule starts over).`;
  }
  return `${flag} ${file}: a weights file holds no optimizer state or data position, so a run cannot resume from it. ${expect}. ` +
    `To start training from these weights, pass --finetune ${file}.`;
}

/** The checkpoint directory (holding state.json) a --resume argument means: a checkpoint directory or a run directory's checkpoint-last. */
export async function resolveCheckpointDir(arg: string, options: { flag: string }): Promise<{ dir: string; note?: string }> {
  const { flag } = options;
  const own = checkpointAt(arg, CHECKPOINT_STATE_FILE);
  if (own) return own;
  const inRun = checkpointAt(path.join(arg, CHECKPOINT_LAST), CHECKPOINT_STATE_FILE);
  if (inRun) return { dir: inRun.dir, note: `${arg} is a run directory; resuming from its ${path.basename(inRun.dir)}${inRun.note ? ` (${inRun.note})` : ''}` };
  let info;
  try {
    info = await statOrUndefined(arg);
  } catch (err) {
    throw fileProblem(err, { path: arg, action: 'read it', flag });
  }
  const expect = `Pass a checkpoint directory (runs/<name>/${CHECKPOINT_LAST}) or the run directory holding it`;
  if (!info) throw new WeightsError('MDISTILL_BAD_ARGUMENT', `${flag} ${arg}: no such file or directory. ${expect}.`);
  if (info.isFile()) throw new WeightsError('MDISTILL_BAD_ARGUMENT', await notResumable(arg, flag, expect));
  if (!info.isDirectory()) throw new WeightsError('MDISTILL_BAD_ARGUMENT', `${flag} ${arg}: it is ${fileKind(info)}, not a checkpoint directory. ${expect}.`);
  throw new WeightsError('MDISTILL_BAD_ARGUMENT', `${flag} ${arg}: not a checkpoint directory (no ${CHECKPOINT_STATE_FILE}; ${await describeContent(arg)}). ${expect}.`);
}
