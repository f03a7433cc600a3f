// SIGINT/SIGTERM/SIGHUP during training: the first asks the loop to finish its step, save checkpoint-last and exit
// (130/143/129); a second exits at once. SIGHUP is what a closed terminal or a dropped SSH session sends: it stops
// the run like SIGTERM rather than killing it unsaved.

/** The signals that stop a run cleanly, with their conventional exit codes (128 + the signal number). */
export const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const satisfies Partial<Record<NodeJS.Signals, number>>;
type StopSignalName = keyof typeof STOP_SIGNALS;

export class StopSignal {
  private received: NodeJS.Signals | undefined;
  private readonly handler = (signal: NodeJS.Signals) => this.onSignal(signal);

  constructor(private readonly log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)) {}

  install(): this {
    for (const s of Object.keys(STOP_SIGNALS)) process.on(s, this.handler);
    return this;
  }

  uninstall(): void {
    for (const s of Object.keys(STOP_SIGNALS)) process.off(s, this.handler);
  }

  get requested(): NodeJS.Signals | undefined {
    return this.received;
  }

  /** Records a stop decided elsewhere (another rank received the signal). */
  request(signal: NodeJS.Signals): void {
    this.received ??= signal;
  }

  /** The conventional exit code for the signal: 128 + its number. */
  get exitCode(): number {
    return STOP_SIGNALS[this.received as StopSignalName] ?? 130;
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.received) {
      this.log(`\n${signal} again: exiting now without saving.`);
      process.exit(STOP_SIGNALS[signal as StopSignalName] ?? 130);
    }
    this.received = signal;
    this.log(`\n${signal}: finishing the current step, then stopping (saving checkpoint-last if a step was trained; send it again to exit at once).`);
  }
}
