import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeTempDir } from '../common/testing/kernel';
import { CpuRateTracker, criMemory, criSwap } from './container-stats';
import { diskUsage, WritableLayerUsage } from './writable-layer-usage';

describe('CpuRateTracker', () => {
  test('no rate on the first sample; then CPU time over wall time, in nanocores', () => {
    const rates = new CpuRateTracker();
    const t0 = 1_700_000_000_000_000_000n;
    expect(rates.nanoCores('c', 5_000_000_000n, t0)).toBeUndefined();
    // 1.5 s of CPU in 2 s of wall time: three quarters of a core.
    expect(rates.nanoCores('c', 6_500_000_000n, t0 + 2_000_000_000n)).toBe(750_000_000n);
    expect(rates.nanoCores('other', 1n, t0 + 2_000_000_000n)).toBeUndefined();
  });

  test('a counter that went backwards or a sample not later than the last gives no rate', () => {
    const rates = new CpuRateTracker();
    const t0 = 1_000_000_000_000n;
    rates.nanoCores('c', 10n, t0);
    expect(rates.nanoCores('c', 5n, t0 + 1_000_000_000n)).toBeUndefined();
    expect(rates.nanoCores('c', 9n, t0 + 1_000_000_000n)).toBeUndefined();
    expect(rates.nanoCores('c', 1_000_000_009n, t0 + 2_000_000_000n)).toBe(1_000_000_000n);
  });

  test('an object not sampled for five minutes starts over', () => {
    const rates = new CpuRateTracker();
    const t0 = 1_000_000_000_000n;
    rates.nanoCores('c', 0n, t0);
    expect(rates.nanoCores('c', 1n, t0 + 301_000_000_000n)).toBeUndefined();
  });
});

describe('CRI memory and swap', () => {
  const memory = {
    usageBytes: 300n,
    inactiveFileBytes: 100n,
    rssBytes: 150n,
    cacheBytes: 120n,
    pageFaults: 7n,
    majorPageFaults: 1n,
  };

  test('available is the limit minus the working set, unset without a limit, never negative', () => {
    expect(criMemory({ memory: { ...memory, limitBytes: 1000n } }, 5n)).toEqual({
      timestamp: '5',
      working_set_bytes: { value: '200' },
      available_bytes: { value: '800' },
      usage_bytes: { value: '300' },
      rss_bytes: { value: '150' },
      page_faults: { value: '7' },
      major_page_faults: { value: '1' },
    });
    expect(criMemory({ memory }, 5n)!.available_bytes).toBeNull();
    expect(criMemory({ memory: { ...memory, limitBytes: 150n } }, 5n)!.available_bytes).toEqual({
      value: '0',
    });
    expect(criMemory({}, 5n)).toBeUndefined();
  });

  test('swap available only under a swap limit', () => {
    expect(criSwap({ swap: { usageBytes: 10n, limitBytes: 30n } }, 1n)).toEqual({
      timestamp: '1',
      swap_usage_bytes: { value: '10' },
      swap_available_bytes: { value: '20' },
    });
    expect(criSwap({ swap: { usageBytes: 10n } }, 1n)!.swap_available_bytes).toBeNull();
  });
});

describe('writable layer usage', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-layer-'));
  });
  afterEach(() => removeTempDir(dir));

  test('allocated bytes and inodes, a hard link once, a sparse file by what it occupies', async () => {
    const empty = await diskUsage(dir);
    expect(empty.inodes).toBe(1n);
    fs.mkdirSync(path.join(dir, 'etc'));
    fs.writeFileSync(path.join(dir, 'etc', 'data'), Buffer.alloc(1 << 20, 7));
    fs.linkSync(path.join(dir, 'etc', 'data'), path.join(dir, 'again'));
    fs.symlinkSync('/nonexistent', path.join(dir, 'dangling'));
    const sparse = fs.openSync(path.join(dir, 'sparse'), 'w');
    fs.ftruncateSync(sparse, 1 << 30);
    fs.closeSync(sparse);

    const usage = await diskUsage(dir);
    // root, etc, data (linked twice), dangling, sparse.
    expect(usage.inodes).toBe(5n);
    expect(usage.bytes).toBeGreaterThanOrEqual(1n << 20n);
    expect(usage.bytes).toBeLessThan(2n << 20n);
  });

  test('a missing directory counts nothing', async () => {
    await expect(diskUsage(path.join(dir, 'gone'))).resolves.toMatchObject({ bytes: 0n, inodes: 0n });
  });

  test('walked again only once the last walk is older than the period', async () => {
    const cached = new WritableLayerUsage(60_000);
    const first = await cached.of(dir);
    fs.writeFileSync(path.join(dir, 'later'), Buffer.alloc(65536, 1));
    expect(await cached.of(dir)).toBe(first);

    const fresh = new WritableLayerUsage(0);
    await fresh.of(dir);
    fs.writeFileSync(path.join(dir, 'more'), Buffer.alloc(65536, 1));
    expect((await fresh.of(dir)).inodes).toBe(3n);
  });
});
