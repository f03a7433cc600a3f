// Which device this process trains on. On a GPU machine a data-parallel job runs one process per GPU: local rank r
// (LOCAL_RANK, SLURM_LOCALID, or our own --nproc-per-node) takes cuda:r, as torchrun's convention has it, and every
// model, the NCCL group and the step's own tensors name that device.
import { runtimeInfo, type RawDevice } from '../native/index.js';

export class RankDeviceError extends Error {
  readonly code = 'MDISTILL_BAD_ARGUMENT';
}

/**
 * `device` as the configuration says it ('cpu' | 'cuda'), made concrete for this process: 'cpu', 'cuda' on a single
 * process, cuda:LOCAL_RANK when several share the machine. `visibleGpus` is asked only for CUDA with several
 * processes (runtimeInfo().cudaDevices.length); a local rank without a GPU of its own is an error that says so.
 */
export function rankDevice(device: 'cpu' | 'cuda', place: { localRank: number; worldSize: number }, visibleGpus: () => number): RawDevice {
  if (device === 'cpu' || place.worldSize <= 1) return device;
  const gpus = visibleGpus();
  if (place.localRank >= gpus) {
    throw new RankDeviceError(
      `--device cuda: local rank ${place.localRank} needs GPU ${place.localRank} but this process sees ${gpus} ` +
      `(one GPU per process: start at most ${gpus} processes per machine, e.g. --nproc-per-node ${gpus}, or check CUDA_VISIBLE_DEVICES)`);
  }
  return `cuda:${place.localRank}`;
}

/** rankDevice with the GPUs the addon sees. */
export function processDevice(device: 'cpu' | 'cuda', place: { localRank: number; worldSize: number }): RawDevice {
  return rankDevice(device, place, () => runtimeInfo().cudaDevices.length);
}
