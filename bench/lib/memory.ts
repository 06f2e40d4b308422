import * as fs from 'node:fs';

/** A process's memory as /proc shows it, in KiB. */
export interface ProcessMemory {
  /** VmRSS: resident pages, shared ones (libc, the binary) counted whole. */
  rss: number;
  /** RssAnon: resident private memory (heap, stacks). */
  anon: number;
  /** Pss: resident pages with shared ones divided among their sharers (smaps_rollup). */
  pss: number;
}

function kib(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

/** The memory of a live process (proc(5) status and smaps_rollup). */
export function processMemory(pid: number): ProcessMemory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return { rss: kib(status, 'VmRSS'), anon: kib(status, 'RssAnon'), pss: kib(rollup, 'Pss') };
}

/** The sum of the processes' memory. */
export function totalMemory(pids: number[]): ProcessMemory {
  const total = { rss: 0, anon: 0, pss: 0 };
  for (const pid of pids) {
    const m = processMemory(pid);
    total.rss += m.rss;
    total.anon += m.anon;
    total.pss += m.pss;
  }
  return total;
}

/** Live processes whose command line contains every one of `words` (NUL-separated argv joined by spaces). */
export function pidsWithCommandLine(...words: string[]): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue; // gone meanwhile
    }
    if (words.every((w) => cmdline.includes(w))) pids.push(Number(entry));
  }
  return pids;
}

export function formatMiB(kibibytes: number): string {
  return `${(kibibytes / 1024).toFixed(1)} MiB`;
}
