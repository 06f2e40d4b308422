import type { EventEmitter } from 'node:events';

/**
 * Resolves at a writable stream's next 'drain', or when it closes, after which no 'drain' comes;
 * both listeners are gone by then. For writers that stop when a write returns false.
 */
export function drainOrClose(stream: EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
