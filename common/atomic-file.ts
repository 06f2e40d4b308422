import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Tells apart the temp files of writes of one file that run at once in this process. */
let tempSerial = 0;

export interface AtomicWriteOptions {
  mode?: number;
  /**
   * False for files under the runroot: volatile by design (a tmpfs that a reboot empties), they
   * need no fsync, only the rename that keeps readers from seeing a torn file.
   */
  durable?: boolean;
}

/**
 * Writes `data` to `file` so that a reader (or a daemon restarted after a crash) sees either the
 * old content or the new, never a torn file: write a temp file beside it, fsync it, rename it
 * over the target, then fsync the directory so the rename itself is durable.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  { mode = 0o644, durable = true }: AtomicWriteOptions = {},
): Promise<void> {
  const dir = path.dirname(file);
  // Unique per write: two saves of one record in the same millisecond (a container's start and
  // its exit) must not collide on the temp file (EEXIST).
  const tmp = path.join(dir, `${tempPrefix(file)}${process.pid}.${++tempSerial}.tmp`);
  const handle = await fs.open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  if (durable) await syncDir(dir);
}

/** The start of the names of writeFileAtomic's temp files for `file`, beside it. */
function tempPrefix(file: string): string {
  return `.${path.basename(file)}.`;
}

/**
 * Removes a file written by writeFileAtomic and the temp files a crash in the middle of a write
 * left beside it (a temp file is removed on any failure but the process's own death). None there
 * is fine.
 */
export async function removeAtomicFile(file: string): Promise<void> {
  const prefix = tempPrefix(file);
  const names = await fs.readdir(path.dirname(file)).catch(() => [] as string[]);
  await Promise.all([
    fs.rm(file, { force: true }),
    ...names
      .filter((n) => n.startsWith(prefix) && n.endsWith('.tmp'))
      .map((n) => fs.rm(path.join(path.dirname(file), n), { force: true })),
  ]);
}

/** Writes a JSON record atomically (see writeFileAtomic). */
export async function writeJsonAtomic(
  file: string,
  value: unknown,
  options?: AtomicWriteOptions,
): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n', options);
}

/** Reads a JSON record, or returns undefined when the file does not exist. */
export async function readJsonIfExists<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
