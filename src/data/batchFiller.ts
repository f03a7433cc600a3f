// Fills a run of consecutive batch positions (a chunk). A sample that fails to decode is replaced by the next
// good one in data set order, so the batch stays full and the replacement is the same on every replay.
import { filePath } from './dataset.js';
import type { SampleTransform } from './sampleTransform.js';

export interface ChunkTask {
  epoch: number;
  /** Data set indices and repeat numbers of the chunk's samples. */
  samples: Int32Array;
  repeats: Uint8Array;
  /** The whole batch slot (SharedArrayBuffer-backed); the chunk writes positions start … start + samples.length - 1. */
  images: Float32Array;
  labels: Int32Array;
  start: number;
}

export interface BadSample {
  index: number;
  source: string;
  error: string;
}

/** Consecutive failures after which the data set is considered unreadable rather than dotted with bad files. */
const MAX_REPLACEMENTS = 32;

export async function fillChunk(t: SampleTransform, task: ChunkTask): Promise<BadSample[]> {
  const bad: BadSample[] = [];
  const ds = t.dataset;
  const per = t.sampleSize;
  for (let k = 0; k < task.samples.length; k++) {
    const pos = task.start + k;
    let index = task.samples[k];
    for (let attempt = 0; ; attempt++) {
      try {
        await t.write(index, task.epoch, task.repeats[k], task.images, pos * per);
        task.labels[pos] = ds.labels[index];
        break;
      } catch (e) {
        const source = ds.kind === 'files' ? filePath(ds, index) : `${ds.source}#${index}`;
        bad.push({ index, source, error: (e as Error).message });
        if (attempt + 1 >= MAX_REPLACEMENTS) {
          throw new Error(`${MAX_REPLACEMENTS} consecutive samples from index ${task.samples[k]} failed to load (last: ${source}: ${(e as Error).message})`);
        }
        index = (index + 1) % ds.length;
      }
    }
  }
  return bad;
}
