// The one error a PyTorch checkpoint that cannot be read raises: it names the file, and what in it is wrong.

export class TorchCheckpointError extends Error {
  readonly code = 'MDISTILL_BAD_WEIGHTS';
  constructor(readonly source: string, readonly reason: string) {
    super(`${source}: ${reason}`);
    this.name = 'TorchCheckpointError';
  }
}
