/**
 * Test helpers: a real registry (Debian's docker-registry, the distribution project's server) on
 * loopback, an image builder that makes layers and manifests from a list of tar entries, a pusher
 * that speaks the distribution push API, and an auth proxy that puts basic or bearer-token auth
 * (with a token endpoint) in front of the registry. Tests only; nothing in the daemon uses it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { request } from 'undici';
import bcrypt from 'bcryptjs';
import { digestHex, sha256Digest } from './digest';
import { MediaType, type Platform } from './manifest';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

import { freePort } from '../common/testing/ports';

export { freePort };

export interface TestRegistry {
  /** host:port */
  host: string;
  url: string;
  /** The Authorization header that pushes need (with `htpasswd`), else undefined. */
  authorization?: string;
  /** Where the registry stores a blob's bytes (its filesystem driver's layout). */
  blobPath(digest: string): string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** The registry's own basic auth (its `auth.htpasswd` module), with one bcrypt-hashed user. */
  htpasswd?: { realm: string; username: string; password: string };
}

/** Starts docker-registry on a free loopback port with a temp config and storage directory. */
export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-registry-'));
  let child: ChildProcess | undefined;
  try {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const auth: string[] = [];
    let authorization: string | undefined;
    if (options.htpasswd) {
      const { realm, username, password } = options.htpasswd;
      // The htpasswd module accepts bcrypt hashes only (distribution, registry/auth/htpasswd).
      await fs.writeFile(path.join(dir, 'htpasswd'), `${username}:${bcrypt.hashSync(password, 4)}\n`);
      auth.push('auth:', '  htpasswd:', `    realm: ${realm}`, `    path: ${path.join(dir, 'htpasswd')}`);
      authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    const dataDir = path.join(dir, 'data');
    const config = [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${dataDir}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      ...auth,
      '',
    ].join('\n');
    await fs.writeFile(path.join(dir, 'config.yml'), config);
    const log = await fs.open(path.join(dir, 'registry.log'), 'w');
    child = spawn(REGISTRY_BINARY, ['serve', path.join(dir, 'config.yml')], {
      stdio: ['ignore', log.fd, log.fd],
    });
    await log.close();
    const proc = child;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const url = `http://${host}`;
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(await fs.readFile(path.join(dir, 'registry.log'), 'utf8'));
      const res = await request(`${url}/v2/`, {
        headers: authorization ? { authorization } : {},
      }).catch(() => undefined);
      await res?.body.dump();
      return res?.statusCode === 200;
    }, 'docker-registry to answer');
    return {
      host,
      url,
      authorization,
      blobPath: (digest) => {
        const hex = digestHex(digest);
        return path.join(dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
      },
      stop: async () => {
        if (proc.exitCode === null && proc.signalCode === null) {
          process.kill(proc.pid!, 'SIGTERM');
          await exited;
        }
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

/** An uncompressed tar archive of the entries, in order. */
export async function buildTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = type === 'file' ? Buffer.from(e.content ?? '') : undefined;
    await new Promise<void>((resolve, reject) => {
      const header = {
        name: e.name,
        type,
        mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        mtime: e.mtime ?? new Date('2024-01-02T03:04:05Z'),
        ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
        ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}),
        ...(e.pax ? { pax: e.pax } : {}),
      };
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (content) pack.entry(header, content, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

export type LayerCompression = 'gzip' | 'zstd' | 'none';

export interface BuiltBlob {
  mediaType: string;
  digest: string;
  size: number;
  data: Buffer;
}

export interface BuiltLayer extends BuiltBlob {
  diffID: string;
}

export function compress(data: Buffer, compression: LayerCompression): Buffer {
  if (compression === 'gzip') return gzipSync(data);
  if (compression === 'zstd') {
    const out = spawnSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 1 << 30 });
    if (out.status !== 0) throw new Error(`zstd failed: ${out.stderr.toString()}`);
    return out.stdout;
  }
  return data;
}

function blob(mediaType: string, data: Buffer): BuiltBlob {
  return { mediaType, digest: sha256Digest(data), size: data.length, data };
}

export async function buildLayer(
  entries: TarEntry[],
  compression: LayerCompression = 'gzip',
  format: 'oci' | 'docker' = 'oci',
): Promise<BuiltLayer> {
  const raw = await buildTar(entries);
  const mediaType =
    format === 'docker'
      ? MediaType.dockerLayerGzip
      : { gzip: MediaType.ociLayerGzip, zstd: MediaType.ociLayerZstd, none: MediaType.ociLayer }[compression];
  return { ...blob(mediaType, compress(raw, compression)), diffID: sha256Digest(raw) };
}

export interface BuiltImage {
  config: BuiltBlob;
  manifest: BuiltBlob;
  layers: BuiltLayer[];
  platform: Platform;
}

export interface ImageOptions {
  format?: 'oci' | 'docker';
  platform?: Platform;
  user?: string;
  /** Run config fields (Entrypoint, Cmd, Env, WorkingDir, StopSignal...) over the defaults. */
  config?: Record<string, unknown>;
  /** Override the diff IDs written in the config (to build broken images). */
  diffIDs?: string[];
}

export function buildImage(layers: BuiltLayer[], options: ImageOptions = {}): BuiltImage {
  const format = options.format ?? 'oci';
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const config = blob(
    format === 'docker' ? MediaType.dockerConfig : MediaType.ociConfig,
    Buffer.from(
      JSON.stringify({
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        created: '2024-01-02T03:04:05Z',
        config: { User: options.user ?? '', Env: ['PATH=/bin'], Cmd: ['/bin/sh'], ...options.config },
        rootfs: { type: 'layers', diff_ids: options.diffIDs ?? layers.map((l) => l.diffID) },
      }),
    ),
  );
  const descriptor = (b: BuiltBlob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  const mediaType = format === 'docker' ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifest = blob(
    mediaType,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType,
        config: descriptor(config),
        layers: layers.map(descriptor),
      }),
    ),
  );
  return { config, manifest, layers, platform };
}

export function buildIndex(images: BuiltImage[], format: 'oci' | 'docker' = 'oci'): BuiltBlob {
  const mediaType = format === 'docker' ? MediaType.dockerManifestList : MediaType.ociIndex;
  return blob(
    mediaType,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType,
        manifests: images.map((i) => ({
          mediaType: i.manifest.mediaType,
          digest: i.manifest.digest,
          size: i.manifest.size,
          platform: i.platform,
        })),
      }),
    ),
  );
}

/** Uploads a blob with the monolithic POST-then-PUT flow (distribution-spec, "Pushing blobs"). */
export async function pushBlob(
  registryUrl: string,
  repo: string,
  b: { digest: string; data: Buffer },
  authorization?: string,
): Promise<void> {
  const auth = authorization ? { authorization } : {};
  const start = await request(`${registryUrl}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: auth });
  await start.body.dump();
  if (start.statusCode !== 202) throw new Error(`blob upload start: HTTP ${start.statusCode}`);
  const location = new URL(String(start.headers.location), registryUrl);
  location.searchParams.set('digest', b.digest);
  const put = await request(location, {
    method: 'PUT',
    headers: {
      ...auth,
      'content-type': 'application/octet-stream',
      'content-length': String(b.data.length),
    },
    body: b.data,
  });
  const text = await put.body.text();
  if (put.statusCode !== 201) throw new Error(`blob upload ${b.digest}: HTTP ${put.statusCode} ${text}`);
}

export async function pushManifest(
  registryUrl: string,
  repo: string,
  reference: string,
  m: BuiltBlob,
  authorization?: string,
): Promise<void> {
  const res = await request(`${registryUrl}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': m.mediaType, ...(authorization ? { authorization } : {}) },
    body: m.data,
  });
  const text = await res.body.text();
  if (res.statusCode !== 201)
    throw new Error(`manifest push ${repo}:${reference}: HTTP ${res.statusCode} ${text}`);
}

/** Pushes an image's blobs and manifest, tagged `tag` (with the registry's `authorization`). */
export async function pushImage(
  registryUrl: string,
  repo: string,
  tag: string,
  image: BuiltImage,
  authorization?: string,
): Promise<void> {
  for (const b of [...image.layers, image.config]) await pushBlob(registryUrl, repo, b, authorization);
  await pushManifest(registryUrl, repo, tag, image.manifest, authorization);
}

/** Pushes several platform images and an index over them, tagged `tag`. */
export async function pushIndex(
  registryUrl: string,
  repo: string,
  tag: string,
  images: BuiltImage[],
  format: 'oci' | 'docker' = 'oci',
): Promise<BuiltBlob> {
  for (const image of images) {
    for (const b of [...image.layers, image.config]) await pushBlob(registryUrl, repo, b);
    await pushManifest(registryUrl, repo, image.manifest.digest, image.manifest);
  }
  const index = buildIndex(images, format);
  await pushManifest(registryUrl, repo, tag, index);
  return index;
}

export interface AuthProxyOptions {
  upstream: TestRegistry;
  /** `open` lets every request through: a proxy that only counts. */
  mode: 'basic' | 'bearer' | 'open';
  username?: string;
  password?: string;
  /** Answer blob GETs with a redirect to another origin (the proxy under `localhost`). */
  redirectBlobs?: boolean;
  tokenLifetimeS?: number;
  /** The token endpoint gives anonymous callers nothing (private repositories). */
  privateRepos?: boolean;
  /** A refresh token the token endpoint accepts in the OAuth2 POST form (identity_token). */
  refreshToken?: string;
}

export interface AuthProxy {
  host: string;
  url: string;
  /** Requests the token endpoint answered, with the basic user they carried (or ''). */
  tokenRequests: string[];
  /** Registry API requests that reached the proxy, with their Authorization scheme (or ''). */
  apiRequests: Array<{ path: string; auth: string }>;
  /** Authorization headers that arrived at the redirect target (must stay empty). */
  redirectedAuthHeaders: string[];
  stop(): Promise<void>;
}

/**
 * A loopback proxy in front of a registry that demands basic auth, or bearer tokens from its own
 * token endpoint (`/token`), the way Docker Hub does.
 */
export async function startAuthProxy(options: AuthProxyOptions): Promise<AuthProxy> {
  const tokens = new Set<string>();
  const proxy: Omit<AuthProxy, 'host' | 'url' | 'stop'> = {
    tokenRequests: [],
    apiRequests: [],
    redirectedAuthHeaders: [],
  };
  const users = options.username ? { [options.username]: options.password ?? '' } : undefined;
  const basicUser = (auth: string | undefined): string | undefined => {
    if (!auth?.startsWith('Basic ')) return undefined;
    const [user, ...rest] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
    return users && users[user] === rest.join(':') ? user : undefined;
  };
  let port = 0;
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, upstreamPath: string) => {
    const up = http.request(
      `${options.upstream.url}${upstreamPath}`,
      { method: req.method, headers: { accept: req.headers.accept ?? '*/*' } },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token' && req.method === 'POST') {
      let form = '';
      req.on('data', (c: Buffer) => (form += c.toString()));
      req.on('end', () => {
        const params = new URLSearchParams(form);
        const valid =
          params.get('grant_type') === 'refresh_token' &&
          options.refreshToken !== undefined &&
          params.get('refresh_token') === options.refreshToken;
        if (!valid) {
          res.writeHead(401).end();
          return;
        }
        proxy.tokenRequests.push('refresh-token');
        const token = randomBytes(16).toString('hex');
        tokens.add(token);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: token, expires_in: options.tokenLifetimeS ?? 300 }));
      });
      return;
    }
    if (url.pathname === '/token') {
      const auth = req.headers.authorization;
      const refused = auth === undefined ? !!options.privateRepos : !!users && !basicUser(auth);
      if (refused) {
        res.writeHead(401).end();
        return;
      }
      proxy.tokenRequests.push(basicUser(auth) ?? '');
      const token = randomBytes(16).toString('hex');
      tokens.add(token);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token, expires_in: options.tokenLifetimeS ?? 300 }));
      return;
    }
    if (url.pathname.startsWith('/redirected/')) {
      proxy.redirectedAuthHeaders.push(...(req.headers.authorization ? [req.headers.authorization] : []));
      forward(req, res, url.pathname.slice('/redirected'.length) + url.search);
      return;
    }
    const auth = req.headers.authorization ?? '';
    proxy.apiRequests.push({ path: url.pathname, auth: auth.split(' ')[0] });
    const repo = /^\/v2\/(.+)\/(?:manifests|blobs)\//.exec(url.pathname)?.[1] ?? '';
    let ok: boolean;
    if (options.mode === 'open') {
      ok = true;
    } else if (options.mode === 'basic') {
      ok = basicUser(auth) !== undefined;
      if (!ok) res.setHeader('www-authenticate', 'Basic realm="test-registry"');
    } else {
      ok = auth.startsWith('Bearer ') && tokens.has(auth.slice(7));
      if (!ok) {
        res.setHeader(
          'www-authenticate',
          `Bearer realm="http://127.0.0.1:${port}/token",service="test-registry",scope="repository:${repo}:pull"`,
        );
      }
    }
    if (!ok) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    if (options.redirectBlobs && req.method === 'GET' && /\/blobs\/sha256:/.test(url.pathname)) {
      res.writeHead(307, { location: `http://localhost:${port}/redirected${url.pathname}` }).end();
      return;
    }
    forward(req, res, url.pathname + url.search);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
  return Object.assign(proxy, {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
