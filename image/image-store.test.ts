import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { request } from 'undici';
import { FailedPreconditionError, NotFoundError } from '../common/errors';
import { sha256Digest } from './digest';
import { DigestMismatchError, UnauthenticatedError, UnsafeLayerError } from './errors';
import { ImageStore, type ImageLogger, type ImageStoreOptions } from './image-store';
import {
  buildImage,
  buildLayer,
  pushBlob,
  pushImage,
  pushIndex,
  pushManifest,
  startAuthProxy,
  startRegistry,
  type AuthProxy,
  type BuiltImage,
  type BuiltLayer,
  type LayerCompression,
  type TarEntry,
  type TestRegistry,
} from './test-registry';

/** Every path under dir, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      out.push(path.join(rel, e.name));
      if (e.isDirectory()) await walk(path.join(rel, e.name));
    }
  };
  await walk('');
  return out.sort();
}

describe('ImageStore', () => {
  let registry: TestRegistry;
  let proxy: AuthProxy | undefined;
  let root: string;
  let store: ImageStore;
  let logs: string[];
  const inUse = new Set<string>();

  let base: BuiltLayer;
  let app: BuiltImage;
  let other: BuiltImage;

  const logger: ImageLogger = {
    debug: (m) => logs.push(`debug ${m}`),
    info: (m) => logs.push(`info ${m}`),
    warn: (m) => logs.push(`warn ${m}`),
    error: (m) => logs.push(`error ${m}`),
  };

  async function open(options: Partial<ImageStoreOptions> = {}): Promise<ImageStore> {
    const s = new ImageStore({ root, logger, inUse: (id) => inUse.has(id), ...options });
    await s.init();
    return s;
  }

  beforeAll(async () => {
    registry = await startRegistry();
    base = await buildLayer([
      { name: 'bin/', type: 'directory' },
      { name: 'bin/sh', content: 'shell', mode: 0o755 },
      { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' },
    ]);
    app = buildImage([base, await buildLayer([{ name: 'app/run', content: 'app' }], 'zstd')], {
      user: '1000:1000',
    });
    other = buildImage([base, await buildLayer([{ name: 'other', content: 'o' }], 'none')], {
      user: 'nginx:nginx',
    });
    await pushImage(registry.url, 'team/app', 'v1', app);
    await pushImage(registry.url, 'team/app', 'v2', app);
    await pushImage(registry.url, 'team/other', 'latest', other);
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(async () => {
    logs = [];
    inUse.clear();
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-images-'));
    store = await open();
  });
  afterEach(async () => {
    await store.close();
    await proxy?.stop();
    proxy = undefined;
    await fs.rm(root, { recursive: true, force: true });
  });

  const appRef = () => `${registry.host}/team/app:v1`;

  it('pulls an image, records it and unpacks its layers', async () => {
    const image = await store.pull(appRef());
    expect(image).toMatchObject({
      id: app.config.digest,
      repoTags: [`${registry.host}/team/app:v1`],
      repoDigests: [`${registry.host}/team/app@${app.manifest.digest}`],
      size: app.config.size + app.layers[0].size + app.layers[1].size,
      uid: 1000,
      username: '',
      pinned: false,
    });
    const [top, bottom] = store.layerDirs(image.id);
    expect(await fs.readFile(path.join(bottom, 'bin/sh'), 'utf8')).toBe('shell');
    expect(await fs.readFile(path.join(top, 'app/run'), 'utf8')).toBe('app');
    expect((await store.config(image.id)).config?.User).toBe('1000:1000');
    expect(logs).toContain('info pulled image');
  });

  it('finds an image by ID, short ID, tag, digest and normalized name', async () => {
    const image = await store.pull(appRef());
    const hex = image.id.slice(7);
    for (const name of [
      image.id,
      hex,
      hex.slice(0, 12),
      appRef(),
      `${registry.host}/team/app@${app.manifest.digest}`,
    ]) {
      expect(store.status(name)?.id).toBe(image.id);
    }
    expect(store.status(`${registry.host}/team/app:v2`)).toBeUndefined();
    expect(store.status(sha256Digest('nothing'))).toBeUndefined();
    expect(store.list().map((i) => i.id)).toEqual([image.id]);
    expect(store.list(appRef())).toHaveLength(1);
    expect(store.list(`${registry.host}/team/other`)).toEqual([]);
    expect(JSON.parse((await store.info(image.id)).info).imageSpec.config.User).toBe('1000:1000');
    expect(() => store.layerDirs('missing')).toThrow(NotFoundError);
  });

  it('adds tags to one image and keeps records across restarts', async () => {
    await store.pull(appRef());
    const image = await store.pull(`${registry.host}/team/app:v2`);
    expect(image.repoTags).toEqual([`${registry.host}/team/app:v1`, `${registry.host}/team/app:v2`]);
    await store.close();
    store = await open({ pinnedImages: [`${registry.host}/team/app:*`] });
    expect(store.status(appRef())).toMatchObject({ id: image.id, pinned: true });
  });

  it('reconciles records and disk at start', async () => {
    const kept = await store.pull(appRef());
    const broken = await store.pull(`${registry.host}/team/other`);
    // A layer only the broken image had goes missing; a pull died after unpacking a layer.
    await store.layers.remove(other.layers[1].diffID);
    await store.layers.ensure(sha256Digest('orphan'), async (d) => fs.writeFile(path.join(d, 'f'), 'x'));
    await store.close();
    store = await open();
    expect(store.list().map((i) => i.id)).toEqual([kept.id]);
    expect(logs).toContain('error dropping image whose content is missing; it will be pulled again');
    expect((await store.layers.list()).map((l) => l.diffID).sort()).toEqual(
      kept.layers.map((l) => l.diffID).sort(),
    );
    expect(await store.blobs.has(broken.id)).toBe(false);
    // Pulling again repairs it.
    expect((await store.pull(`${registry.host}/team/other`)).id).toBe(broken.id);
  });

  it('picks linux/amd64 from a multi-platform index', async () => {
    const arm = buildImage([await buildLayer([{ name: 'arch', content: 'arm64' }])], {
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    });
    const amd = buildImage([await buildLayer([{ name: 'arch', content: 'amd64' }], 'gzip', 'docker')], {
      format: 'docker',
      platform: { os: 'linux', architecture: 'amd64' },
    });
    const index = await pushIndex(registry.url, 'multi/arch', 'latest', [arm, amd], 'docker');
    const image = await store.pull(`${registry.host}/multi/arch`);
    expect(image.id).toBe(amd.config.digest);
    expect(image.repoDigests).toEqual([`${registry.host}/multi/arch@${index.digest}`]);
    expect(image.manifestDigest).toBe(amd.manifest.digest);
    expect(await fs.readFile(path.join(store.layerDirs(image.id)[0], 'arch'), 'utf8')).toBe('amd64');
    // The username comes from a named user.
    expect((await store.pull(`${registry.host}/team/other`)).username).toBe('nginx');
  });

  it('shares one pull between concurrent callers and one download between images', async () => {
    proxy = await startAuthProxy({ upstream: registry, mode: 'open' });
    const [a, b, c] = await Promise.all([
      store.pull(`${proxy.host}/team/app:v1`),
      store.pull(`${proxy.host}/team/app:v1`),
      store.pull(`${proxy.host}/team/other`),
    ]);
    expect(a).toEqual(b);
    expect(c.id).toBe(other.config.digest);
    const blobGets = proxy.apiRequests.filter((r) => r.path.includes('/blobs/')).map((r) => r.path);
    // The shared base layer is fetched once, by whichever image got there first.
    expect(blobGets.filter((p) => p.endsWith(base.digest))).toHaveLength(1);
    expect(proxy.apiRequests.filter((r) => r.path.endsWith('/manifests/v1'))).toHaveLength(1);
    expect((await store.layers.list()).map((l) => l.diffID).sort()).toEqual(
      [base.diffID, app.layers[1].diffID, other.layers[1].diffID].sort(),
    );
  });

  it('removes tags, then images, keeping layers other images use', async () => {
    await store.pull(appRef());
    await store.pull(`${registry.host}/team/app:v2`);
    await store.pull(`${registry.host}/team/other`);
    const before = await store.usage();

    await store.remove(`${registry.host}/team/app:v2`);
    expect(store.status(appRef())?.repoTags).toEqual([appRef()]);

    inUse.add(app.config.digest);
    await expect(store.remove(appRef())).rejects.toThrow(FailedPreconditionError);
    inUse.clear();

    const held = store.hold(appRef());
    await expect(store.remove(appRef())).rejects.toThrow('in use by a container');
    held.release();
    held.release();

    await store.remove(appRef());
    expect(store.status(app.config.digest)).toBeUndefined();
    const layers = (await store.layers.list()).map((l) => l.diffID).sort();
    expect(layers).toEqual([base.diffID, other.layers[1].diffID].sort());
    expect(await store.blobs.has(app.config.digest)).toBe(false);
    const after = await store.usage();
    expect(after.usedBytes).toBeLessThan(before.usedBytes);
    expect(after.inodesUsed).toBeLessThan(before.inodesUsed);

    // Idempotent, by any name.
    await store.remove(appRef());
    await store.remove(app.config.digest);
    await store.remove(other.config.digest);
    expect(await store.layers.list()).toEqual([]);
    expect(await store.blobs.list()).toEqual([]);
  });

  it('serves docker.io names from a configured mirror, skipping a dead one', async () => {
    await pushImage(registry.url, 'library/busybox', 'latest', app);
    store = await open({
      registries: [
        { prefix: 'docker.io', mirrors: [{ location: '127.0.0.1:1' }, { location: registry.host }] },
      ],
    });
    const image = await store.pull('busybox');
    expect(image.repoTags).toEqual(['docker.io/library/busybox:latest']);
    expect(store.status('busybox')?.id).toBe(app.config.digest);
    expect(logs).toContain('warn mirror failed, trying the next source');
  });

  it('downloads a layer again when the connection breaks off halfway', async () => {
    const layer = await buildLayer([{ name: 'data', content: Buffer.alloc(1 << 20, 3) }], 'none');
    const image = buildImage([layer]);
    await pushImage(registry.url, 'flaky/app', 'latest', image);
    let layerGets = 0;
    // Cuts the connection after half of the first layer download; serves the second one whole.
    const flaky = http.createServer((req, res) => {
      void request(`${registry.url}${req.url}`, { headers: { accept: req.headers.accept ?? '*/*' } }).then(
        async (up) => {
          res.writeHead(up.statusCode, up.headers as http.OutgoingHttpHeaders);
          if (!req.url?.includes(layer.digest)) return void up.body.pipe(res);
          const body = Buffer.from(await up.body.arrayBuffer());
          if (++layerGets > 1) return void res.end(body);
          res.write(body.subarray(0, body.length / 2), () => res.socket?.destroy());
        },
      );
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    try {
      const pulled = await store.pull(`127.0.0.1:${(flaky.address() as AddressInfo).port}/flaky/app`);
      expect(pulled.id).toBe(image.config.digest);
      expect(layerGets).toBe(2);
      expect(logs).toContain('warn layer download failed, trying again');
      expect(await fs.readFile(path.join(store.layerDirs(pulled.id)[0], 'data'))).toHaveLength(1 << 20);
    } finally {
      flaky.closeAllConnections();
      await new Promise((resolve) => flaky.close(resolve));
    }
  });

  it('aborts a running pull on close and leaves nothing behind', async () => {
    // A proxy that sends half of every blob and then stalls.
    const layer = await buildLayer([{ name: 'big', content: Buffer.alloc(4 << 20, 7) }], 'none');
    await pushImage(registry.url, 'slow/app', 'latest', buildImage([layer]));
    const stall = http.createServer((req, res) => {
      const url = `${registry.url}${req.url}`;
      void request(url, { headers: { accept: req.headers.accept ?? '*/*' } }).then(async (up) => {
        res.writeHead(up.statusCode, up.headers as http.OutgoingHttpHeaders);
        if (!req.url?.includes(layer.digest)) return void up.body.pipe(res);
        const body = Buffer.from(await up.body.arrayBuffer());
        res.write(body.subarray(0, body.length / 2));
      });
    });
    await new Promise<void>((resolve) => stall.listen(0, '127.0.0.1', resolve));
    try {
      const pull = store.pull(`127.0.0.1:${(stall.address() as AddressInfo).port}/slow/app`);
      const failed = pull.catch((e: unknown) => e);
      while (!(await fs.readdir(path.join(root, 'layers'))).some((n) => n.startsWith('.tmp-'))) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await store.close();
      expect(await failed).toBeInstanceOf(Error);
      expect(await tree(path.join(root, 'layers'))).toEqual([]);
      expect(store.list()).toEqual([]);
    } finally {
      stall.closeAllConnections();
      await new Promise((resolve) => stall.close(resolve));
    }
  });

  it('pulls with credentials through a bearer-token registry that redirects blobs', async () => {
    proxy = await startAuthProxy({
      upstream: registry,
      mode: 'bearer',
      username: 'kube',
      password: 'let-me-in',
      redirectBlobs: true,
      privateRepos: true,
    });
    const ref = `${proxy.host}/team/app:v1`;
    await expect(store.pull(ref)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const image = await store.pull(ref, { username: 'kube', password: 'let-me-in' });
    expect(image.id).toBe(app.config.digest);
    // One token for the whole pull, and no credentials sent along a redirect.
    expect(proxy.tokenRequests.filter((u) => u === 'kube')).toHaveLength(1);
    expect(proxy.redirectedAuthHeaders).toEqual([]);
  });

  it('refuses an image config too large to parse', async () => {
    const image = buildImage([]);
    const manifest = JSON.parse(image.manifest.data.toString());
    manifest.config.size = 64 << 20;
    const data = Buffer.from(JSON.stringify(manifest));
    await pushBlob(registry.url, 'team/app', image.config);
    await pushManifest(registry.url, 'team/app', 'huge', { ...image.manifest, data });
    await expect(store.pull(`${registry.host}/team/app:huge`)).rejects.toThrow('larger than 16777216');
  });

  it('reports a missing image as not found', async () => {
    await expect(store.pull(`${registry.host}/team/app:nope`)).rejects.toThrow(NotFoundError);
  });

  describe('failed pulls leave nothing behind', () => {
    async function expectClean(): Promise<void> {
      expect(store.list()).toEqual([]);
      expect(await tree(path.join(root, 'layers'))).toEqual([]);
      expect(await tree(path.join(root, 'ingest'))).toEqual([]);
      expect(await tree(path.join(root, 'images'))).toEqual([]);
    }

    const hostileLayers: Array<[string, TarEntry[]]> = [
      ['a ../ path', [{ name: '../../escape', content: 'x' }]],
      ['an absolute path', [{ name: '/etc/escape', content: 'x' }]],
      [
        'a symlink escape',
        [
          { name: 'l', type: 'symlink', linkname: '../../../..' },
          { name: 'l/escape', content: 'x' },
        ],
      ],
      ['a hard link escape', [{ name: 'h', type: 'link', linkname: '../../etc/passwd' }]],
      [
        'a symlink replaced by a directory',
        [
          { name: 'd', type: 'symlink', linkname: '/' },
          { name: 'd', type: 'directory' },
        ],
      ],
    ];

    it.each(hostileLayers)('refuses a layer with %s', async (what, entries) => {
      // A good layer unpacks next to the bad one and must be gone too once the pull failed.
      const hostile = await buildLayer(entries);
      const good = await buildLayer([{ name: `good-${what.length}`, content: what }]);
      const repo = `hostile/n${what.length}`;
      await pushImage(registry.url, repo, 'latest', buildImage([good, hostile]));
      const error = await store.pull(`${registry.host}/${repo}`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnsafeLayerError);
      expect((error as Error).message).toContain(
        `${registry.host}/${repo}:latest: layer ${hostile.digest}: entry "`,
      );
      await expectClean();
    });

    // Bit rot in the registry's storage, same size: bytes in the middle of a plain tar (only the
    // digest can tell), or the first deflate block header of a gzip layer (gunzip fails first).
    const corruptions: Array<[LayerCompression, (blob: Buffer) => void]> = [
      ['none', (b) => b.fill(0x55, b.length >> 1, (b.length >> 1) + 16)],
      ['gzip', (b) => (b[10] = 0xff)],
    ];

    it.each(corruptions)(
      'refuses a %s layer blob the registry serves corrupted',
      async (compression, rot) => {
        const good = await buildLayer([{ name: `intact-${compression}`, content: 'fine' }]);
        const layer = await buildLayer(
          [{ name: 'data', content: randomBytes(256 << 10).toString('base64') }],
          compression,
        );
        const repo = `corrupt/${compression}`;
        await pushImage(registry.url, repo, 'latest', buildImage([good, layer]));
        const stored = registry.blobPath(layer.digest);
        const bytes = await fs.readFile(stored);
        rot(bytes);
        await fs.writeFile(stored, bytes);

        const error = await store.pull(`${registry.host}/${repo}`).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DigestMismatchError);
        expect((error as Error).message).toMatch(
          new RegExp(
            `^${registry.host}/${repo}:latest: layer ${layer.digest}: layer blob ${layer.digest}: digest sha256:\\w+ does not match`,
          ),
        );
        await expectClean();
      },
    );

    it('refuses layers that do not match the config diff IDs', async () => {
      const layer = await buildLayer([{ name: 'f', content: 'x' }]);
      await pushImage(
        registry.url,
        'broken/diffid',
        'latest',
        buildImage([layer], { diffIDs: [sha256Digest('x')] }),
      );
      await expect(store.pull(`${registry.host}/broken/diffid`)).rejects.toThrow(DigestMismatchError);
      await expectClean();
    });
  });
});

describe('ImageStore against a registry with its own htpasswd auth', () => {
  let registry: TestRegistry;
  let root: string;
  let store: ImageStore;
  let image: BuiltImage;

  beforeAll(async () => {
    registry = await startRegistry({
      htpasswd: { realm: 'berth-test', username: 'puller', password: 'pass:word with spaces' },
    });
    image = buildImage([await buildLayer([{ name: 'secret', content: 'behind htpasswd' }])]);
    await pushImage(registry.url, 'private/app', 'v1', image, registry.authorization);
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-images-'));
    store = new ImageStore({ root });
    await store.init();
  });
  afterEach(async () => {
    await store.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  const ref = () => `${registry.host}/private/app:v1`;

  it('pulls with the username and password', async () => {
    const pulled = await store.pull(ref(), { username: 'puller', password: 'pass:word with spaces' });
    expect(pulled.id).toBe(image.config.digest);
    expect(await fs.readFile(path.join(store.layerDirs(pulled.id)[0], 'secret'), 'utf8')).toBe(
      'behind htpasswd',
    );
  });

  it('says why it cannot pull without credentials or with a wrong password, and keeps nothing', async () => {
    await expect(store.pull(ref())).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: expect.stringContaining(`registry ${registry.host} requires credentials and none were given`),
    });
    const wrong = await store.pull(ref(), { username: 'puller', password: 'pass:word' }).catch((e) => e);
    expect(wrong).toBeInstanceOf(UnauthenticatedError);
    expect((wrong as Error).message).toContain('registry refused the credentials');
    expect(store.list()).toEqual([]);
    expect(await tree(path.join(root, 'layers'))).toEqual([]);
  });
});
