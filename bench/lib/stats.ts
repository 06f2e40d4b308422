/** Summary statistics of a benchmark's samples, in milliseconds. */
export interface Summary {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { n: sorted.length, median: at(0.5), p95: at(0.95), min: sorted[0], max: sorted[sorted.length - 1] };
}

/** Milliseconds taken by `body`. */
export async function timed<T>(body: () => Promise<T>): Promise<[number, T]> {
  const start = process.hrtime.bigint();
  const result = await body();
  return [Number(process.hrtime.bigint() - start) / 1e6, result];
}

export function formatMs(ms: number): string {
  return ms.toFixed(1).padStart(8);
}

/** Prints berth's medians over containerd's, key by key (below 1: berth is faster). */
export function printRatios(
  berth: Record<string, number>,
  containerd: Record<string, number>,
  title: string,
): void {
  console.log(`\nberth / containerd (medians; ${title})`);
  for (const key of Object.keys(berth)) {
    console.log(`  ${key.padEnd(22)} ${(berth[key] / containerd[key]).toFixed(2)}`);
  }
}

/**
 * Medians of the per-step times the daemon logged for each call: `message` is the log line's
 * text before its `steps={...}` field ("pod sandbox ready", "container created").
 */
export function reportSteps(logs: string, message: string, rpc: string): void {
  const perStep: Record<string, number[]> = {};
  for (const match of logs.matchAll(new RegExp(`${message} .*steps=(\\{[^ ]*\\})`, 'g'))) {
    for (const [step, ms] of Object.entries(JSON.parse(match[1]) as Record<string, number>)) {
      (perStep[step] ??= []).push(ms);
    }
  }
  const line = Object.entries(perStep).map(
    ([step, samples]) => `${step} ${summarize(samples).median.toFixed(1)}`,
  );
  console.log(`  ${rpc} steps (median ms): ${line.join(', ')}`);
}
