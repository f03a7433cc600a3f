// The learning rate at every optimizer step: linear warmup, then cosine to min-lr (timm's CosineLRScheduler
// stepped per update, warmup not prefixed: the cosine runs over the whole run and warmup overrides its start).

export interface LrScheduleOptions {
  /** Already scaled: base lr × global batch / 512. */
  baseLr: number;
  warmupLr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
}

/** lr = base-lr × global batch / 512, as in DeiT. */
export function scaledLr(baseLr: number, globalBatch: number): number {
  return (baseLr * globalBatch) / 512;
}

export function learningRate(step: number, o: LrScheduleOptions): number {
  if (step < o.warmupSteps) return o.warmupLr + ((o.baseLr - o.warmupLr) * step) / o.warmupSteps;
  const t = Math.min(step, o.totalSteps) / Math.max(1, o.totalSteps);
  return o.minLr + 0.5 * (o.baseLr - o.minLr) * (1 + Math.cos(Math.PI * t));
}
