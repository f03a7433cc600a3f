// Progress on the terminal: a redrawn bar on a TTY, plain periodic lines otherwise (CI, pipes, files).

export interface ProgressState {
  label: string;
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  imgPerS: number;
  /** Loss terms to show, e.g. { total: 1.2, kd: 0.4 }. */
  terms: Record<string, number>;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

export class Progress {
  private lastPlain = 0;
  private started: { at: number; done: number } | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly plainEverySeconds = 10,
  ) {}

  get isTty(): boolean {
    return Boolean(this.stream.isTTY);
  }

  update(p: ProgressState): void {
    const totalBatches = p.epochs * p.batches;
    const done = p.epoch * p.batches + p.batch;
    const now = Date.now() / 1000;
    this.started ??= { at: now, done };
    const rate = (done - this.started.done) / Math.max(now - this.started.at, 1e-9);
    const eta = rate > 0 ? (totalBatches - done) / rate : Infinity;
    const terms = Object.entries(p.terms).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' ');
    const head = `${p.label} epoch ${p.epoch + 1}/${p.epochs} step ${p.batch}/${p.batches}`;
    const tail = `${p.imgPerS.toFixed(0)} img/s ETA ${formatSeconds(eta)} ${terms}`;
    if (this.isTty) {
      const width = 24;
      const filled = Math.round((width * p.batch) / Math.max(p.batches, 1));
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      const line = `${head} ${bar} ${tail}`;
      const columns = this.stream.columns ?? 120;
      this.stream.write(`\r${line.slice(0, columns - 1).padEnd(columns - 1)}`);
    } else {
      if (now - this.lastPlain < this.plainEverySeconds && p.batch !== p.batches) return;
      this.lastPlain = now;
      this.stream.write(`${head} ${tail}\n`);
    }
  }

  /** Ends the bar's line (TTY) before other output. */
  done(): void {
    if (this.isTty) this.stream.write('\n');
  }
}
