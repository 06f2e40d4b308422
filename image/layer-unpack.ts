import { constants, promises as fs, type Stats } from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { InvalidArgumentError } from '../common/errors';
import { run } from '../common/exec';
import { decompressor } from './decompress';
import { DigestVerifier } from './digest';
import { UnsafeLayerError } from './errors';
import type { Compression } from './manifest';
import { installRawPaxXattrs, rawXattrValue } from './tar-pax';

/**
 * Unpacks one image layer (a tar changeset, image-spec layer.md) into an empty directory, in a
 * form overlayfs can stack: whiteouts become 0/0 character devices, opaque markers become the
 * `trusted.overlay.opaque` xattr (kernel Documentation/filesystems/overlayfs.rst).
 *
 * Safety. The layer comes from a registry and may be hostile. Nothing an entry does may create,
 * change or even chmod anything outside the layer directory:
 * - names are relative: an absolute name or a `..` component fails the layer;
 * - every parent directory is resolved component by component with lstat, never letting the
 *   kernel follow a link: a symlink in the parent chain is followed by hand only when its target
 *   is relative and stays below the layer root (an archive may say `lib -> usr/lib` and then
 *   `lib/x`); an absolute or escaping target fails the layer;
 * - the last component is never followed: files are created with O_EXCL|O_NOFOLLOW, links,
 *   symlinks and nodes are created after removing whatever was there, metadata is applied with
 *   lchown/lutimes/`setfattr -h`;
 * - a directory entry that lands on an existing symlink fails the layer (the classic "replace the
 *   symlink by a directory and write through it" trick);
 * - a hard link's target is resolved by the same rules and must be an existing non-directory
 *   inside the layer.
 * The caller unpacks into a fresh temp directory and deletes it on any failure.
 */

// Node has no mknod(2) or setxattr(2); coreutils' mknod and attr's setfattr do the one syscall.
const MKNOD = '/usr/bin/mknod';
const SETFATTR = '/usr/bin/setfattr';
const MAX_SYMLINK_HOPS = 40; // Linux's MAXSYMLINKS

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_WHITEOUT = '.wh..wh..opq';
const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';
const PAX_XATTR_PREFIX = 'SCHILY.xattr.';
/** Files whose metadata calls may still be running while later entries are unpacked. */
const MAX_PENDING_FILES = 64;

export interface UnpackOptions {
  compression: Compression;
  /** sha256 of the uncompressed tar: the layer's diff ID, checked while unpacking. */
  diffID: string;
  /** Digest and size of the blob as sent, checked while unpacking. */
  blob?: { digest: string; size: number };
  /** Told about each compressed byte count as it arrives. */
  onBytes?: (n: number) => void;
  /** Told about anything applied less than fully (an xattr value that tar could not carry). */
  warn?: (message: string) => void;
}

export interface UnpackResult {
  entries: number;
}

/** Unpacks a layer blob stream into `dir`, which must exist and be empty. */
export async function unpackLayer(
  source: Readable,
  dir: string,
  options: UnpackOptions,
): Promise<UnpackResult> {
  installRawPaxXattrs();
  const writer = new LayerWriter(dir, options.warn ?? (() => undefined));
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    // When the pipeline fails, tar-stream destroys the entry stream with the error; the pipeline
    // reports it, so it must not also surface as an unhandled 'error' event.
    stream.on('error', () => undefined);
    writer.write(header as Header, stream as unknown as Readable).then(
      () => next(),
      (err: unknown) => {
        stream.resume();
        next(err as Error);
      },
    );
  });
  const received: Stage[] = options.onBytes ? [new ByteCounter(options.onBytes)] : [];
  const unpacking: Stage[] = [
    decompressor(options.compression),
    new DigestVerifier(options.diffID, undefined, `layer ${options.diffID} (uncompressed)`),
    // tar-stream's extractor is a streamx Writable, which pipeline drives like a Node one.
    extract as unknown as NodeJS.WritableStream,
  ];
  try {
    if (options.blob) await unpackVerifiedBlob(source, options.blob, received, unpacking);
    else await pipeline([source, ...received, ...unpacking]);
  } catch (err) {
    // Deferred work holds descriptors: let it end before the caller removes the directory.
    await writer.settle().catch(() => undefined);
    // zlib's errors carry codes like Z_DATA_ERROR and a bare message ("invalid block type").
    if (String((err as NodeJS.ErrnoException).code).startsWith('Z_'))
      throw new InvalidArgumentError(`gzip layer is corrupt: ${(err as Error).message}`, { cause: err });
    throw err;
  }
  await writer.finish();
  return { entries: writer.entries };
}

type Stage = NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream;

/**
 * Runs the blob through its digest check into the unpacking stages. Corrupt bytes usually make
 * gunzip (or tar) fail long before the blob's digest is known; the blob is then still read to
 * its end (the verifier bounds it by its size) so that a blob that does not match its digest is
 * reported as such (image-spec descriptor.md, "Digests"), not as whatever its bytes made the
 * decompressor say. A hostile entry ends the download at once: the blob's digest changes
 * nothing there.
 */
async function unpackVerifiedBlob(
  source: Readable,
  blob: { digest: string; size: number },
  received: Stage[],
  unpacking: Stage[],
): Promise<void> {
  const head = new PassThrough();
  const feeder = new Feeder(head);
  const verifier = new DigestVerifier(blob.digest, blob.size, `layer blob ${blob.digest}`);
  const fetched = pipeline([source, verifier, ...received, feeder]);
  const unpacked = pipeline([head, ...unpacking]);
  fetched.catch((err: unknown) => head.destroy(err as Error));
  unpacked.catch((err: unknown) => {
    if (err instanceof UnsafeLayerError) source.destroy();
    feeder.stop();
  });
  const [fetchResult, unpackResult] = await Promise.allSettled([fetched, unpacked]);
  if (unpackResult.status === 'rejected' && unpackResult.reason instanceof UnsafeLayerError)
    throw unpackResult.reason;
  if (fetchResult.status === 'rejected') throw fetchResult.reason;
  if (unpackResult.status === 'rejected') throw unpackResult.reason;
}

/** Writes into `into` with its backpressure; once stopped, takes and drops the rest. */
class Feeder extends Writable {
  private stopped = false;
  private blocked?: () => void;

  constructor(private readonly into: Writable) {
    super();
    into.on('drain', () => this.unblock());
  }

  stop(): void {
    this.stopped = true;
    this.unblock();
  }

  private unblock(): void {
    const callback = this.blocked;
    this.blocked = undefined;
    callback?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.stopped || this.into.write(chunk)) callback();
    else this.blocked = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.stopped) this.into.end();
    callback();
  }
}

class ByteCounter extends Transform {
  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.onBytes(chunk.length);
    callback(null, chunk);
  }
}

/** Splits an entry name into components; refuses absolute names and `..`. */
export function entryComponents(name: string, what = `entry "${name}"`): string[] {
  if (name.includes('\0')) throw new UnsafeLayerError(`${what}: NUL in name`);
  if (name.startsWith('/')) throw new UnsafeLayerError(`${what}: absolute path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeLayerError(`${what}: ".." in path`);
  return parts;
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

type Header = Omit<tar.Header, 'pax'> & { pax?: Record<string, string> | null };

class LayerWriter {
  entries = 0;
  /** Directory times are set last: creating children changes a directory's mtime. */
  private readonly dirTimes: Array<{ path: string; atime: number; mtime: number }> = [];
  /** Resolved real paths of parent directories, by component path; cleared on any removal. */
  private readonly resolved = new Map<string, string>();
  private readonly pending = new Set<Promise<void>>();
  private deferredError: unknown;

  constructor(
    private readonly root: string,
    private readonly warn: (message: string) => void,
  ) {}

  async write(header: Header, stream: Readable): Promise<void> {
    this.entries += 1;
    const name = header.name;
    const components = entryComponents(name);
    if (header.type !== 'file' && header.type !== 'contiguous-file') stream.resume();

    if (components.length === 0) {
      // "./": the layer root itself; only its metadata can change.
      if (header.type !== 'directory')
        throw new UnsafeLayerError(`entry "${name}": a ${header.type} at the layer root`);
      await this.applyMetadata(this.root, header, false);
      return;
    }
    const base = components[components.length - 1];
    const parent = await this.resolveDir(components.slice(0, -1), name, true);

    if (base.startsWith(WHITEOUT_PREFIX)) {
      await this.whiteout(parent, base, name);
      return;
    }
    const target = path.join(parent, base);
    if (header.type === 'file' || header.type === 'contiguous-file') {
      // Most entries of a layer are new files: create first, look only when the name is taken.
      await this.writeFile(target, header, stream);
      return;
    }
    const existing = await lstatOrUndefined(target);

    switch (header.type) {
      case 'directory':
        if (existing?.isSymbolicLink()) {
          throw new UnsafeLayerError(`entry "${name}": a directory would replace a symlink`);
        }
        if (existing && !existing.isDirectory()) await this.remove(target);
        if (!existing?.isDirectory()) await fs.mkdir(target, { mode: 0o700 });
        await this.applyMetadata(target, header, false);
        return;
      case 'symlink':
        if (existing) await this.remove(target);
        if (!header.linkname) throw new InvalidArgumentError(`entry "${name}": symlink without target`);
        await fs.symlink(header.linkname, target);
        await this.applyMetadata(target, header, true);
        return;
      case 'link':
        await this.hardlink(target, existing, header, name);
        return;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        if (existing) await this.remove(target);
        await this.mknod(target, header);
        await this.applyMetadata(target, header, false);
        return;
      default:
        throw new InvalidArgumentError(`entry "${name}": unsupported tar entry type ${String(header.type)}`);
    }
  }

  /** Applies directory times, deepest first, once every entry is in place. */
  async finish(): Promise<void> {
    await this.settle();
    for (const d of this.dirTimes.reverse()) await fs.utimes(d.path, d.atime, d.mtime);
  }

  /**
   * Resolves parent components to a real directory under the root without letting the kernel
   * follow any link, creating missing directories when `create` (tar archives need not list
   * parents). See the safety notes at the top of this file.
   */
  private async resolveDir(components: string[], entry: string, create: boolean): Promise<string> {
    const key = components.join('/');
    const known = this.resolved.get(key);
    if (known !== undefined) return known;
    const real: string[] = [];
    const pending = [...components];
    let hops = 0;
    while (pending.length > 0) {
      const c = pending.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (real.length === 0)
          throw new UnsafeLayerError(`entry "${entry}": path leaves the layer through a symlink`);
        real.pop();
        continue;
      }
      const candidate = path.join(this.root, ...real, c);
      const st = await lstatOrUndefined(candidate);
      if (!st) {
        if (!create)
          throw new InvalidArgumentError(`entry "${entry}": "${[...real, c].join('/')}" does not exist`);
        await fs.mkdir(candidate, { mode: 0o755 });
        real.push(c);
      } else if (st.isDirectory()) {
        real.push(c);
      } else if (st.isSymbolicLink()) {
        hops += 1;
        if (hops > MAX_SYMLINK_HOPS)
          throw new UnsafeLayerError(`entry "${entry}": too many levels of symlinks`);
        const target = await fs.readlink(candidate);
        if (target.startsWith('/')) {
          throw new UnsafeLayerError(
            `entry "${entry}": parent "${[...real, c].join('/')}" is a symlink to absolute path "${target}"`,
          );
        }
        pending.unshift(...target.split('/'));
      } else {
        throw new InvalidArgumentError(`entry "${entry}": "${[...real, c].join('/')}" is not a directory`);
      }
    }
    const result = path.join(this.root, ...real);
    this.resolved.set(key, result);
    return result;
  }

  private async remove(target: string): Promise<void> {
    this.resolved.clear();
    await fs.rm(target, { recursive: true, force: true });
  }

  private async whiteout(parent: string, base: string, entry: string): Promise<void> {
    if (base === OPAQUE_WHITEOUT) {
      // The directory hides everything below it in lower layers (image-spec layer.md, "Opaque Whiteout").
      await setXattr(parent, OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
      return;
    }
    // Other `.wh..wh.` names are AUFS bookkeeping (hard link dir `.wh..wh.plnk`): nothing to do.
    if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return;
    const hidden = base.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') {
      throw new UnsafeLayerError(`entry "${entry}": whiteout without a valid name`);
    }
    const target = path.join(parent, hidden);
    if (await lstatOrUndefined(target)) await this.remove(target);
    await execTool(MKNOD, ['-m', '0', target, 'c', '0', '0'], entry);
  }

  /** Writes a regular file, replacing whatever the name held (O_EXCL never follows a symlink). */
  private async writeFile(target: string, header: Header, stream: Readable): Promise<void> {
    const create = () =>
      fs.open(
        target,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
    let handle: fs.FileHandle;
    try {
      handle = await create();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      await this.remove(target);
      handle = await create();
    }
    const finalize = async () => {
      try {
        // Owner before mode: chown clears setuid/setgid bits. All through the descriptor, so a
        // later entry that replaces this path cannot redirect them.
        await handle.chown(paxInt(header, 'uid') ?? header.uid, paxInt(header, 'gid') ?? header.gid);
        await handle.chmod(header.mode & 0o7777);
        const { atime, mtime } = times(header);
        await handle.utimes(atime, mtime);
      } finally {
        await handle.close();
      }
    };
    try {
      for await (const chunk of stream) await handle.write(chunk as Buffer);
    } catch (err) {
      await handle.close();
      throw err;
    }
    if (hasXattrs(header)) {
      // xattrs go on after chown (which drops security.capability); setxattr leaves mtime alone.
      await finalize();
      await this.applyXattrs(target, header);
      return;
    }
    // The metadata calls of small files dominate unpack time; let them run while the next
    // entries are read, a bounded number at a time. finish() waits for all of them.
    await this.defer(finalize());
  }

  private async defer(work: Promise<void>): Promise<void> {
    const tracked: Promise<void> = work.then(
      () => {
        this.pending.delete(tracked);
      },
      (err: unknown) => {
        this.pending.delete(tracked);
        this.deferredError ??= err;
      },
    );
    this.pending.add(tracked);
    if (this.pending.size >= MAX_PENDING_FILES) await Promise.race(this.pending);
    if (this.deferredError !== undefined) throw this.deferredError;
  }

  /** Waits for deferred file metadata work; throws its first error. Safe to call on failure. */
  async settle(): Promise<void> {
    await Promise.all(this.pending);
    if (this.deferredError !== undefined) throw this.deferredError;
  }

  private async hardlink(
    target: string,
    existing: Stats | undefined,
    header: Header,
    entry: string,
  ): Promise<void> {
    const linkComponents = entryComponents(
      header.linkname ?? '',
      `entry "${entry}": hard link target "${header.linkname}"`,
    );
    if (linkComponents.length === 0)
      throw new UnsafeLayerError(`entry "${entry}": hard link to the layer root`);
    const linkParent = await this.resolveDir(linkComponents.slice(0, -1), entry, false);
    const source = path.join(linkParent, linkComponents[linkComponents.length - 1]);
    const st = await lstatOrUndefined(source);
    if (!st)
      throw new InvalidArgumentError(
        `entry "${entry}": hard link target "${header.linkname}" does not exist`,
      );
    if (st.isDirectory()) throw new UnsafeLayerError(`entry "${entry}": hard link to a directory`);
    if (existing) {
      if (existing.ino === st.ino && existing.dev === st.dev) return;
      await this.remove(target);
    }
    // link(2) does not follow a symlink source: a link to a symlink is a second symlink inode
    // name, never the file it points at.
    await fs.link(source, target);
  }

  private async mknod(target: string, header: Header): Promise<void> {
    const mode = (header.mode & 0o7777).toString(8);
    const args =
      header.type === 'fifo'
        ? ['-m', mode, target, 'p']
        : [
            '-m',
            mode,
            target,
            header.type === 'block-device' ? 'b' : 'c',
            String(header.devmajor ?? 0),
            String(header.devminor ?? 0),
          ];
    await execTool(MKNOD, args, header.name);
  }

  private async applyMetadata(target: string, header: Header, isSymlink: boolean): Promise<void> {
    // Owner before mode: chown clears setuid/setgid bits.
    await fs.lchown(target, paxInt(header, 'uid') ?? header.uid, paxInt(header, 'gid') ?? header.gid);
    if (!isSymlink) await fs.chmod(target, header.mode & 0o7777);
    await this.applyXattrs(target, header);
    const { atime, mtime } = times(header);
    if (header.type === 'directory') this.dirTimes.push({ path: target, atime, mtime });
    else await fs.lutimes(target, atime, mtime);
  }

  private async applyXattrs(target: string, header: Header): Promise<void> {
    for (const [key, value] of Object.entries(header.pax ?? {})) {
      if (!key.startsWith(PAX_XATTR_PREFIX)) continue;
      const name = key.slice(PAX_XATTR_PREFIX.length);
      const raw = rawXattrValue(header.pax, key);
      // Without the raw bytes (see tar-pax.ts), a value that was not valid UTF-8 cannot be
      // restored byte for byte: skip it rather than set it wrong.
      if (!raw && value.includes('\uFFFD')) {
        this.warn(
          `entry "${header.name}": xattr ${name} has a binary value that was lost in decoding; skipped`,
        );
        continue;
      }
      await setXattr(target, name, raw ?? Buffer.from(value, 'utf8'));
    }
  }
}

function hasXattrs(header: Header): boolean {
  return Object.keys(header.pax ?? {}).some((k) => k.startsWith(PAX_XATTR_PREFIX));
}

function paxInt(header: Header, key: string): number | undefined {
  const v = header.pax?.[key];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** Entry times in seconds, with the PAX sub-second precision when present. */
function times(header: Header): { atime: number; mtime: number } {
  const paxTime = (key: string) => {
    const v = header.pax?.[key];
    return v !== undefined && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
  };
  const mtime = paxTime('mtime') ?? (header.mtime ? header.mtime.getTime() / 1000 : 0);
  return { atime: paxTime('atime') ?? mtime, mtime };
}

async function setXattr(target: string, name: string, value: Buffer): Promise<void> {
  // -h: never dereference; 0s prefix: base64, so any byte survives the command line.
  await execTool(SETFATTR, ['-h', '-n', name, '-v', '0s' + value.toString('base64'), target], target);
}

async function execTool(binary: string, args: string[], entry: string): Promise<void> {
  try {
    await run(binary, args);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new InvalidArgumentError(
      `entry "${entry}": ${path.basename(binary)} failed: ${(e.stderr || e.message).trim()}`,
    );
  }
}
