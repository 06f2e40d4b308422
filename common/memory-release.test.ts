import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { releasingMemoryAfter } from './memory-release';
import { packageRoot } from './package-root';

describe("the addon's trimMemory", () => {
  it('returns memory that malloc kept after the garbage collector freed it', () => {
    // In a process of its own with --expose-gc: 3000 buffers of 60 KiB (below malloc's mmap
    // threshold, so they live in its heap), every 50th kept so the heap's top stays in use and
    // only the trim's madvise of free pages can lower the RSS.
    const script = `
      const addon = require(process.argv[1]);
      const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
      let all = Array.from({ length: 3000 }, () => Buffer.alloc(60 * 1024, 1));
      const kept = all.filter((_, i) => i % 50 === 49);
      all = null;
      global.gc(); global.gc();
      const before = rss();
      addon.trimMemory();
      console.log(JSON.stringify({ before, after: rss(), kept: kept.length }));
    `;
    const addonPath = path.join(packageRoot(), 'native', 'bin', 'berth-addon.node');
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', script, addonPath], {
      encoding: 'utf8',
    });
    const { before, after } = JSON.parse(out) as { before: number; after: number };
    expect(before - after).toBeGreaterThan(100);
  });
});

describe('releasingMemoryAfter', () => {
  const realGc = globalThis.gc;
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    jest.useRealTimers();
    globalThis.gc = realGc;
  });

  it('collects once, five seconds after the last burst ended, however it ended', async () => {
    const gc = jest.fn();
    globalThis.gc = gc;
    await expect(releasingMemoryAfter(async () => 'done')).resolves.toBe('done');
    jest.advanceTimersByTime(4000);
    await expect(
      releasingMemoryAfter(async () => {
        throw new Error('failed');
      }),
    ).rejects.toThrow('failed');
    // The second burst re-armed the timer: nothing yet 5 s after the first.
    jest.advanceTimersByTime(4999);
    expect(gc).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(gc).toHaveBeenCalledTimes(2);
    jest.advanceTimersByTime(60_000);
    expect(gc).toHaveBeenCalledTimes(2);
  });

  it('still trims malloc when the garbage collector is not exposed', async () => {
    globalThis.gc = undefined;
    await releasingMemoryAfter(async () => undefined);
    expect(() => jest.advanceTimersByTime(5000)).not.toThrow();
  });
});
