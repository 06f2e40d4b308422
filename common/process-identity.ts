import { promises as fs } from 'node:fs';

/**
 * A process as the kernel identifies it over time: its pid and its start time (in clock ticks
 * since boot, /proc/<pid>/stat field 22). A pid alone may be reused once the process is gone;
 * the pair may not.
 */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

/** The identity of a live process, or undefined when it is gone or a zombie. */
export async function identify(pid: number): Promise<ProcessIdentity | undefined> {
  let stat: string;
  try {
    stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces and ')': split after the last.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  if (state === 'Z' || state === 'X' || startTime === undefined) return undefined;
  return { pid, startTime };
}

/** Whether the process is still running (not reaped, not a zombie, its pid not reused). */
export async function isRunning(process: ProcessIdentity): Promise<boolean> {
  return (await identify(process.pid))?.startTime === process.startTime;
}
