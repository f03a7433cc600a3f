// Resuming under a different world size: the sampler position is carried over as the number of samples the
// whole job consumed in the epoch. Rank r reads the global order at r, r+W, r+2W, …, so after b batches of B
// on W ranks exactly the first b·B·W samples of the epoch's global order are done, whatever W was.

export interface SavedPosition {
  epoch: number;
  step: number;
  batchInEpoch: number;
  /** Missing in checkpoints written before data-parallel training: one process. */
  worldSize?: number;
  config: Record<string, unknown>;
}

export interface ResumePosition {
  step: number;
  batchInEpoch: number;
  /** Set when the position moved (a different world size or batch size). */
  note?: string;
}

export function translateResume(saved: SavedPosition, now: { worldSize: number; batchSize: number; stepsPerEpoch: number }): ResumePosition {
  const oldWorld = saved.worldSize ?? 1;
  const oldBatch = typeof saved.config['batch-size'] === 'number' ? saved.config['batch-size'] : now.batchSize;
  if (oldWorld === now.worldSize && oldBatch === now.batchSize) return { step: saved.step, batchInEpoch: saved.batchInEpoch };
  const consumed = saved.batchInEpoch * oldBatch * oldWorld;
  const globalBatch = now.batchSize * now.worldSize;
  const batchInEpoch = Math.min(Math.floor(consumed / globalBatch), now.stepsPerEpoch);
  const step = saved.epoch * now.stepsPerEpoch + batchInEpoch;
  const redo = consumed - batchInEpoch * globalBatch;
  return {
    step, batchInEpoch,
    note: `resuming ${oldWorld} process(es) × batch ${oldBatch} on ${now.worldSize} × ${now.batchSize}: ` +
      `epoch ${saved.epoch}, ${consumed} samples done → batch ${batchInEpoch}, step ${step}` +
      (redo > 0 ? ` (${redo} samples of the epoch are seen again)` : ''),
  };
}
