/**
 * PullImage and its caller's deadline: a registry on loopback that sends half of a layer and
 * then holds the rest back, so the pull is certain to be in the middle of a download when the
 * caller gives up. The pull stops (its download is abandoned) and leaves nothing behind, unless
 * another caller still waits for the same pull.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import { buildImage, buildLayer, type BuiltImage } from '../image/test-registry';
import { TestDaemon } from './harness';
import { eventually } from './pod-fixture';

/** Serves one image; the layer's second half waits for release(). */
class StallingRegistry {
  /** Layer downloads started, and those whose connection has since closed. */
  layerRequests = 0;
  layerClosed = 0;
  private readonly stalled: Array<() => void> = [];
  private released = false;

  private constructor(
    private readonly server: http.Server,
    readonly host: string,
  ) {}

  static async start(image: BuiltImage, repo: string, tag: string): Promise<StallingRegistry> {
    const blobs = new Map([image.config, ...image.layers].map((b) => [b.digest, b]));
    const layer = image.layers[0];
    // The handler reaches the registry object, made once the server listens.
    const self: { registry?: StallingRegistry } = {};
    const server = http.createServer((req, res) => {
      const url = req.url ?? '';
      if (url === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (
        url === `/v2/${repo}/manifests/${tag}` ||
        url === `/v2/${repo}/manifests/${image.manifest.digest}`
      ) {
        return void res
          .writeHead(200, {
            'content-type': image.manifest.mediaType,
            'docker-content-digest': image.manifest.digest,
            'content-length': image.manifest.size,
          })
          .end(image.manifest.data);
      }
      const blob = blobs.get(url.slice(`/v2/${repo}/blobs/`.length));
      if (!url.startsWith(`/v2/${repo}/blobs/`) || !blob) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.size });
      if (blob !== layer) return void res.end(blob.data);
      self.registry!.layerRequests += 1;
      res.on('close', () => (self.registry!.layerClosed += 1));
      const half = Math.floor(blob.size / 2);
      res.write(blob.data.subarray(0, half));
      const rest = (): void => void res.end(blob.data.subarray(half));
      if (self.registry!.released) rest();
      else self.registry!.stalled.push(rest);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self.registry = new StallingRegistry(server, `127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    return self.registry;
  }

  release(): void {
    this.released = true;
    for (const rest of this.stalled.splice(0)) rest();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('PullImage cancelled by its caller', () => {
  let daemon: TestDaemon;

  beforeAll(async () => {
    daemon = await TestDaemon.start();
  });

  afterAll(async () => {
    await daemon?.stop();
  });

  /** A fresh image (its own random layer), so no earlier test has it in the store already. */
  const freshImage = async (): Promise<BuiltImage> =>
    buildImage([await buildLayer([{ name: 'data', content: randomBytes(256 * 1024) }], 'none')]);

  /** Layer downloads and unpacks in progress under the daemon's root. */
  const partial = (): string[] => {
    const images = path.join(daemon.dir, 'root', 'images');
    const list = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);
    return [
      ...list(path.join(images, 'ingest')),
      ...list(path.join(images, 'layers')).filter((n) => n.startsWith('.')),
    ];
  };

  test('a deadline that passes mid-download stops the download and leaves nothing', async () => {
    const registry = await StallingRegistry.start(await freshImage(), 'e2e/stall', 'v1');
    try {
      const ref = `${registry.host}/e2e/stall:v1`;
      await expect(
        daemon.client.image.PullImage({ image: { image: ref } }, { timeoutMs: 800 }),
      ).rejects.toMatchObject({ code: grpcStatus.DEADLINE_EXCEEDED });
      expect(registry.layerRequests).toBe(1);
      // The daemon dropped the download: the registry sees its connection close.
      expect(
        await eventually(
          async () => registry.layerClosed,
          (n) => n === 1,
          5000,
        ),
      ).toBe(1);
      expect(
        await eventually(
          async () => partial(),
          (left) => left.length === 0,
          5000,
        ),
      ).toEqual([]);
      const { images } = await daemon.client.image.ListImages({});
      expect(images.flatMap((i) => i.repo_tags)).not.toContain(ref);
    } finally {
      await registry.stop();
    }
  });

  test('a pull that another caller still waits for goes on to the end', async () => {
    const registry = await StallingRegistry.start(await freshImage(), 'e2e/shared', 'v1');
    try {
      const ref = `${registry.host}/e2e/shared:v1`;
      const patient = daemon.client.image.PullImage({ image: { image: ref } });
      expect(
        await eventually(
          async () => registry.layerRequests,
          (n) => n === 1,
          5000,
        ),
      ).toBe(1);
      await expect(
        daemon.client.image.PullImage({ image: { image: ref } }, { timeoutMs: 300 }),
      ).rejects.toMatchObject({ code: grpcStatus.DEADLINE_EXCEEDED });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(registry.layerClosed).toBe(0);
      registry.release();
      const { image_ref } = await patient;
      expect(image_ref).toMatch(/^sha256:/);
      expect(registry.layerRequests).toBe(1); // one download for both callers
    } finally {
      await registry.stop();
    }
  });
});
