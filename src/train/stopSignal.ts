// SIGINT/SIGTERM during training: the first asks the loop to finish its step, save checkpoint-last and exit
// (130/143); a second exits at once.

export class StopSignal {
  private received: NodeJS.Signals | undefined;
  private readonly handler = (signal: NodeJS.Signals) => this.onSignal(signal);

  constructor(private readonly log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)) {}

  install(): this {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
    return this;
  }

  uninstall(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
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
    return this.received === 'SIGTERM' ? 143 : 130;
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.received) {
      this.log(`\n${signal} again: exiting now without saving.`);
      process.exit(signal === 'SIGTERM' ? 143 : 130);
    }
    this.received = signal;
    this.log(`\n${signal}: finishing the current step, then saving checkpoint-last (send it again to exit at once).`);
  }
}
