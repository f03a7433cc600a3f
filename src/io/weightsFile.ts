// One weights file, whatever its format: safetensors (ours, timm's, Hugging Face's) or a PyTorch checkpoint
// (torch.save: .pth/.pt/.bin, the official ManifoldKD / DeiT / timm files). The format is told by the bytes,
// not the extension. Which file a weights argument means is decided by model/weightsSource.ts.
import { openRegularFile, readAt } from './regularFile.js';
import { readSafetensors, SafetensorsError, type TensorEntry } from './safetensors.js';
import { looksLikeTorchCheckpoint, readTorchCheckpoint } from './pth/torchCheckpoint.js';

export type WeightsFormat = 'safetensors' | 'pth';

export interface WeightsFile {
  file: string;
  format: WeightsFormat;
  tensors: Map<string, TensorEntry>;
  /** safetensors metadata (a .pth has none). */
  metadata: Record<string, string>;
  /** .pth: the top-level key that held the state dict ('model', 'model_ema', …), null for a bare state dict. */
  wrapper?: string | null;
}

/**
 * 'pth' when the file starts like a torch.save file, else 'safetensors' (whose reader then judges it). Only a
 * regular file is opened (a FIFO would block); one that cannot be opened is left to the safetensors reader, which
 * says why in words, with the flag.
 */
export async function weightsFormatOf(file: string): Promise<WeightsFormat> {
  let opened;
  try {
    opened = await openRegularFile(file);
  } catch {
    return 'safetensors';
  }
  try {
    const head = new Uint8Array(Math.min(16, opened.size));
    await readAt(opened.handle, head, 0, file);
    return looksLikeTorchCheckpoint(head) ? 'pth' : 'safetensors';
  } catch {
    return 'safetensors';
  } finally {
    await opened.handle.close();
  }
}

/** Reads a weights file; `ema` picks a .pth's EMA state dict ('model_ema' / 'state_dict_ema'); `flag` names it in errors. */
export async function readWeightsFile(file: string, options: { ema?: boolean; flag?: string } = {}): Promise<WeightsFile> {
  const format = await weightsFormatOf(file);
  if (format === 'pth') {
    const ckpt = await readTorchCheckpoint(file, { ema: options.ema });
    return { file, format, tensors: ckpt.tensors, metadata: {}, wrapper: ckpt.wrapper };
  }
  if (options.ema) {
    throw new SafetensorsError(file, 'a safetensors file holds one set of weights: --ema needs a checkpoint directory (with ema.safetensors) or a .pth with model_ema');
  }
  const { tensors, metadata } = await readSafetensors(file, { flag: options.flag });
  return { file, format, tensors, metadata };
}
