// What the training loop needs from the data pipeline: batches that live in reusable buffers, handed to native
// code without a copy and released once the native step has resolved.

export interface LoanedBatch {
  images: Float32Array;
  /** [B, C, H, W] */
  shape: number[];
  release(): void;
}

export interface TrainBatch extends LoanedBatch {
  /** Hard labels, when mixup/cutmix/smoothing are off. */
  labels?: Int32Array;
  /** Soft targets [B, classes]. */
  targets?: Float32Array;
}

export interface EvalBatch extends LoanedBatch {
  labels: Int32Array;
}

export interface TrainBatchSource {
  batchesPerEpoch: number;
  /** The batches of `epoch`, starting at batch `startBatch` (resume), rebuilt exactly from the seed. */
  batches(epoch: number, startBatch: number): AsyncIterable<TrainBatch>;
  /** Samples that failed to decode so far. */
  badSamples(): number;
}

export interface EvalBatchSource {
  batches(): AsyncIterable<EvalBatch>;
  /** Each rank reads only its share (the counts are then summed over the ranks). */
  sharded?: boolean;
}
