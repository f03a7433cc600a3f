// The error of weights that cannot be used: a bad --weights argument, or tensors that do not fit the model, with
// the diff report that says which.

export interface ShapeMismatch {
  name: string;
  checkpoint: number[];
  model: number[];
}

/** How a state dict met a model (src/model/loadWeights.ts writes it). */
export interface LoadReport {
  loaded: string[];
  missing: string[];
  unexpected: string[];
  mismatched: ShapeMismatch[];
  /** pos_embed entries resampled to the model's grid. */
  resized: { name: string; from: number[]; to: number[] }[];
}

export class WeightsError extends Error {
  constructor(readonly code: 'MDISTILL_BAD_WEIGHTS' | 'MDISTILL_BAD_ARGUMENT', message: string, readonly report?: LoadReport) {
    super(message);
    this.name = 'WeightsError';
  }
}
