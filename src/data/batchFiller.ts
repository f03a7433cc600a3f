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

/**
 * Samples a chunk works on at once. Each one alternates between JavaScript (augmentation) and libvips (decode, on
 * the libuv pool); with several in flight one's JavaScript runs while another decodes, so a worker never idles.
 * `npm run bench -- data --workers 2` on 2 cores: 1 lane 0.85–0.95× torchvision, 2 lanes 0.99–1.14×, 3 lanes
 * 1.10–1.22×, 4 lanes no better.
 */
const LANES = 3;

export async function fillChunk(t: SampleTransform, task: ChunkTask): Promise<BadSample[]> {
  const lanes: Promise<BadSample[]>[] = [];
  for (let lane = 0; lane < Math.min(LANES, task.samples.length); lane++) lanes.push(fillLane(t, task, lane, LANES));
  // Every lane ends before the chunk does, failed or not: none may still write into the slot afterwards.
  const settled = await Promise.allSettled(lanes);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
}

/** Positions lane, lane + step, … of the chunk, one after another. */
async function fillLane(t: SampleTransform, task: ChunkTask, lane: number, step: number): Promise<BadSample[]> {
  const bad: BadSample[] = [];
  const ds = t.dataset;
  const per = t.sampleSize;
  for (let k = lane; k < task.samples.length; k += step) {
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
