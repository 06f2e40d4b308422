/**
 * Undo steps for a multi-step creation. Each step that made something registers how to remove
 * it; if a later step fails, `unwind` runs the undos in reverse order and keeps going past their
 * own failures, so a failed create leaves nothing behind that later looks valid.
 */
export class Rollback {
  private readonly undos: Array<{ what: string; undo: () => Promise<void> | void }> = [];

  add(what: string, undo: () => Promise<void> | void): void {
    this.undos.push({ what, undo });
  }

  /** Runs every undo, newest first; returns the failures as "what: message". */
  async unwind(): Promise<string[]> {
    const failures: string[] = [];
    for (const { what, undo } of this.undos.splice(0).reverse()) {
      try {
        await undo();
      } catch (err) {
        failures.push(`${what}: ${(err as Error).message}`);
      }
    }
    return failures;
  }
}

/**
 * Awaits every task, then throws the first failure: unlike Promise.all, no task is still running
 * (and about to register an undo) when the caller starts to roll back.
 */
export async function settleAll<T extends readonly unknown[]>(
  tasks: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
