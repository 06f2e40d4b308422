import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../common/atomic-file';
import type { Readable } from 'node:stream';
import {
  BerthError,
  CancelledError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
} from '../common/errors';
import type { AuthConfig } from './auth';
import { BlobStore } from './blob-store';
import { digestHex } from './digest';
import { LayerStore } from './layer-store';
import {
  hostPlatform,
  parseImageConfig,
  parseManifest,
  selectPlatform,
  type ImageConfig,
  type ImageManifest,
  type Platform,
} from './manifest';
import { MirrorResolver, type Endpoint, type RegistryConfig } from './mirrors';
import {
  formatReference,
  isSha256Digest,
  manifestReference,
  parseReference,
  repositoryName,
  type ImageReference,
} from './reference';
import type { RegistryClient, RegistryClientOptions } from './registry-client';

/**
 * The image manager behind the CRI ImageService: pulls (with mirrors, auth, verification,
 * de-duplication of concurrent pulls and shared layers), image records, lookups by ID, tag or
 * digest, removal with garbage collection of layers and blobs, and usage for ImageFsInfo.
 *
 * On disk under `root`:
 *   images/<id hex>.json   one record per image (written atomically)
 *   blobs/sha256/<hex>     manifests, indexes and configs (blob-store.ts)
 *   layers/<diffID hex>/   unpacked layers shared by all images (layer-store.ts)
 * An image is visible once its record is written, which happens after all of its layers are in
 * place, so a failed pull never leaves an image that looks usable.
 */

/** The minimal logger the module needs; winston's Logger fits. */
export interface ImageLogger {
  debug(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface ImageStoreOptions {
  /** The store's directory, e.g. `/var/lib/berth/images`. */
  root: string;
  logger?: ImageLogger;
  /** Registries with their mirrors and insecure flags. */
  registries?: RegistryConfig[];
  /** Image names never to be garbage collected by the kubelet (exact, or a prefix ending in `*`). */
  pinnedImages?: string[];
  /** Platform to pick from multi-platform images; default: the host's. */
  platform?: Platform;
  /** Whether a container uses the image: such an image cannot be removed. */
  inUse?: (imageId: string) => boolean | Promise<boolean>;
  /** Layers downloaded at once per pull. */
  maxConcurrentDownloads?: number;
  client?: RegistryClientOptions;
  /** How often a running pull logs its progress. */
  progressIntervalMs?: number;
}

interface LayerRef {
  diffID: string;
  digest: string;
  size: number;
  mediaType: string;
}

/** An image record, versioned for future migrations. */
export interface ImageRecord {
  version: 1;
  /** The config digest, `sha256:<hex>`: the CRI image ID. */
  id: string;
  /** `docker.io/library/busybox:latest`, ... */
  repoTags: string[];
  /** `docker.io/library/busybox@sha256:...` (digest of the manifest or index that was pulled). */
  repoDigests: string[];
  /** The platform manifest the image was unpacked from. */
  manifestDigest: string;
  /** Compressed layers plus config, as in the registry (what containerd reports). */
  size: number;
  /** From the config's User: a numeric user becomes uid, a name becomes username. */
  uid?: number;
  username: string;
  /** Bottom layer first. */
  layers: LayerRef[];
  pulledAt: string;
}

export interface Image extends ImageRecord {
  pinned: boolean;
}

export interface ImageFsUsage {
  mountpoint: string;
  usedBytes: number;
  inodesUsed: number;
}

// Configs are parsed in memory; real ones are kilobytes. Refuse what would only exhaust memory.
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

const LAYER_ATTEMPTS = 3;
const LAYER_RETRY_DELAY_MS = 500;
// Errors of a connection, not of content: worth another try.
const TRANSIENT_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

function isTransientNetworkError(err: unknown): boolean {
  if (err instanceof UnavailableError) return true;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

const fullIdRe = /^(?:sha256:)?([0-9a-f]{64})$/;
const shortIdRe = /^[0-9a-f]{4,63}$/;

class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

const nullLogger: ImageLogger = { debug: () => 0, info: () => 0, warn: () => 0, error: () => 0 };

export class ImageStore {
  readonly blobs: BlobStore;
  readonly layers: LayerStore;
  private readonly recordDir: string;
  /** Made on the first pull (see registryClient). */
  private client?: RegistryClient;
  private mirrors: MirrorResolver;
  private readonly log: ImageLogger;
  private readonly platform: Platform;
  private readonly records = new Map<string, ImageRecord>();
  /** Pulls in flight by reference and credentials: their work, and how many callers still wait. */
  private readonly pulls = new Map<
    string,
    { work: Promise<Image>; controller: AbortController; waiting: number }
  >();
  /** Digests (layers, blobs) an unfinished pull relies on; garbage collection skips them. */
  private readonly leases = new Map<string, number>();
  private readonly lock = new Mutex();
  private closing = false;

  constructor(private readonly options: ImageStoreOptions) {
    this.blobs = new BlobStore(options.root);
    this.layers = new LayerStore(path.join(options.root, 'layers'));
    this.recordDir = path.join(options.root, 'images');
    this.mirrors = new MirrorResolver(options.registries);
    this.log = options.logger ?? nullLogger;
    this.platform = options.platform ?? hostPlatform();
  }

  /** Creates the directories, cleans up after a crash and loads the image records. */
  async init(): Promise<void> {
    await fs.mkdir(this.recordDir, { recursive: true, mode: 0o700 });
    await this.blobs.init();
    await this.layers.init();
    for (const name of await fs.readdir(this.recordDir)) {
      if (!/^[0-9a-f]{64}\.json$/.test(name)) {
        if (name.endsWith('.tmp')) await fs.rm(path.join(this.recordDir, name), { force: true });
        continue;
      }
      try {
        const record = await readJsonIfExists<ImageRecord>(path.join(this.recordDir, name));
        if (record?.version === 1) this.records.set(record.id, record);
        else this.log.warn('ignoring image record of unknown version', { file: name });
      } catch (err) {
        this.log.error('ignoring unreadable image record', { file: name, error: (err as Error).message });
      }
    }
    await this.reconcile();
  }

  /**
   * Makes records and disk agree after a crash or a hand edit: an image whose config or layers
   * are missing is dropped (the kubelet pulls it again), and layers and blobs no image needs
   * (a pull that died between unpacking and recording) are deleted.
   */
  private async reconcile(): Promise<void> {
    const layers = new Set((await this.layers.list()).map((l) => l.diffID));
    for (const record of [...this.records.values()]) {
      const missing = record.layers.filter((l) => !layers.has(l.diffID)).map((l) => l.diffID);
      if (!(await this.blobs.has(record.id))) missing.push(record.id);
      if (missing.length === 0) continue;
      this.log.error('dropping image whose content is missing; it will be pulled again', {
        id: record.id,
        repoTags: record.repoTags,
        missing,
      });
      await fs.rm(this.recordPath(record.id), { force: true });
      this.records.delete(record.id);
    }
    await this.lock.run(() => this.collectGarbage());
  }

  /**
   * Stops: downloads in flight are aborted (their pulls fail and clean up after themselves, the
   * kubelet pulls again after a restart), then waits for those pulls to end. Safe to call twice.
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.client?.destroy();
    await Promise.allSettled([...this.pulls.values()].map((p) => p.work));
  }

  /** New registry settings (a reloaded config) for the pulls that start from now on. */
  setRegistries(registries: RegistryConfig[]): void {
    this.mirrors = new MirrorResolver(registries);
  }

  /**
   * Pulls an image and returns it. Concurrent pulls of the same reference (and credentials)
   * share one pull; pulls of different images share the layers they have in common. A caller
   * whose `signal` aborts (the client cancelled, or its deadline passed) stops waiting at once;
   * the pull itself stops when no caller waits for it any more, and leaves nothing behind.
   */
  async pull(image: string, auth?: AuthConfig, signal?: AbortSignal): Promise<Image> {
    signal?.throwIfAborted();
    const ref = parseReference(image);
    const key = `${formatReference(ref)}|${JSON.stringify(auth ?? {})}`;
    let pull = this.pulls.get(key);
    if (pull) {
      this.log.debug('joining a pull already running', { image: formatReference(ref) });
    } else {
      const controller = new AbortController();
      const work = this.doPull(ref, auth, controller.signal).catch(async (err: unknown) => {
        // Layers this pull unpacked are complete and verified, but no image needs them now: a
        // failed pull leaves nothing behind (the pull's leases are released by now).
        await this.lock
          .run(() => this.collectGarbage())
          .catch((gcErr: unknown) =>
            this.log.error('cleanup after a failed pull failed', { error: (gcErr as Error).message }),
          );
        throw err;
      });
      const entry = { work, controller, waiting: 0 };
      pull = entry;
      this.pulls.set(key, entry);
      void work.then(
        () => this.pulls.delete(key),
        () => this.pulls.delete(key),
      );
    }
    const joined = pull;
    joined.waiting += 1;
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      joined.waiting -= 1;
    };
    try {
      if (!signal) return await joined.work;
      return await new Promise<Image>((resolve, reject) => {
        const onAbort = (): void => {
          leave();
          if (joined.waiting === 0) {
            this.log.info('pull cancelled: no caller waits for it', { image: formatReference(ref) });
            joined.controller.abort(new CancelledError(`pull of ${formatReference(ref)} cancelled`));
          }
          reject(signal.reason as Error);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        joined.work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
      });
    } finally {
      leave();
    }
  }

  /** The image a reference (ID, unique ID prefix, name:tag, name@digest) names, if any. */
  status(image: string): Image | undefined {
    const found = this.find(image);
    return found ? this.present(found.record) : undefined;
  }

  /** The verbose info of ImageStatus: the image config and manifest, as JSON. */
  async info(image: string): Promise<Record<string, string>> {
    const found = this.find(image);
    if (!found) return {};
    const record = found.record;
    const config = JSON.parse((await this.blobs.read(record.id)).toString('utf8')) as unknown;
    return {
      info: JSON.stringify({
        imageSpec: config,
        manifestDigest: record.manifestDigest,
        layers: record.layers,
        pulledAt: record.pulledAt,
      }),
    };
  }

  /** The image config (Env, Cmd, User, ...) for building a container spec. */
  async config(image: string): Promise<ImageConfig> {
    const record = this.require(image);
    return JSON.parse((await this.blobs.read(record.id)).toString('utf8')) as ImageConfig;
  }

  /** The unpacked layer directories of an image, top layer first (overlay lowerdir order). */
  layerDirs(image: string): string[] {
    const record = this.require(image);
    return record.layers.map((l) => this.layers.diffPath(l.diffID)).reverse();
  }

  /**
   * Holds an image while a container is being created from it: until `release` is called, the
   * image cannot be removed and its layers are not collected. This closes the window between
   * looking the image up and the container record that `inUse` then sees.
   */
  hold(image: string): { image: Image; release: () => void } {
    const record = this.require(image);
    const digests = [record.id, ...record.layers.map((l) => l.diffID)];
    this.lease(digests, +1);
    let released = false;
    return {
      image: this.present(record),
      release: () => {
        if (released) return;
        released = true;
        this.lease(digests, -1);
      },
    };
  }

  /** All images, or those a filter reference names (CRI ImageFilter). */
  list(filter?: string): Image[] {
    if (filter) {
      const found = this.find(filter);
      return found ? [this.present(found.record)] : [];
    }
    return [...this.records.values()].map((r) => this.present(r));
  }

  /**
   * Removes an image. By tag, when the image has other tags, only that tag goes (as CRI-O
   * does); otherwise the image goes, refused while a container uses it, and the layers and blobs
   * no other image needs are deleted. Removing a missing image succeeds: the CRI contract says
   * RemoveImage is idempotent.
   */
  async remove(image: string): Promise<void> {
    await this.lock.run(async () => {
      const found = this.find(image);
      if (!found) return;
      const { record, tag } = found;
      if (tag !== undefined && record.repoTags.length > 1) {
        await this.save({ ...record, repoTags: record.repoTags.filter((t) => t !== tag) });
        this.log.info('untagged image', { image: tag, id: record.id });
        return;
      }
      if (this.leases.has(record.id) || (await this.options.inUse?.(record.id))) {
        throw new FailedPreconditionError(`image ${image} (${record.id}) is in use by a container`);
      }
      await fs.rm(this.recordPath(record.id), { force: true });
      this.records.delete(record.id);
      this.log.info('removed image', { image, id: record.id });
      await this.collectGarbage();
    });
  }

  /** Bytes and inodes used by the store (ImageFsInfo), from records kept at unpack time. */
  async usage(): Promise<ImageFsUsage> {
    let usedBytes = 0;
    let inodesUsed = 0;
    for (const layer of await this.layers.list()) {
      usedBytes += layer.bytes;
      inodesUsed += layer.inodes;
    }
    const blobs = await this.blobs.usage();
    usedBytes += blobs.bytes;
    inodesUsed += blobs.inodes + this.records.size;
    return { mountpoint: this.options.root, usedBytes, inodesUsed };
  }

  /**
   * The registry client, loaded with its modules (undici and its HTTP parser) on the first pull:
   * they are 5 MiB of the daemon's heap, and a node that has its images may not pull again for
   * days.
   */
  private registryClient(): RegistryClient {
    if (!this.client) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
      const { RegistryClient } = require('./registry-client') as typeof import('./registry-client');
      this.client = new RegistryClient(this.options.client);
    }
    return this.client;
  }

  private async doPull(
    ref: ImageReference,
    auth: AuthConfig | undefined,
    signal: AbortSignal,
  ): Promise<Image> {
    const client = this.registryClient();
    const name = formatReference(ref);
    const started = Date.now();
    this.log.info('pulling image', { image: name });
    const endpoints = this.mirrors.endpoints(ref);
    const authFor = (ep: Endpoint) =>
      ep.mirror && !sameRegistry(auth?.server_address, ep.host) ? undefined : auth;

    // The manifest decides which endpoint serves the rest: the first that has it.
    const { value: top, endpoint } = await this.firstAnswer(endpoints, name, signal, (ep) =>
      client.getManifest(ep, manifestReference(ref), authFor(ep), signal),
    );
    const ordered = [endpoint, ...endpoints.filter((e) => e !== endpoint)];
    const fromAny = <T>(what: string, fn: (ep: Endpoint) => Promise<T>) =>
      this.firstAnswer(ordered, what, signal, fn).then((r) => r.value);

    let manifestDoc = parseManifest(top.body, top.contentType);
    let manifestDigest = top.digest;
    let manifestBody = top.body;
    if (manifestDoc.kind === 'index') {
      const chosen = selectPlatform(manifestDoc, this.platform);
      const fetched = await fromAny(`manifest ${chosen.digest}`, (ep) =>
        client.getManifest(ep, chosen.digest, authFor(ep), signal),
      );
      manifestDoc = parseManifest(fetched.body, fetched.contentType);
      if (manifestDoc.kind !== 'manifest') {
        throw new InvalidArgumentError(`${name}: index entry ${chosen.digest} is not an image manifest`);
      }
      manifestDigest = fetched.digest;
      manifestBody = fetched.body;
    }
    const manifest: ImageManifest = manifestDoc;
    if (manifest.config.size > MAX_CONFIG_BYTES) {
      throw new InvalidArgumentError(
        `${name}: image config of ${manifest.config.size} bytes is larger than ${MAX_CONFIG_BYTES}`,
      );
    }
    const leased = [top.digest, manifestDigest, manifest.config.digest];
    this.lease(leased, +1);
    let layerRefs: LayerRef[] = [];
    const progress = { done: 0, total: manifest.layers.reduce((n, l) => n + l.size, 0), layersNew: 0 };
    const ticker = setInterval(
      () => this.log.info('pull progress', { image: name, bytes: progress.done, total: progress.total }),
      this.options.progressIntervalMs ?? 10_000,
    );
    try {
      await this.blobs.putBuffer(top.digest, top.body);
      await this.blobs.putBuffer(manifestDigest, manifestBody);
      await this.blobs.put(manifest.config.digest, manifest.config.size, () =>
        fromAny(`config ${manifest.config.digest}`, (ep) =>
          client.openBlob(ep, manifest.config.digest, authFor(ep), signal),
        ),
      );
      const config = parseImageConfig(await this.blobs.read(manifest.config.digest), manifest.layers.length);
      layerRefs = manifest.layers.map((l, i) => ({
        diffID: config.rootfs.diff_ids[i],
        digest: l.digest,
        size: l.size,
        mediaType: l.mediaType,
      }));
      this.lease(
        layerRefs.map((l) => l.diffID),
        +1,
      );
      await mapLimit(manifest.layers, this.options.maxConcurrentDownloads ?? 3, async (layer, i) => {
        const diffID = layerRefs[i].diffID;
        const created = await this.ensureLayer(name, layer, diffID, progress, signal, () =>
          fromAny(`layer ${layer.digest}`, (ep) => client.openBlob(ep, layer.digest, authFor(ep), signal)),
        );
        if (created) progress.layersNew += 1;
        else progress.done += layer.size;
      });

      const user = userOf(config);
      const image = await this.lock.run(async () => {
        const repoTag = ref.tag !== undefined ? `${repositoryName(ref)}:${ref.tag}` : undefined;
        const repoDigest = `${repositoryName(ref)}@${top.digest}`;
        // A tag names one image: it moves from any image that had it (which stays, untagged).
        if (repoTag) {
          for (const other of this.records.values()) {
            if (other.id !== manifest.config.digest && other.repoTags.includes(repoTag)) {
              await this.save({ ...other, repoTags: other.repoTags.filter((t) => t !== repoTag) });
            }
          }
        }
        const existing = this.records.get(manifest.config.digest);
        const record: ImageRecord = {
          version: 1,
          id: manifest.config.digest,
          repoTags: union(existing?.repoTags, repoTag),
          repoDigests: union(existing?.repoDigests, repoDigest),
          manifestDigest,
          size: manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
          ...user,
          layers: layerRefs,
          pulledAt: new Date().toISOString(),
        };
        await this.save(record);
        return this.present(record);
      });
      const seconds = (Date.now() - started) / 1000;
      this.log.info('pulled image', {
        image: name,
        id: image.id,
        layers: manifest.layers.length,
        layersDownloaded: progress.layersNew,
        bytes: progress.total,
        seconds,
        mbPerSecond: round(progress.total / 1e6 / Math.max(seconds, 0.001)),
      });
      return image;
    } catch (err) {
      this.log.warn('pull failed', {
        image: name,
        error: (err as Error).message,
        seconds: (Date.now() - started) / 1000,
      });
      throw err;
    } finally {
      clearInterval(ticker);
      this.lease(
        layerRefs.map((l) => l.diffID),
        -1,
      );
      this.lease(leased, -1);
    }
  }

  /**
   * Unpacks a layer unless it is there already; returns whether this call unpacked it. A download
   * that breaks off (connection reset, body timeout, registry unavailable) is tried again from
   * the start, into a fresh directory, up to LAYER_ATTEMPTS times; content errors are not.
   */
  private async ensureLayer(
    image: string,
    layer: ImageManifest['layers'][number],
    diffID: string,
    progress: { done: number },
    signal: AbortSignal,
    open: () => Promise<Readable>,
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt += 1) {
      let bytes = 0;
      try {
        const { created } = await this.layers.ensure(diffID, async (dir) => {
          const t0 = Date.now();
          const { entries } = await unpackLayer()(await open(), dir, {
            compression: layer.compression,
            diffID,
            blob: { digest: layer.digest, size: layer.size },
            onBytes: (n) => {
              bytes += n;
              progress.done += n;
            },
            warn: (message) => this.log.warn(message, { image, layer: layer.digest }),
          });
          const seconds = (Date.now() - t0) / 1000;
          this.log.debug('layer unpacked', {
            image,
            layer: layer.digest,
            diffID,
            bytes: layer.size,
            entries,
            seconds,
            mbPerSecond: round(layer.size / 1e6 / Math.max(seconds, 0.001)),
          });
        });
        return created;
      } catch (err) {
        progress.done -= bytes;
        if (signal.aborted) throw signal.reason;
        const transient = isTransientNetworkError(err);
        if (transient && attempt < LAYER_ATTEMPTS && !this.closing) {
          this.log.warn('layer download failed, trying again', {
            image,
            layer: layer.digest,
            attempt,
            error: (err as Error).message,
          });
          await new Promise((r) => setTimeout(r, attempt * LAYER_RETRY_DELAY_MS));
          continue;
        }
        // Say which image and layer; keep the error's class (its gRPC status), except that a
        // broken connection is the registry being unavailable.
        const message = `${image}: layer ${layer.digest}: ${(err as Error).message}`;
        if (transient && !(err instanceof BerthError)) throw new UnavailableError(message, { cause: err });
        if (err instanceof Error) err.message = message;
        throw err;
      }
    }
  }

  /** Tries endpoints in order; returns the first answer, or throws the registry's own error. */
  private async firstAnswer<T>(
    endpoints: Endpoint[],
    what: string,
    signal: AbortSignal,
    fn: (ep: Endpoint) => Promise<T>,
  ): Promise<{ value: T; endpoint: Endpoint }> {
    let lastError: unknown;
    for (const endpoint of endpoints) {
      try {
        return { value: await fn(endpoint), endpoint };
      } catch (err) {
        // Cancelled: no other source is tried.
        if (signal.aborted) throw signal.reason;
        lastError = err;
        if (endpoint.mirror) {
          this.log.warn('mirror failed, trying the next source', {
            what,
            mirror: endpoint.host,
            error: (err as Error).message,
          });
        }
      }
    }
    throw lastError;
  }

  private lease(digests: string[], delta: number): void {
    for (const d of digests) {
      const n = (this.leases.get(d) ?? 0) + delta;
      if (n > 0) this.leases.set(d, n);
      else this.leases.delete(d);
    }
  }

  /** Deletes layers and blobs that no image record and no running pull needs. Under the lock. */
  private async collectGarbage(): Promise<void> {
    const keep = new Set(this.leases.keys());
    for (const r of this.records.values()) {
      keep.add(r.id);
      keep.add(r.manifestDigest);
      for (const d of r.repoDigests) keep.add(d.slice(d.indexOf('@') + 1));
      for (const l of r.layers) keep.add(l.diffID);
    }
    for (const layer of await this.layers.list()) {
      if (keep.has(layer.diffID) || this.layers.isBusy(layer.diffID)) continue;
      await this.layers.remove(layer.diffID);
      this.log.debug('removed unused layer', { diffID: layer.diffID });
    }
    for (const digest of await this.blobs.list()) {
      if (!keep.has(digest)) await this.blobs.delete(digest);
    }
  }

  private find(image: string): { record: ImageRecord; tag?: string } | undefined {
    const full = fullIdRe.exec(image);
    if (full) {
      // A full ID names an image or nothing (a bare 64-hex string is never a repository name).
      const record = this.records.get(`sha256:${full[1]}`);
      return record ? { record } : undefined;
    }
    let ref: ImageReference | undefined;
    try {
      ref = parseReference(image);
    } catch (err) {
      if (!shortIdRe.test(image)) throw err;
    }
    if (ref) {
      if (ref.digest !== undefined) {
        const want = `${repositoryName(ref)}@${ref.digest}`;
        for (const record of this.records.values()) if (record.repoDigests.includes(want)) return { record };
      } else {
        const want = `${repositoryName(ref)}:${ref.tag}`;
        for (const record of this.records.values())
          if (record.repoTags.includes(want)) return { record, tag: want };
      }
    }
    // A unique prefix of an image ID, as crictl and docker accept.
    if (shortIdRe.test(image)) {
      const matches = [...this.records.values()].filter((r) => digestHex(r.id).startsWith(image));
      if (matches.length === 1) return { record: matches[0] };
    }
    return undefined;
  }

  private require(image: string): ImageRecord {
    const found = this.find(image);
    if (!found) throw new NotFoundError(`image ${image} not found`);
    return found.record;
  }

  private present(record: ImageRecord): Image {
    const patterns = this.options.pinnedImages ?? [];
    const pinned = record.repoTags.some((tag) =>
      patterns.some((p) => (p.endsWith('*') ? tag.startsWith(p.slice(0, -1)) : tag === p)),
    );
    return { ...record, repoTags: [...record.repoTags], repoDigests: [...record.repoDigests], pinned };
  }

  private recordPath(id: string): string {
    return path.join(this.recordDir, `${digestHex(id)}.json`);
  }

  private async save(record: ImageRecord): Promise<void> {
    if (!isSha256Digest(record.id)) throw new InvalidArgumentError(`bad image id ${record.id}`);
    await writeJsonAtomic(this.recordPath(record.id), record, { mode: 0o600 });
    this.records.set(record.id, record);
  }
}

function union(list: string[] | undefined, item: string | undefined): string[] {
  const out = [...(list ?? [])];
  if (item !== undefined && !out.includes(item)) out.push(item);
  return out;
}

/** CRI Image.uid / username from the config's User (`uid`, `uid:gid`, `name`, `name:group`). */
export function userOf(config: ImageConfig): { uid?: number; username: string } {
  const user = (config.config?.User ?? '').split(':')[0];
  if (user === '') return { username: '' };
  if (/^\d+$/.test(user)) return { uid: Number(user), username: '' };
  return { username: user };
}

function sameRegistry(serverAddress: string | undefined, host: string): boolean {
  if (!serverAddress) return false;
  const stripped = serverAddress.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return stripped === host;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

async function mapLimit<T>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

/**
 * The layer unpacker, loaded on the first unpack with its tar and zstd modules (1 MiB of heap
 * the daemon need not hold while it only runs containers).
 */
function unpackLayer(): typeof import('./layer-unpack').unpackLayer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  return (require('./layer-unpack') as typeof import('./layer-unpack')).unpackLayer;
}
