import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeCgroups } from '../common/testing/kernel';
import { isCgroupV2 } from './cgroup-update';
import { parseFlatKeyed, readCgroupUsage, sumUsage, usageFromV2, workingSetBytes } from './cgroup-stats';

const MiB = 1n << 20n;

/**
 * A process in its own v1 cgroup (cpuacct, memory, pids) that holds `allocMiB` of touched
 * anonymous memory, burns `burnMs` of CPU time at start and again for every line it reads.
 */
class CgroupWorker {
  private constructor(
    readonly child: ChildProcess,
    private readonly output: string[],
  ) {}

  static async start(cgroup: string, allocMiB: number, burnMs: number): Promise<CgroupWorker> {
    const program = `
      const held = Buffer.alloc(${allocMiB} * 1024 * 1024, 1);
      // CPU time, not wall time: a busy host may preempt the worker.
      const burn = () => {
        const start = process.cpuUsage();
        let x = 0;
        for (;;) {
          for (let i = 0; i < 1e6; i++) x += Math.sqrt(i); // user time, between the clock's syscalls
          const used = process.cpuUsage(start);
          if (used.user + used.system >= ${burnMs} * 1000) return x;
        }
      };
      burn();
      console.log('ready ' + held.length);
      process.stdin.on('data', () => { burn(); console.log('burnt'); });`;
    const join = ['cpuacct', 'memory', 'pids']
      .map((c) => `echo $$ > ${path.join('/sys/fs/cgroup', c, cgroup, 'cgroup.procs')}`)
      .join(' && ');
    const child = spawn('sh', ['-c', `${join} && exec "$0" -e "$1"`, process.execPath, program], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const output: string[] = [];
    child.stdout!.on('data', (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean)));
    const worker = new CgroupWorker(child, output);
    await worker.waitFor('ready');
    return worker;
  }

  async burn(): Promise<void> {
    const before = this.output.filter((line) => line === 'burnt').length;
    this.child.stdin!.write('burn\n');
    await this.waitFor('burnt', before + 1);
  }

  private async waitFor(prefix: string, count = 1): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (this.output.filter((line) => line.startsWith(prefix)).length < count) {
      if (this.child.exitCode !== null) throw new Error(`worker exited with ${this.child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`worker never printed ${prefix}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

const describeV1 = isCgroupV2() ? describe.skip : describe;

describeV1('readCgroupUsage on a real cgroup v1', () => {
  const parent = `/berth-test-stats-${process.pid}`;
  const cgroup = `${parent}/worker`;
  let worker: CgroupWorker | undefined;

  beforeEach(() => {
    for (const controller of ['cpuacct', 'memory', 'pids']) {
      fs.mkdirSync(path.join('/sys/fs/cgroup', controller, cgroup), { recursive: true });
    }
  });

  afterEach(() => {
    if (worker?.child.pid) worker.child.kill('SIGKILL');
    worker = undefined;
    removeCgroups(parent);
  });

  test('CPU time, memory and tasks of the processes in it move with what they do', async () => {
    const limit = 512n * MiB;
    fs.writeFileSync(path.join('/sys/fs/cgroup/memory', cgroup, 'memory.limit_in_bytes'), limit.toString());
    worker = await CgroupWorker.start(cgroup, 64, 300);

    const first = (await readCgroupUsage(cgroup))!;
    expect(first.cpuNanos).toBeGreaterThanOrEqual(300_000_000n);
    // The burn runs in user mode; cpuacct.stat's ticks (10 ms) lag cpuacct.usage by at most a few.
    expect(first.cpuUserNanos).toBeGreaterThanOrEqual(200_000_000n);
    expect(first.cpuUserNanos! + first.cpuSystemNanos!).toBeLessThanOrEqual(first.cpuNanos! + 100_000_000n);
    const memory = first.memory!;
    expect(memory.limitBytes).toBe(limit);
    expect(memory.rssBytes).toBeGreaterThanOrEqual(64n * MiB);
    expect(memory.usageBytes).toBeGreaterThanOrEqual(memory.rssBytes);
    expect(workingSetBytes(memory)).toBeGreaterThanOrEqual(64n * MiB);
    expect(workingSetBytes(memory)).toBeLessThanOrEqual(memory.usageBytes);
    // Touching 64 MiB faults in at least one page per 4 KiB (or one per huge page).
    expect(memory.pageFaults).toBeGreaterThan((64n * 256n) / 512n);
    expect(memory.majorPageFaults).toBeGreaterThanOrEqual(0n);
    // Node's main thread plus its worker threads; pids.current counts tasks.
    expect(first.pids).toBeGreaterThanOrEqual(1n);
    if (fs.existsSync(path.join('/sys/fs/cgroup/memory', cgroup, 'memory.memsw.usage_in_bytes'))) {
      expect(first.swap).toEqual({ usageBytes: expect.any(BigInt), limitBytes: undefined });
    }

    await worker.burn();
    const second = (await readCgroupUsage(cgroup))!;
    expect(second.cpuNanos! - first.cpuNanos!).toBeGreaterThanOrEqual(250_000_000n);
    expect(second.memory!.pageFaults).toBeGreaterThanOrEqual(memory.pageFaults);
  }, 60_000);

  test('a cgroup without a limit has none, and a cgroup that is gone reports nothing', async () => {
    worker = await CgroupWorker.start(cgroup, 1, 0);
    expect((await readCgroupUsage(cgroup))!.memory!.limitBytes).toBeUndefined();
    await expect(readCgroupUsage(`${parent}/never-made`)).resolves.toBeUndefined();
  }, 60_000);
});

describe('cgroup v2 files', () => {
  // Text as a 6.1 kernel writes it (trimmed to the lines read plus neighbours).
  const files = {
    'cpu.stat': 'usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\nnr_periods 0\n',
    'memory.current': '104857600\n',
    'memory.max': '209715200\n',
    'memory.stat':
      'anon 73400320\nfile 31457280\nkernel 1048576\nactive_file 10485760\ninactive_file 20971520\n' +
      'pgfault 40960\npgmajfault 12\n',
    'memory.swap.current': '4096\n',
    'memory.swap.max': 'max\n',
    'pids.current': '3\n',
  };

  test('CPU in nanoseconds, memory from memory.stat, swap and pids', () => {
    expect(usageFromV2(files)).toEqual({
      cpuNanos: 1_234_567_000n,
      cpuUserNanos: 1_000_000_000n,
      cpuSystemNanos: 234_567_000n,
      memory: {
        usageBytes: 104_857_600n,
        limitBytes: 209_715_200n,
        inactiveFileBytes: 20_971_520n,
        rssBytes: 73_400_320n,
        cacheBytes: 31_457_280n,
        pageFaults: 40_960n,
        majorPageFaults: 12n,
      },
      swap: { usageBytes: 4096n, limitBytes: undefined },
      pids: 3n,
    });
  });

  test('"max" is no limit, and a missing controller leaves its section out', () => {
    const usage = usageFromV2({ ...files, 'memory.max': 'max\n', 'pids.current': undefined });
    expect(usage.memory!.limitBytes).toBeUndefined();
    expect(usage.pids).toBeUndefined();
    expect(usageFromV2({})).toEqual({});
  });

  test('the working set never goes below zero', () => {
    const memory = usageFromV2({ ...files, 'memory.current': '1000\n' }).memory!;
    expect(workingSetBytes(memory)).toBe(0n);
  });
});

describe('flat keyed files and sums', () => {
  test('lines that are not "key number" are skipped', () => {
    expect(parseFlatKeyed('a 1\nbroken\nb -2\n\nc 18446744073709551615\n')).toEqual(
      new Map([
        ['a', 1n],
        ['c', 18446744073709551615n],
      ]),
    );
  });

  test('a sum adds counters and has no limit', () => {
    const one = usageFromV2({
      'cpu.stat': 'usage_usec 1\n',
      'memory.current': '10',
      'memory.max': '100',
      'memory.stat': 'anon 5\n',
      'pids.current': '2',
    });
    const sum = sumUsage([one, one, {}])!;
    expect(sum.cpuNanos).toBe(2000n);
    expect(sum.pids).toBe(4n);
    expect(sum.memory).toMatchObject({ usageBytes: 20n, rssBytes: 10n });
    expect(sum.memory!.limitBytes).toBeUndefined();
    expect(sumUsage([])).toBeUndefined();
  });
});
