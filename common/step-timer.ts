/**
 * Times the steps of a multi-step operation for its log line, so a slow pod start says which
 * step was slow: `mark(name)` records the time since the previous mark (or the start).
 */
export class StepTimer {
  private readonly started = process.hrtime.bigint();
  private last = this.started;
  readonly steps: Record<string, number> = {};

  mark(step: string): void {
    const now = process.hrtime.bigint();
    this.steps[step] = Math.round(Number(now - this.last) / 1e4) / 100;
    this.last = now;
  }

  totalMs(): number {
    return Math.round(Number(process.hrtime.bigint() - this.started) / 1e4) / 100;
  }
}
