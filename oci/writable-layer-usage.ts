import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Bytes on disk and inodes under a directory, as `du` counts them. */
export interface DiskUsage {
  /** Allocated blocks (512-byte units, as st_blocks counts), each hard-linked inode once. */
  bytes: bigint;
  /** Distinct inodes, the directory itself included. */
  inodes: bigint;
  /** Milliseconds since the epoch at the end of the walk. */
  measuredAt: number;
}

/**
 * Walks a directory tree without following symlinks and adds up what it holds on disk. Allocated
 * blocks rather than apparent sizes: a sparse file costs what it occupies, and an overlay
 * whiteout (a 0:0 character device) costs an inode and no bytes. A tree that vanishes under the
 * walk (the container being removed) counts what was seen.
 */
export async function diskUsage(root: string): Promise<DiskUsage> {
  const seen = new Set<bigint>();
  let bytes = 0n;
  const visit = async (file: string): Promise<void> => {
    const stat = await fs.lstat(file, { bigint: true }).catch(ignoreGone);
    if (!stat) return;
    if (!seen.has(stat.ino)) {
      seen.add(stat.ino);
      bytes += stat.blocks * 512n;
    }
    if (!stat.isDirectory()) return;
    const entries = await fs.readdir(file).catch(ignoreGone);
    // Siblings side by side: a layer of many small files is walked in far fewer event-loop turns.
    await Promise.all((entries ?? []).map((name) => visit(path.join(file, name))));
  };
  await visit(root);
  return { bytes, inodes: BigInt(seen.size), measuredAt: Date.now() };
}

function ignoreGone(err: NodeJS.ErrnoException): undefined {
  if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
  throw err;
}

/**
 * Writable layer usage, walked at most once per `maxAgeMs` per directory: the kubelet asks for
 * every container every few seconds and a walk costs a stat per file. Callers that ask while a
 * walk runs share it. Entries not asked for in ten periods are dropped (their containers are
 * gone).
 */
export class WritableLayerUsage {
  private readonly entries = new Map<
    string,
    { usage?: DiskUsage; walk?: Promise<DiskUsage>; askedAt: number }
  >();

  constructor(private readonly maxAgeMs = 10_000) {}

  async of(dir: string): Promise<DiskUsage> {
    const now = Date.now();
    this.dropStale(now);
    const entry = this.entries.get(dir) ?? { askedAt: now };
    entry.askedAt = now;
    this.entries.set(dir, entry);
    if (entry.usage && now - entry.usage.measuredAt < this.maxAgeMs) return entry.usage;
    if (!entry.walk) {
      entry.walk = diskUsage(dir)
        .then((usage) => (entry.usage = usage))
        .finally(() => (entry.walk = undefined));
    }
    return entry.walk;
  }

  private dropStale(now: number): void {
    for (const [dir, entry] of this.entries) {
      if (now - entry.askedAt > 10 * this.maxAgeMs && !entry.walk) this.entries.delete(dir);
    }
  }
}
