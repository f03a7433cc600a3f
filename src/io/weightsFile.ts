// One weights file, whatever its format: safetensors (ours, timm's, Hugging Face's) or a PyTorch checkpoint
// (torch.save: .pth/.pt/.bin, the official ManifoldKD / DeiT / timm files). The format is told by the bytes,
// not the extension.
import { open } from 'node:fs/promises';
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

/** 'pth' when the file starts like a torch.save file, else 'safetensors' (whose reader then judges it). */
export async function weightsFormatOf(file: string): Promise<WeightsFormat> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SafetensorsError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(err)})`);
  }
  try {
    const head = new Uint8Array(16);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return looksLikeTorchCheckpoint(head.subarray(0, bytesRead)) ? 'pth' : 'safetensors';
  } finally {
    await handle.close();
  }
}

/** Reads a weights file; `ema` picks a .pth's EMA state dict ('model_ema' / 'state_dict_ema'). */
export async function readWeightsFile(file: string, options: { ema?: boolean } = {}): Promise<WeightsFile> {
  const format = await weightsFormatOf(file);
  if (format === 'pth') {
    const ckpt = await readTorchCheckpoint(file, { ema: options.ema });
    return { file, format, tensors: ckpt.tensors, metadata: {}, wrapper: ckpt.wrapper };
  }
  if (options.ema) {
    throw new SafetensorsError(file, 'a safetensors file holds one set of weights: --ema needs a checkpoint directory (with ema.safetensors) or a .pth with model_ema');
  }
  const { tensors, metadata } = await readSafetensors(file);
  return { file, format, tensors, metadata };
}
