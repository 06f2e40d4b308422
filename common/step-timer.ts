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

  /**
   * Records a step that runs beside others since the last mark, without moving that mark; after
   * the side-by-side steps, `mark` times what follows from the end of the slowest.
   */
  markBranch(step: string): void {
    this.steps[step] = Math.round(Number(process.hrtime.bigint() - this.last) / 1e4) / 100;
  }

  /** Moves the mark to now without recording a step (the end of side-by-side branches). */
  join(): void {
    this.last = process.hrtime.bigint();
  }

  totalMs(): number {
    return Math.round(Number(process.hrtime.bigint() - this.started) / 1e4) / 100;
  }
}
