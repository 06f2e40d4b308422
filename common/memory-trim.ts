import { nativeAddon } from './native-addon';

const SETTLE_MS = 2000;
let timer: NodeJS.Timeout | undefined;

/**
 * Gives free malloc memory back to the kernel shortly after a burst of work (an image pull:
 * zlib's buffers are allocated and freed on the thread pool, and glibc keeps what each thread's
 * arena freed resident for reuse). Debounced: one trim, SETTLE_MS after the last request, once
 * the garbage collector has had a chance to free what the burst held.
 */
export function trimMemorySoon(): void {
  clearTimeout(timer);
  timer = setTimeout(() => nativeAddon().trimMemory(), SETTLE_MS);
  timer.unref();
}
