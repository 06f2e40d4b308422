import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { run } from './exec';
import { InternalError } from './errors';

/** Whether something is mounted exactly at `dir` (per this process's mount namespace). */
export async function isMountPoint(dir: string): Promise<boolean> {
  const mounts = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const target = path.resolve(dir);
  return mounts.split('\n').some((line) => unescapeMountPath(line.split(' ')[4] ?? '') === target);
}

/** Unmounts whatever is mounted at `dir` (lazily, so a straggling user does not block removal). */
export async function unmountIfMounted(dir: string): Promise<void> {
  if (!(await isMountPoint(dir))) return;
  try {
    await run('umount', ['--lazy', dir]);
  } catch (err) {
    throw new InternalError(`cannot unmount ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
