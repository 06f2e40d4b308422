import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { NotFoundError } from '../common/errors';
import { sha256Digest } from './digest';
import { DigestMismatchError, UnauthenticatedError } from './errors';
import { MediaType } from './manifest';
import type { Endpoint } from './mirrors';
import { RegistryClient } from './registry-client';
import {
  buildImage,
  buildLayer,
  pushImage,
  startAuthProxy,
  startRegistry,
  type AuthProxy,
  type BuiltImage,
  type TestRegistry,
} from './test-registry';

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('RegistryClient against docker-registry', () => {
  let registry: TestRegistry;
  let image: BuiltImage;
  let dockerImage: BuiltImage;
  let client: RegistryClient;
  let proxy: AuthProxy | undefined;

  beforeAll(async () => {
    registry = await startRegistry();
    const layer = await buildLayer([{ name: 'hello.txt', content: 'hello' }]);
    image = buildImage([layer]);
    dockerImage = buildImage([await buildLayer([{ name: 'a', content: 'a' }], 'gzip', 'docker')], {
      format: 'docker',
    });
    await pushImage(registry.url, 'team/app', 'v1', image);
    await pushImage(registry.url, 'team/app', 'docker', dockerImage);
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(() => {
    client = new RegistryClient();
  });
  afterEach(async () => {
    await client.close();
    await proxy?.stop();
    proxy = undefined;
  });

  const endpoint = (host: string, repository = 'team/app'): Endpoint => ({
    host,
    repository,
    insecure: true,
    mirror: false,
  });

  it('fetches an OCI manifest by tag and by digest', async () => {
    const byTag = await client.getManifest(endpoint(registry.host), 'v1');
    expect(byTag.digest).toBe(image.manifest.digest);
    expect(byTag.contentType).toBe(MediaType.ociManifest);
    expect(byTag.body).toEqual(image.manifest.data);
    const byDigest = await client.getManifest(endpoint(registry.host), image.manifest.digest);
    expect(byDigest.body).toEqual(image.manifest.data);
  });

  it('fetches a Docker schema 2 manifest', async () => {
    const m = await client.getManifest(endpoint(registry.host), 'docker');
    expect(m.contentType).toBe(MediaType.dockerManifest);
    expect(m.digest).toBe(dockerImage.manifest.digest);
  });

  it('streams a blob', async () => {
    const body = await client.openBlob(endpoint(registry.host), image.layers[0].digest);
    expect(await readAll(body)).toEqual(image.layers[0].data);
  });

  it('reports unknown tags, repositories and blobs as not found', async () => {
    await expect(client.getManifest(endpoint(registry.host), 'nope')).rejects.toThrow(NotFoundError);
    await expect(client.getManifest(endpoint(registry.host, 'other/repo'), 'v1')).rejects.toThrow(
      NotFoundError,
    );
    await expect(client.openBlob(endpoint(registry.host), sha256Digest('missing'))).rejects.toThrow(
      NotFoundError,
    );
  });

  it('reports an unreachable registry as unavailable', async () => {
    await expect(client.getManifest(endpoint('127.0.0.1:1'), 'v1')).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  it('gets an anonymous bearer token once and reuses it', async () => {
    proxy = await startAuthProxy({ upstream: registry, mode: 'bearer' });
    const ep = endpoint(proxy.host);
    await client.getManifest(ep, 'v1');
    await client.getManifest(ep, image.manifest.digest);
    await readAll(await client.openBlob(ep, image.config.digest));
    expect(proxy.tokenRequests).toEqual(['']);
    // Only the very first request collects a 401; the others carry the token up front.
    expect(proxy.apiRequests.map((r) => r.auth)).toEqual(['', 'Bearer', 'Bearer', 'Bearer']);
  });

  it('gets a new token once the old one expired', async () => {
    // Tokens are renewed 5 s before they expire: a 6 s token is good for 1 s.
    proxy = await startAuthProxy({ upstream: registry, mode: 'bearer', tokenLifetimeS: 6 });
    await client.getManifest(endpoint(proxy.host), 'v1');
    await client.getManifest(endpoint(proxy.host), 'v1');
    expect(proxy.tokenRequests).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1100));
    await client.getManifest(endpoint(proxy.host), 'v1');
    expect(proxy.tokenRequests).toHaveLength(2);
  });

  it('speaks https to a registry not marked insecure', async () => {
    // The test registry speaks plain http, so a TLS client hello fails there.
    await expect(
      client.getManifest({ ...endpoint(registry.host), insecure: false }, 'v1'),
    ).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringContaining(`https://${registry.host}/v2/team/app/manifests/v1`),
    });
  });

  it('sends the AuthConfig credentials to the token server', async () => {
    proxy = await startAuthProxy({
      upstream: registry,
      mode: 'bearer',
      username: 'alice',
      password: 's3cret',
    });
    await client.getManifest(endpoint(proxy.host), 'v1', { username: 'alice', password: 's3cret' });
    expect(proxy.tokenRequests).toEqual(['alice']);
    const other = new RegistryClient();
    try {
      await expect(
        other.getManifest(endpoint(proxy.host), 'v1', { username: 'alice', password: 'wrong' }),
      ).rejects.toThrow(UnauthenticatedError);
    } finally {
      await other.close();
    }
  });

  it('sends a registry_token as is and trades an identity_token for a bearer token', async () => {
    proxy = await startAuthProxy({ upstream: registry, mode: 'bearer', refreshToken: 'refresh-me' });
    const issued = await request(`${proxy.url}/token?scope=x`);
    const { token } = (await issued.body.json()) as { token: string };
    await client.getManifest(endpoint(proxy.host), 'v1', { registry_token: token });
    expect(proxy.apiRequests.map((r) => r.auth)).toEqual(['Bearer']);
    const other = new RegistryClient();
    const third = new RegistryClient();
    try {
      await other.getManifest(endpoint(proxy.host), 'v1', { identity_token: 'refresh-me' });
      expect(proxy.tokenRequests).toEqual(['', 'refresh-token']);
      await expect(
        third.getManifest(endpoint(proxy.host), 'v1', { identity_token: 'wrong' }),
      ).rejects.toThrow(UnauthenticatedError);
    } finally {
      await other.close();
      await third.close();
    }
  });

  it('answers a basic challenge with username/password or the auth field', async () => {
    proxy = await startAuthProxy({
      upstream: registry,
      mode: 'basic',
      username: 'bob',
      password: 'pw:with:colons',
    });
    const ep = endpoint(proxy.host);
    await expect(client.getManifest(ep, 'v1')).rejects.toThrow('requires credentials and none were given');
    const auth = Buffer.from('bob:pw:with:colons').toString('base64');
    expect((await client.getManifest(ep, 'v1', { auth })).digest).toBe(image.manifest.digest);
    await expect(client.getManifest(ep, 'v1', { username: 'bob', password: 'nope' })).rejects.toThrow(
      UnauthenticatedError,
    );
  });

  it('follows blob redirects to another origin without sending credentials there', async () => {
    proxy = await startAuthProxy({ upstream: registry, mode: 'bearer', redirectBlobs: true });
    const body = await client.openBlob(endpoint(proxy.host), image.layers[0].digest);
    expect(await readAll(body)).toEqual(image.layers[0].data);
    expect(proxy.redirectedAuthHeaders).toEqual([]);
  });

  it('refuses a manifest that does not match the digest asked for or announced', async () => {
    const body = image.manifest.data;
    const liar = http.createServer((_req, res) => {
      res.writeHead(200, {
        'content-type': MediaType.ociManifest,
        'docker-content-digest': sha256Digest('announced'),
      });
      res.end(body);
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    try {
      const ep = endpoint(`127.0.0.1:${(liar.address() as AddressInfo).port}`);
      await expect(client.getManifest(ep, sha256Digest('asked'))).rejects.toThrow(DigestMismatchError);
      await expect(client.getManifest(ep, 'v1')).rejects.toThrow(
        `digest ${image.manifest.digest}, expected ${sha256Digest('announced')}`,
      );
    } finally {
      liar.closeAllConnections();
      await new Promise((resolve) => liar.close(resolve));
    }
  });
});
