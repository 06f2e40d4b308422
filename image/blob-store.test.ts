import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { BlobStore } from './blob-store';
import { sha256Digest } from './digest';
import { DigestMismatchError } from './errors';

describe('BlobStore', () => {
  let dir: string;
  let store: BlobStore;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-blobs-'));
    store = new BlobStore(dir);
    await store.init();
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const ingestFiles = () => fs.readdir(path.join(dir, 'ingest'));

  it('stores verified content under its digest', async () => {
    const data = Buffer.from('hello blob');
    const digest = sha256Digest(data);
    await store.put(digest, data.length, () => Readable.from([data.subarray(0, 3), data.subarray(3)]));
    expect(await store.has(digest)).toBe(true);
    expect(await store.read(digest)).toEqual(data);
    expect(await store.list()).toEqual([digest]);
    expect(await ingestFiles()).toEqual([]);
    expect((await store.usage()).inodes).toBe(1);
  });

  it('rejects content whose digest differs and leaves nothing behind', async () => {
    const digest = sha256Digest('expected');
    await expect(store.put(digest, 3, () => Readable.from([Buffer.from('bad')]))).rejects.toThrow(
      DigestMismatchError,
    );
    expect(await store.has(digest)).toBe(false);
    expect(await ingestFiles()).toEqual([]);
  });

  it('stops reading as soon as content grows past its size', async () => {
    const digest = sha256Digest('ab');
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled += 1;
        this.push(Buffer.alloc(1024));
      },
    });
    await expect(store.put(digest, 2, () => endless)).rejects.toThrow('more than the expected 2 bytes');
    expect(pulled).toBeLessThan(64);
    expect(await ingestFiles()).toEqual([]);
  });

  it('rejects a short body', async () => {
    const data = Buffer.from('abc');
    await expect(store.put(sha256Digest(data), 4, () => Readable.from([data]))).rejects.toThrow(
      'got 3 bytes, expected 4',
    );
  });

  it('shares one download between concurrent puts and skips blobs it has', async () => {
    const data = Buffer.from('shared');
    const digest = sha256Digest(data);
    let opened = 0;
    const source = () => {
      opened += 1;
      return Readable.from([data]);
    };
    await Promise.all([store.put(digest, 6, source), store.put(digest, 6, source)]);
    await store.put(digest, 6, source);
    expect(opened).toBe(1);
  });

  it('removes stale ingest files on init', async () => {
    await fs.writeFile(path.join(dir, 'ingest', 'partial'), 'x');
    await new BlobStore(dir).init();
    expect(await ingestFiles()).toEqual([]);
  });
});
