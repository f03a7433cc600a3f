// The batch loader: a ring of preallocated SharedArrayBuffer slots that worker threads (or this thread, with
// workers: 0) fill ahead of the consumer. A batch's images are a Float32Array view of its slot, handed to native
// without a copy; the consumer calls release() when the native step is done, and only then is the slot refilled.
import os from 'node:os';
import { SCHEMA } from '../config/schema.js';
import { formatBytes, machineMemoryBytes } from '../io/machineLimits.js';
import type { Batch } from './batch.js';
import { type BadSample, type ChunkTask, fillChunk } from './batchFiller.js';
import { DatasetError, type ImageDataset } from './dataset.js';
import { type MixupOptions, applyMix, mixDecision, mixTargets, mixupActive } from './mixup.js';
import { SampleTransform } from './sampleTransform.js';
import { type EpochPlan, type SamplerOptions, planEpoch, samplesPerRank, validateSampler } from './sampler.js';
import type { TransformSpec } from './transformSpec.js';
import { WorkerPool } from './workerPool.js';

export interface TargetOptions extends MixupOptions {}

export interface DataLoaderOptions {
  dataset: ImageDataset;
  transform: TransformSpec;
  batchSize: number;
  seed: number;
  sampler: Omit<SamplerOptions, 'length' | 'seed'>;
  /** Drop the last incomplete batch (training). */
  dropLast: boolean;
  /** Mixup / cutmix / label smoothing; soft targets are produced when mixing or smoothing is on. */
  targets?: TargetOptions;
  /** Worker threads; 0 decodes in this thread (same batches, bit for bit). */
  workers: number;
  /** Batches prepared ahead of the consumer. */
  prefetch: number;
  /** Ring size (default prefetch + 2: the batch in the native step and the next one can be held). */
  slots?: number;
  /** Abort when more than this fraction of the data set failed to load (default: --max-bad-fraction's). */
  maxBadFraction?: number;
  /** Called once per unreadable sample (default: a warning on stderr naming the file). */
  onBadSample?: (b: BadSample) => void;
}

interface Slot {
  id: number;
  images: Float32Array;
  labels: Int32Array;
  targets: Float32Array | undefined;
  state: 'free' | 'filling' | 'ready' | 'out';
}

/** The worker count left after the native threads (at least 1). */
export function defaultWorkerCount(nativeThreads: number): number {
  return Math.max(1, os.availableParallelism() - nativeThreads);
}

export class DataLoader {
  readonly numClasses: number;
  readonly samplesPerEpoch: number;
  readonly batchesPerEpoch: number;
  private readonly slots: Slot[];
  private readonly local: SampleTransform;
  private pool: WorkerPool | undefined;
  private readonly badIndices = new Map<number, { source: string; error: string }>();
  private readonly maxBadFraction: number;
  private readonly samplerOptions: SamplerOptions;
  private slotWaiters: (() => void)[] = [];
  private active = false;
  private closed = false;

  constructor(private readonly o: DataLoaderOptions) {
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new RangeError(`batch size must be >= 1, got ${o.batchSize}`);
    if (!Number.isInteger(o.workers) || o.workers < 0) throw new RangeError(`workers must be >= 0, got ${o.workers}`);
    if (!Number.isInteger(o.prefetch) || o.prefetch < 1) throw new RangeError(`prefetch must be >= 1, got ${o.prefetch}`);
    this.samplerOptions = { ...o.sampler, length: o.dataset.length, seed: o.seed };
    validateSampler(this.samplerOptions);
    this.numClasses = o.dataset.classes.length;
    this.samplesPerEpoch = samplesPerRank(this.samplerOptions);
    this.batchesPerEpoch = o.dropLast ? Math.floor(this.samplesPerEpoch / o.batchSize) : Math.ceil(this.samplesPerEpoch / o.batchSize);
    if (this.batchesPerEpoch === 0) {
      throw new RangeError(`batch size ${o.batchSize} is larger than the ${this.samplesPerEpoch} samples this rank reads per epoch (drop-last)`);
    }
    this.maxBadFraction = o.maxBadFraction ?? SCHEMA['max-bad-fraction'].default;
    this.local = new SampleTransform(o.dataset, o.transform, o.seed);
    const per = this.local.sampleSize;
    const withTargets = o.targets !== undefined && (mixupActive(o.targets) || o.targets.smoothing > 0);
    const n = o.slots ?? o.prefetch + 2;
    if (n < 1) throw new RangeError(`slots must be >= 1, got ${n}`);
    const bytes = n * o.batchSize * (per + (withTargets ? this.numClasses : 0) + 1) * 4;
    if (bytes > machineMemoryBytes()) {
      throw new RangeError(`batch size ${o.batchSize} (--batch-size) needs ${formatBytes(bytes)} of batch buffers (${n} slots × ${o.batchSize} images × ` +
        `${per} floats × 4 bytes), more than the ${formatBytes(machineMemoryBytes())} of memory this machine has`);
    }
    this.slots = Array.from({ length: n }, (_, id) => ({
      id,
      images: new Float32Array(new SharedArrayBuffer(o.batchSize * per * 4)),
      labels: new Int32Array(new SharedArrayBuffer(o.batchSize * 4)),
      targets: withTargets ? new Float32Array(o.batchSize * this.numClasses) : undefined,
      state: 'free' as Slot['state'],
    }));
  }

  get classes(): string[] {
    return this.o.dataset.classes;
  }

  /** Distinct samples that failed to load so far, with their sources (file paths). */
  get badSamples(): { count: number; sources: string[] } {
    return { count: this.badIndices.size, sources: [...this.badIndices.values()].map((b) => b.source) };
  }

  /** The samples of this rank's epoch, in order (for tests and for checking a resume). */
  plan(epoch: number): EpochPlan {
    return planEpoch(this.samplerOptions, epoch);
  }

  /**
   * The batches of `epoch`, starting after `startIndex` samples of this rank's epoch (a multiple of the batch
   * size: the `next.index` of a previous batch). One iteration at a time per loader.
   */
  async *epoch(epoch: number, startIndex = 0): AsyncGenerator<Batch, void, undefined> {
    if (this.closed) throw new Error('data loader is closed');
    if (this.active) throw new Error('this loader is already iterating an epoch; finish or break out of it first');
    const B = this.o.batchSize;
    if (!Number.isInteger(startIndex) || startIndex < 0 || startIndex % B !== 0 || startIndex > this.samplesPerEpoch) {
      throw new RangeError(`resume index ${startIndex} must be a multiple of the batch size ${B} within 0..${this.samplesPerEpoch}`);
    }
    this.active = true;
    // Threads start on first use, so a loader that is never iterated (an unused eval split) costs none.
    if (this.o.workers > 0 && !this.pool) this.pool = new WorkerPool(this.o.workers, { dataset: this.o.dataset, spec: this.o.transform, seed: this.o.seed });
    const plan = this.plan(epoch);
    const inflight: { batch: number; slot: Slot; done: Promise<void> }[] = [];
    let nextToStart = startIndex / B;
    const startMore = (): void => {
      while (inflight.length < this.o.prefetch && nextToStart < this.batchesPerEpoch) {
        const slot = this.slots.find((s) => s.state === 'free');
        if (!slot) return;
        slot.state = 'filling';
        const batch = nextToStart++;
        inflight.push({ batch, slot, done: this.fill(slot, plan, batch) });
      }
    };
    try {
      for (let b = startIndex / B; b < this.batchesPerEpoch; b++) {
        startMore();
        while (inflight.length === 0) {
          await new Promise<void>((r) => this.slotWaiters.push(r));
          startMore();
        }
        const head = inflight[0];
        await head.done;
        inflight.shift();
        this.checkBad();
        const slot = head.slot;
        slot.state = 'out';
        const size = Math.min(B, this.samplesPerEpoch - b * B);
        const s = this.o.transform;
        let released = false;
        yield {
          epoch, index: b, shape: [size, s.channels, s.size, s.size],
          images: size === B ? slot.images : slot.images.subarray(0, size * this.local.sampleSize),
          labels: size === B ? slot.labels : slot.labels.subarray(0, size),
          targets: slot.targets && (size === B ? slot.targets : slot.targets.subarray(0, size * this.numClasses)),
          next: b + 1 === this.batchesPerEpoch ? { epoch: epoch + 1, index: 0 } : { epoch, index: (b + 1) * B },
          release: () => {
            if (released) throw new Error(`batch ${b} of epoch ${epoch} was released twice`);
            released = true;
            slot.state = 'free';
            const waiters = this.slotWaiters;
            this.slotWaiters = [];
            for (const w of waiters) w();
          },
        };
      }
    } finally {
      // Batches still being written must finish before their slots can be reused.
      for (const f of inflight) {
        await f.done.catch(() => undefined);
        f.slot.state = 'free';
      }
      this.active = false;
    }
  }

  private async fill(slot: Slot, plan: EpochPlan, batch: number): Promise<void> {
    const B = this.o.batchSize;
    const begin = batch * B;
    const size = Math.min(B, plan.sample.length - begin);
    const chunks = Math.max(1, Math.min(size, this.pool?.size ?? 1));
    const chunkSize = Math.ceil(size / chunks);
    const jobs: Promise<BadSample[]>[] = [];
    for (let start = 0; start < size; start += chunkSize) {
      const end = Math.min(size, start + chunkSize);
      const task: ChunkTask = {
        epoch: plan.epoch, samples: plan.sample.subarray(begin + start, begin + end), repeats: plan.repeat.subarray(begin + start, begin + end),
        images: slot.images, labels: slot.labels, start,
      };
      jobs.push(this.pool ? this.pool.run(task) : fillChunk(this.local, task));
    }
    const bads = await Promise.all(jobs);
    for (const list of bads) for (const bad of list) this.recordBad(bad);
    const t = this.o.targets;
    if (t) {
      const s = this.o.transform;
      const d = mixDecision(t, this.o.seed, plan.epoch, batch, this.o.sampler.rank, s.size, s.size);
      applyMix(slot.images, size, s.channels, s.size, s.size, d);
      if (slot.targets) mixTargets(slot.labels, size, this.numClasses, t.smoothing, d.lam, slot.targets);
    }
    slot.state = 'ready';
  }

  private recordBad(b: BadSample): void {
    if (this.badIndices.has(b.index)) return;
    this.badIndices.set(b.index, { source: b.source, error: b.error });
    if (this.o.onBadSample) this.o.onBadSample(b);
    else process.stderr.write(`warning: skipping unreadable sample ${b.source}: ${b.error}\n`);
  }

  private checkBad(): void {
    const limit = this.maxBadFraction * this.o.dataset.length;
    if (this.badIndices.size > limit) {
      const shown = [...this.badIndices.values()].slice(0, 5).map((b) => `${b.source}: ${b.error}`).join('; ');
      throw new DatasetError('MDISTILL_TOO_MANY_BAD_SAMPLES',
        `${this.badIndices.size} of ${this.o.dataset.length} samples of ${this.o.dataset.source} failed to load, more than ` +
        `maxBadFraction ${this.maxBadFraction} allows (${shown}). Fix or remove those files, or raise --max-bad-fraction.`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool?.close();
  }
}
