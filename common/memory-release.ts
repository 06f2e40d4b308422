import { nativeAddon } from './native-addon';

/** How long the daemon must have had no lifecycle work before it collects. */
const SETTLE_MS = 5000;
let timer: NodeJS.Timeout | undefined;

/**
 * Hands memory back once a burst of work (an image pull, pods and containers started, stopped or
 * removed) has settled. V8 does not collect a heap that stops growing: its memory reducer waits
 * for allocation, and an idle daemon allocates nothing, so what the burst left (its garbage and the
 * bytecode of code paths no longer running) stayed resident. Two full collections (the second
 * releases the pages the first emptied) and then malloc_trim, since glibc keeps what each thread's
 * arena freed (zlib's buffers of a pull, on the thread pool) for reuse. Debounced: one release,
 * SETTLE_MS after the last burst; lists and status calls, which the kubelet makes every second,
 * do not re-arm it. The collections need `--expose-gc`, which the daemon's command line gives;
 * without it (tests) only malloc_trim runs.
 */
export function releaseMemorySoon(): void {
  clearTimeout(timer);
  timer = setTimeout(releaseMemory, SETTLE_MS);
  timer.unref();
}

function releaseMemory(): void {
  if (globalThis.gc) {
    globalThis.gc();
    globalThis.gc();
  }
  nativeAddon().trimMemory();
}

/** Runs `work` and arms the release when it ends, however it ends. */
export async function releasingMemoryAfter<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    releaseMemorySoon();
  }
}
