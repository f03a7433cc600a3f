// The error of weights that cannot be used: a bad --weights argument, or tensors that do not fit the model.
import type { LoadReport } from './loadWeights.js';

export class WeightsError extends Error {
  constructor(readonly code: 'MDISTILL_BAD_WEIGHTS' | 'MDISTILL_BAD_ARGUMENT', message: string, readonly report?: LoadReport) {
    super(message);
    this.name = 'WeightsError';
  }
}
