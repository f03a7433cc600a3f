// The worker-thread side of the loader: builds the sample transform once, then fills the chunks it is sent
// straight into the shared batch slots and answers with the bad samples it met.
import { parentPort, workerData } from 'node:worker_threads';
import { type ChunkTask, fillChunk } from './batchFiller.js';
import type { ImageDataset } from './dataset.js';
import { SampleTransform } from './sampleTransform.js';
import type { TransformSpec } from './transformSpec.js';

export interface WorkerInit {
  dataset: ImageDataset;
  spec: TransformSpec;
  seed: number;
}

export type WorkerRequest = ChunkTask & { id: number };
export type WorkerReply = { id: number; bad: import('./batchFiller.js').BadSample[] } | { id: number; error: string };

const port = parentPort;
if (port) {
  const init = workerData as WorkerInit;
  const transform = new SampleTransform(init.dataset, init.spec, init.seed);
  port.on('message', (req: WorkerRequest) => {
    fillChunk(transform, req).then(
      (bad) => port.postMessage({ id: req.id, bad } satisfies WorkerReply),
      (e: unknown) => port.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e) } satisfies WorkerReply),
    );
  });
}
