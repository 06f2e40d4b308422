import { readFileSync } from 'node:fs';
import { InternalError } from '../common/errors';
import { CGROUP_ROOT, cgroupFilePath, isCgroupV2 } from './cgroup-update';

/**
 * What one cgroup reports, in the units the CRI wants (bytes, nanoseconds). A section is absent
 * when its controller reports nothing for the cgroup (no such hierarchy, or the cgroup is gone).
 */
export interface CgroupUsage {
  /** Cumulative CPU time of every task, over all cores. */
  cpuNanos?: bigint;
  /** The part of cpuNanos spent in user and in kernel mode (v1 counts them in USER_HZ ticks). */
  cpuUserNanos?: bigint;
  cpuSystemNanos?: bigint;
  memory?: MemoryCounters;
  swap?: SwapCounters;
  /** Tasks (processes and threads) in the cgroup and its children. */
  pids?: bigint;
}

export interface MemoryCounters {
  /** Everything charged, page cache included. */
  usageBytes: bigint;
  /** Undefined when the cgroup has no limit of its own. */
  limitBytes?: bigint;
  /** Page cache on the inactive list: reclaimable first, so outside the working set. */
  inactiveFileBytes: bigint;
  /** Anonymous memory and swap cache. */
  rssBytes: bigint;
  /** Page cache (v1 total_cache, v2 file). */
  cacheBytes: bigint;
  pageFaults: bigint;
  majorPageFaults: bigint;
}

export interface SwapCounters {
  usageBytes: bigint;
  /** Undefined when swap is not limited. */
  limitBytes?: bigint;
}

/** The v1 files a usage is read from, by controller hierarchy, as text (undefined = absent). */
export interface CgroupV1Files {
  'cpuacct.usage'?: string;
  'cpuacct.stat'?: string;
  'memory.usage_in_bytes'?: string;
  'memory.limit_in_bytes'?: string;
  'memory.stat'?: string;
  'memory.memsw.usage_in_bytes'?: string;
  'memory.memsw.limit_in_bytes'?: string;
  'pids.current'?: string;
}

/** The v2 files a usage is read from, all in the cgroup's one directory. */
export interface CgroupV2Files {
  'cpu.stat'?: string;
  'memory.current'?: string;
  'memory.max'?: string;
  'memory.stat'?: string;
  'memory.swap.current'?: string;
  'memory.swap.max'?: string;
  'pids.current'?: string;
}

const V1_CONTROLLER: Record<keyof CgroupV1Files, string> = {
  'cpuacct.usage': 'cpuacct',
  'cpuacct.stat': 'cpuacct',
  'memory.usage_in_bytes': 'memory',
  'memory.limit_in_bytes': 'memory',
  'memory.stat': 'memory',
  'memory.memsw.usage_in_bytes': 'memory',
  'memory.memsw.limit_in_bytes': 'memory',
  'pids.current': 'pids',
};

const V2_FILES: Array<keyof CgroupV2Files> = [
  'cpu.stat',
  'memory.current',
  'memory.max',
  'memory.stat',
  'memory.swap.current',
  'memory.swap.max',
  'pids.current',
];

/**
 * A v1 limit at or above this is "no limit": the kernel reports an unset limit as the largest
 * page-aligned int64, not as a marker (the bound containerd and cAdvisor use).
 */
const UNLIMITED_V1 = 1n << 62n;

/**
 * cpuacct.stat counts in USER_HZ, which the kernel fixes at 100 for what it shows userspace
 * (`USER_HZ`, include/asm-generic/param.h), whatever its own HZ.
 */
const NANOS_PER_USER_HZ_TICK = 10_000_000n;

/**
 * Reads a cgroup's CPU, memory, swap and pids counters (cgroupfs, v1 or v2). Undefined when the
 * cgroup reports nothing at all: it does not exist (the container's processes are gone).
 */
export async function readCgroupUsage(
  cgroupsPath: string,
  root = CGROUP_ROOT,
): Promise<CgroupUsage | undefined> {
  const usage = isCgroupV2(root)
    ? usageFromV2(await readFiles(V2_FILES, (file) => cgroupFilePath(cgroupsPath, '', file, root)))
    : usageFromV1(
        await readFiles(Object.keys(V1_CONTROLLER) as Array<keyof CgroupV1Files>, (file) =>
          cgroupFilePath(cgroupsPath, V1_CONTROLLER[file], file, root),
        ),
      );
  return Object.values(usage).some((section) => section !== undefined) ? usage : undefined;
}

/** The usage v1 files report; memory.stat's `total_*` counters include the child cgroups. */
export function usageFromV1(files: CgroupV1Files): CgroupUsage {
  const usage: CgroupUsage = {};
  const cpu = counter(files['cpuacct.usage']);
  if (cpu !== undefined) usage.cpuNanos = cpu;
  if (files['cpuacct.stat'] !== undefined) {
    const stat = parseFlatKeyed(files['cpuacct.stat']);
    const user = stat.get('user');
    const system = stat.get('system');
    if (user !== undefined) usage.cpuUserNanos = user * NANOS_PER_USER_HZ_TICK;
    if (system !== undefined) usage.cpuSystemNanos = system * NANOS_PER_USER_HZ_TICK;
  }
  const memoryUsage = counter(files['memory.usage_in_bytes']);
  if (memoryUsage !== undefined && files['memory.stat'] !== undefined) {
    const stat = parseFlatKeyed(files['memory.stat']);
    usage.memory = {
      usageBytes: memoryUsage,
      limitBytes: v1Limit(files['memory.limit_in_bytes']),
      inactiveFileBytes: stat.get('total_inactive_file') ?? 0n,
      rssBytes: stat.get('total_rss') ?? 0n,
      cacheBytes: stat.get('total_cache') ?? 0n,
      pageFaults: stat.get('total_pgfault') ?? 0n,
      majorPageFaults: stat.get('total_pgmajfault') ?? 0n,
    };
    // memsw counts memory plus swap; its files exist only with swap accounting on.
    const memsw = counter(files['memory.memsw.usage_in_bytes']);
    if (memsw !== undefined) {
      const memswLimit = v1Limit(files['memory.memsw.limit_in_bytes']);
      const memoryLimit = usage.memory.limitBytes;
      usage.swap = {
        usageBytes: nonNegative(memsw - memoryUsage),
        limitBytes:
          memswLimit !== undefined && memoryLimit !== undefined
            ? nonNegative(memswLimit - memoryLimit)
            : undefined,
      };
    }
  }
  const pids = counter(files['pids.current']);
  if (pids !== undefined) usage.pids = pids;
  return usage;
}

/** The usage v2 files report (cgroup v2 counts children in every file). */
export function usageFromV2(files: CgroupV2Files): CgroupUsage {
  const usage: CgroupUsage = {};
  if (files['cpu.stat'] !== undefined) {
    const stat = parseFlatKeyed(files['cpu.stat']);
    const usec = stat.get('usage_usec');
    if (usec !== undefined) usage.cpuNanos = usec * 1000n;
    const user = stat.get('user_usec');
    const system = stat.get('system_usec');
    if (user !== undefined) usage.cpuUserNanos = user * 1000n;
    if (system !== undefined) usage.cpuSystemNanos = system * 1000n;
  }
  const current = counter(files['memory.current']);
  if (current !== undefined && files['memory.stat'] !== undefined) {
    const stat = parseFlatKeyed(files['memory.stat']);
    usage.memory = {
      usageBytes: current,
      limitBytes: v2Limit(files['memory.max']),
      inactiveFileBytes: stat.get('inactive_file') ?? 0n,
      // v2 has no rss line; anon is what cAdvisor and containerd report as RSS there.
      rssBytes: stat.get('anon') ?? 0n,
      cacheBytes: stat.get('file') ?? 0n,
      pageFaults: stat.get('pgfault') ?? 0n,
      majorPageFaults: stat.get('pgmajfault') ?? 0n,
    };
  }
  const swap = counter(files['memory.swap.current']);
  if (swap !== undefined) usage.swap = { usageBytes: swap, limitBytes: v2Limit(files['memory.swap.max']) };
  const pids = counter(files['pids.current']);
  if (pids !== undefined) usage.pids = pids;
  return usage;
}

/**
 * The usage of several cgroups together (a pod without a cgroup of its own is its pause and
 * container cgroups). Limits do not add up, so the sum has none.
 */
export function sumUsage(usages: CgroupUsage[]): CgroupUsage | undefined {
  if (usages.length === 0) return undefined;
  const sum: CgroupUsage = {};
  for (const u of usages) {
    if (u.cpuNanos !== undefined) sum.cpuNanos = (sum.cpuNanos ?? 0n) + u.cpuNanos;
    if (u.cpuUserNanos !== undefined) sum.cpuUserNanos = (sum.cpuUserNanos ?? 0n) + u.cpuUserNanos;
    if (u.cpuSystemNanos !== undefined) sum.cpuSystemNanos = (sum.cpuSystemNanos ?? 0n) + u.cpuSystemNanos;
    if (u.pids !== undefined) sum.pids = (sum.pids ?? 0n) + u.pids;
    if (u.memory) {
      const m = sum.memory;
      sum.memory = {
        usageBytes: (m?.usageBytes ?? 0n) + u.memory.usageBytes,
        inactiveFileBytes: (m?.inactiveFileBytes ?? 0n) + u.memory.inactiveFileBytes,
        rssBytes: (m?.rssBytes ?? 0n) + u.memory.rssBytes,
        cacheBytes: (m?.cacheBytes ?? 0n) + u.memory.cacheBytes,
        pageFaults: (m?.pageFaults ?? 0n) + u.memory.pageFaults,
        majorPageFaults: (m?.majorPageFaults ?? 0n) + u.memory.majorPageFaults,
      };
    }
    if (u.swap) sum.swap = { usageBytes: (sum.swap?.usageBytes ?? 0n) + u.swap.usageBytes };
  }
  return sum;
}

/** Working set as the kubelet evicts on: usage minus inactive file pages, never below zero. */
export function workingSetBytes(memory: MemoryCounters): bigint {
  return nonNegative(memory.usageBytes - memory.inactiveFileBytes);
}

/** `key value` lines (memory.stat, cpu.stat) as a map; lines that are not a key and a number are skipped. */
export function parseFlatKeyed(text: string): Map<string, bigint> {
  const values = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const match = /^(\S+) (\d+)$/.exec(line.trim());
    if (match) values.set(match[1], BigInt(match[2]));
  }
  return values;
}

function counter(text: string | undefined): bigint | undefined {
  const trimmed = text?.trim();
  return trimmed !== undefined && /^\d+$/.test(trimmed) ? BigInt(trimmed) : undefined;
}

function v1Limit(text: string | undefined): bigint | undefined {
  const value = counter(text);
  return value !== undefined && value < UNLIMITED_V1 ? value : undefined;
}

/** v2 writes "max" for no limit. */
function v2Limit(text: string | undefined): bigint | undefined {
  return counter(text);
}

function nonNegative(value: bigint): bigint {
  return value > 0n ? value : 0n;
}

/**
 * Reads the files; one that does not exist (no controller, cgroup gone) is undefined. Read
 * synchronously: cgroupfs files are made in memory at read time, a few microseconds each, where
 * fs.promises.readFile costs four thread-pool round trips (open, fstat, read, close) per file.
 * That made ListContainerStats take 83 ms for 100 containers.
 */
async function readFiles<K extends string>(
  files: K[],
  pathOf: (file: K) => string,
): Promise<Partial<Record<K, string>>> {
  const result: Partial<Record<K, string>> = {};
  for (const file of files) {
    try {
      result[file] = readFileSync(pathOf(file), 'utf8');
    } catch (err) {
      // ENODEV: a v1 file of a cgroup being removed; the cgroup is going away like ENOENT's.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENODEV') continue;
      throw new InternalError(`cannot read ${pathOf(file)}: ${(err as Error).message}`, { cause: err });
    }
  }
  return result;
}
