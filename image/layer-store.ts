import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../common/atomic-file';
import { run } from '../common/exec';
import { digestHex } from './digest';

/**
 * Unpacked layers, shared by every image that has them: `<root>/<diffID hex>/diff` is the layer's
 * tree (an overlayfs lower directory) and `layer.json` beside it its record. A layer is unpacked
 * into `<root>/.tmp-*`, synced, recorded, and renamed into place whole, so a directory named
 * after a diff ID is always complete; a crash leaves only `.tmp-*` and `.trash-*` directories,
 * which `init` removes. Concurrent requests for one layer share one unpack.
 */

export interface LayerRecord {
  diffID: string;
  /** Disk bytes used by the unpacked tree (blocks, hard links counted once). */
  bytes: number;
  inodes: number;
  createdAt: string;
}

const TMP_PREFIX = '.tmp-';
const TRASH_PREFIX = '.trash-';

export class LayerStore {
  private readonly inflight = new Map<string, Promise<LayerRecord>>();

  constructor(readonly root: string) {}

  async init(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    for (const name of await fs.readdir(this.root)) {
      if (name.startsWith(TMP_PREFIX) || name.startsWith(TRASH_PREFIX)) {
        await fs.rm(path.join(this.root, name), { recursive: true, force: true });
      }
    }
  }

  /** The unpacked tree of a layer, for overlay lowerdir. */
  diffPath(diffID: string): string {
    return path.join(this.root, digestHex(diffID), 'diff');
  }

  async get(diffID: string): Promise<LayerRecord | undefined> {
    return readJsonIfExists<LayerRecord>(path.join(this.root, digestHex(diffID), 'layer.json'));
  }

  /** True while a layer is being unpacked: garbage collection must leave it alone. */
  isBusy(diffID: string): boolean {
    return this.inflight.has(diffID);
  }

  /**
   * Returns the layer, unpacking it with `produce` (which fills an empty directory) when it is
   * not there yet. `produce` runs at most once at a time per diff ID; a failed produce leaves
   * nothing behind. `created` says whether this call did the unpacking.
   */
  async ensure(
    diffID: string,
    produce: (dir: string) => Promise<void>,
  ): Promise<{ record: LayerRecord; created: boolean }> {
    const running = this.inflight.get(diffID);
    if (running) return { record: await running, created: false };
    const existing = await this.get(diffID);
    if (existing) return { record: existing, created: false };
    // Checked again: another call may have started while we read the record.
    const again = this.inflight.get(diffID);
    if (again) return { record: await again, created: false };
    const work = this.unpack(diffID, produce);
    this.inflight.set(diffID, work);
    try {
      return { record: await work, created: true };
    } finally {
      this.inflight.delete(diffID);
    }
  }

  private async unpack(diffID: string, produce: (dir: string) => Promise<void>): Promise<LayerRecord> {
    const tmp = path.join(
      this.root,
      `${TMP_PREFIX}${digestHex(diffID).slice(0, 12)}-${randomBytes(4).toString('hex')}`,
    );
    try {
      await fs.mkdir(tmp, { mode: 0o700 });
      const diff = path.join(tmp, 'diff');
      await fs.mkdir(diff, { mode: 0o755 });
      await produce(diff);
      const { bytes, inodes } = await diskUsage(diff);
      // One syncfs(2) for the whole tree (coreutils `sync -f`), so that a layer that is in place
      // after a crash is also complete.
      await run('/usr/bin/sync', ['-f', diff]);
      const record: LayerRecord = { diffID, bytes, inodes, createdAt: new Date().toISOString() };
      await writeJsonAtomic(path.join(tmp, 'layer.json'), record);
      await fs.rename(tmp, path.join(this.root, digestHex(diffID)));
      return record;
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Deletes a layer: renamed away first, so it vanishes at once even if the delete is cut short. */
  async remove(diffID: string): Promise<void> {
    const dir = path.join(this.root, digestHex(diffID));
    const trash = path.join(this.root, `${TRASH_PREFIX}${randomBytes(6).toString('hex')}`);
    try {
      await fs.rename(dir, trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await fs.rm(trash, { recursive: true, force: true });
  }

  async list(): Promise<LayerRecord[]> {
    const out: LayerRecord[] = [];
    for (const name of await fs.readdir(this.root)) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const record = await this.get(`sha256:${name}`);
      if (record) out.push(record);
    }
    return out;
  }
}

/** Disk usage of a tree like `du`: allocated blocks, each inode counted once. */
export async function diskUsage(dir: string): Promise<{ bytes: number; inodes: number }> {
  const seen = new Set<string>();
  let bytes = 0;
  const visit = async (p: string) => {
    const st = await fs.lstat(p);
    const key = `${st.dev}:${st.ino}`;
    if (!seen.has(key)) {
      seen.add(key);
      bytes += st.blocks * 512;
    }
    if (st.isDirectory()) {
      for (const name of await fs.readdir(p)) await visit(path.join(p, name));
    }
  };
  await visit(dir);
  return { bytes, inodes: seen.size };
}
