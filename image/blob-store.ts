import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, NotFoundError } from '../common/errors';
import { DigestVerifier, digestHex } from './digest';
import { isSha256Digest } from './reference';

/**
 * Content-addressed storage for manifests, indexes and image configs:
 * `<root>/blobs/sha256/<hex>`. A blob is streamed into `<root>/ingest/`, verified against its
 * digest and size, fsynced, and only then renamed into place, so a path under blobs/ always holds
 * complete, verified content and an interrupted download leaves at most an ingest file that the
 * next start removes. Layers do not pass through here: they are verified while being unpacked
 * straight into the layer store (see layer-store.ts), which saves a second copy on disk.
 */
export class BlobStore {
  private readonly blobDir: string;
  private readonly ingestDir: string;
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(readonly root: string) {
    this.blobDir = path.join(root, 'blobs', 'sha256');
    this.ingestDir = path.join(root, 'ingest');
  }

  /** Creates the directories and drops ingest files left by a crash. */
  async init(): Promise<void> {
    await fs.mkdir(this.blobDir, { recursive: true, mode: 0o700 });
    await fs.rm(this.ingestDir, { recursive: true, force: true });
    await fs.mkdir(this.ingestDir, { recursive: true, mode: 0o700 });
  }

  path(digest: string): string {
    if (!isSha256Digest(digest)) throw new InvalidArgumentError(`invalid digest "${digest}"`);
    return path.join(this.blobDir, digestHex(digest));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await fs.access(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  async read(digest: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.path(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotFoundError(`blob ${digest} not found`);
      throw err;
    }
  }

  /**
   * Stores the content of `source` as `digest`, verifying digest and size while writing. A blob
   * already present is not written again (the source is discarded); two concurrent puts of one
   * digest share the first one's work.
   */
  async put(
    digest: string,
    size: number | undefined,
    source: () => Promise<Readable> | Readable,
  ): Promise<void> {
    const target = this.path(digest);
    const running = this.inflight.get(digest);
    if (running) return running;
    const work = (async () => {
      if (await this.has(digest)) return;
      const tmp = path.join(this.ingestDir, `${digestHex(digest)}-${randomBytes(6).toString('hex')}`);
      // Created before the copy starts, so that a copy failing at once cannot leave a file that
      // an asynchronous open creates after the clean-up below.
      const file = await fs.open(tmp, 'wx', 0o600);
      try {
        const out = file.createWriteStream(); // closes the file when it ends or fails
        await pipeline(await source(), new DigestVerifier(digest, size, `blob ${digest}`), out);
        const handle = await fs.open(tmp, 'r');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await fs.rename(tmp, target);
      } catch (err) {
        await file.close().catch(() => undefined); // the source failed before the stream took it
        await fs.rm(tmp, { force: true });
        throw err;
      }
    })();
    this.inflight.set(digest, work);
    try {
      await work;
    } finally {
      this.inflight.delete(digest);
    }
  }

  /** Stores content already in memory (a manifest we fetched and verified). */
  async putBuffer(digest: string, data: Buffer): Promise<void> {
    await this.put(digest, data.length, () => Readable.from([data]));
  }

  async delete(digest: string): Promise<void> {
    await fs.rm(this.path(digest), { force: true });
  }

  /** Digests of all stored blobs. */
  async list(): Promise<string[]> {
    const names = await fs.readdir(this.blobDir);
    return names.filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  /** Disk bytes and inodes taken by stored blobs. */
  async usage(): Promise<{ bytes: number; inodes: number }> {
    let bytes = 0;
    let inodes = 0;
    for (const digest of await this.list()) {
      try {
        const st = await fs.lstat(this.path(digest));
        bytes += st.blocks * 512;
        inodes += 1;
      } catch {
        // Deleted while we counted.
      }
    }
    return { bytes, inodes };
  }
}
