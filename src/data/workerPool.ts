// A pool of worker threads that fill batch chunks. Tasks queue in order; each worker holds one at a time.
// Under vitest the sources are .ts, which worker threads cannot load: the workers then run the compiled
// dist/data/loaderWorker.js (built by `npm run build:ts`).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BadSample, ChunkTask } from './batchFiller.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './loaderWorker.js';

/** The runnable worker entry: beside this module when it is compiled, else the compiled copy in dist/. */
export function workerEntry(): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return new URL('./loaderWorker.js', import.meta.url);
  const dist = path.resolve(path.dirname(here), '..', '..', 'dist', 'data', 'loaderWorker.js');
  if (!existsSync(dist)) {
    throw new Error(`loader workers run compiled JavaScript, and ${dist} does not exist: run 'npm run build:ts' ` +
      '(or use workers: 0, the in-process loader)');
  }
  return pathToFileURL(dist);
}

interface Pending {
  req: WorkerRequest;
  resolve: (bad: BadSample[]) => void;
  reject: (e: Error) => void;
}

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly running = new Map<Worker, Pending>();
  private nextId = 0;
  private closed = false;
  private failure: Error | undefined;

  constructor(size: number, init: WorkerInit) {
    const entry = workerEntry();
    for (let i = 0; i < size; i++) {
      const w = new Worker(entry, { workerData: init });
      w.on('message', (reply: WorkerReply) => this.onReply(w, reply));
      w.on('error', (e) => this.fail(new Error(`data loader worker crashed: ${e.message}`)));
      w.on('exit', (code) => {
        if (!this.closed && code !== 0) this.fail(new Error(`data loader worker exited with code ${code}`));
      });
      w.unref();
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  run(task: ChunkTask): Promise<BadSample[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('data loader is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ req: { ...task, id: this.nextId++ }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const p = this.queue.shift()!;
      this.running.set(w, p);
      w.ref();
      w.postMessage(p.req);
    }
  }

  private onReply(w: Worker, reply: WorkerReply): void {
    const p = this.running.get(w);
    this.running.delete(w);
    w.unref();
    this.idle.push(w);
    if (p) {
      if ('error' in reply) p.reject(new Error(reply.error));
      else p.resolve(reply.bad);
    }
    this.pump();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of [...this.running.values(), ...this.queue]) p.reject(e);
    this.running.clear();
    this.queue.length = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.fail(new Error('data loader is closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
