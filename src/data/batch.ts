// A batch, the one type that travels from the data loader to the native training step and evaluation. The loader
// yields it; the training loop hands the same object to the trainer, which passes it to native code as it is:
// the native side reads images, shape, labels and targets (without a copy) and ignores the other fields.

export interface Batch {
  /** [B, C, H, W]; B is smaller for the last batch of an eval epoch. */
  shape: [number, number, number, number];
  /** Row-major images: a view of a loader slot (SharedArrayBuffer), valid until release(). */
  images: Float32Array;
  /** The samples' own labels (before mixing). */
  labels: Int32Array;
  /** Soft targets [B, classes] when mixup, cutmix or label smoothing is on. When present, the training step learns
   *  against them (and counts top-1 hits against their argmax) instead of the labels. */
  targets?: Float32Array;
  epoch: number;
  /** Batch index within the epoch. */
  index: number;
  /** Where to resume after this batch: (epoch, samples of this rank's epoch consumed). */
  next: { epoch: number; index: number };
  /** Hands the slot back for refilling; the views above must not be used afterwards. */
  release(): void;
}
