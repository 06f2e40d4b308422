import { InvalidArgumentError, NotFoundError, UnimplementedError } from '../common/errors';
import { sha256Digest } from './digest';
import { MediaType, parseImageConfig, parseManifest, selectPlatform, type ImageIndex } from './manifest';

const d = (s: string) => sha256Digest(s);
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('parseManifest', () => {
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: d('c'), size: 10 },
    layers: [
      { mediaType: MediaType.ociLayerGzip, digest: d('1'), size: 1 },
      { mediaType: MediaType.ociLayerZstd, digest: d('2'), size: 2 },
      { mediaType: MediaType.ociLayer, digest: d('3'), size: 3 },
      { mediaType: MediaType.dockerLayerGzip, digest: d('4'), size: 4 },
    ],
  };

  it('reads an image manifest and each layer compression', () => {
    const m = parseManifest(json(manifest), undefined);
    expect(m.kind).toBe('manifest');
    if (m.kind !== 'manifest') return;
    expect(m.layers.map((l) => l.compression)).toEqual(['gzip', 'zstd', 'none', 'gzip']);
  });

  it('takes the media type from Content-Type when the document has none', () => {
    const { mediaType: _omit, ...bare } = manifest;
    expect(parseManifest(json(bare), `${MediaType.ociManifest}; charset=utf-8`).kind).toBe('manifest');
    expect(parseManifest(json({ schemaVersion: 2, manifests: [] }), MediaType.dockerManifestList).kind).toBe(
      'index',
    );
  });

  it.each([
    [Buffer.from('{not json'), InvalidArgumentError, 'not JSON'],
    [json({ ...manifest, schemaVersion: 1 }), UnimplementedError, 'schema 1'],
    [json({ ...manifest, mediaType: 'text/plain' }), UnimplementedError, 'not supported'],
    [
      json({ ...manifest, layers: [{ mediaType: 'x/y', digest: d('1'), size: 1 }] }),
      UnimplementedError,
      'x/y',
    ],
    [
      json({ ...manifest, layers: [{ ...manifest.layers[0], digest: 'md5:00' }] }),
      InvalidArgumentError,
      'sha256',
    ],
    [
      json({ ...manifest, layers: [{ ...manifest.layers[0], size: -1 }] }),
      InvalidArgumentError,
      'non-negative',
    ],
    [
      json({ ...manifest, config: { ...manifest.config, mediaType: 'application/x-helm' } }),
      UnimplementedError,
      'config',
    ],
  ])('rejects bad manifests (%#)', (body, type, message) => {
    expect(() => parseManifest(body, undefined)).toThrow(type);
    expect(() => parseManifest(body, undefined)).toThrow(message);
  });
});

describe('parseImageConfig', () => {
  it('checks that diff IDs pair up with layers', () => {
    const config = json({ rootfs: { type: 'layers', diff_ids: [d('a')] } });
    expect(parseImageConfig(config, 1).rootfs.diff_ids).toEqual([d('a')]);
    expect(() => parseImageConfig(config, 2)).toThrow('1 diff IDs for 2 layers');
    expect(() => parseImageConfig(json({ rootfs: { type: 'x' } }), 0)).toThrow('rootfs');
  });
});

describe('selectPlatform', () => {
  const entry = (architecture: string, variant?: string, os = 'linux') => ({
    mediaType: MediaType.ociManifest,
    digest: d(`${os}/${architecture}/${variant}`),
    size: 1,
    platform: { os, architecture, ...(variant ? { variant } : {}) },
  });
  const index = (...manifests: ReturnType<typeof entry>[]): ImageIndex => ({
    kind: 'index',
    mediaType: MediaType.ociIndex,
    manifests,
  });

  it('picks linux/amd64 among others', () => {
    const idx = index(
      entry('arm64', 'v8'),
      entry('amd64', undefined, 'windows'),
      entry('amd64'),
      entry('s390x'),
    );
    expect(selectPlatform(idx, { os: 'linux', architecture: 'amd64' })).toBe(idx.manifests[2]);
  });

  it('matches variants, a missing variant being the baseline', () => {
    const idx = index(entry('arm', 'v6'), entry('arm', 'v7'), entry('arm64'));
    expect(selectPlatform(idx, { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(idx.manifests[1]);
    expect(selectPlatform(idx, { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(idx.manifests[2]);
    const exact = index(entry('arm64'), entry('arm64', 'v8'));
    expect(selectPlatform(exact, { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(
      exact.manifests[1],
    );
  });

  it('says what was offered when nothing matches', () => {
    const idx = index(entry('arm64', 'v8'), { ...entry('unknown', undefined, 'unknown') });
    expect(() => selectPlatform(idx, { os: 'linux', architecture: 'amd64' })).toThrow(NotFoundError);
    expect(() => selectPlatform(idx, { os: 'linux', architecture: 'amd64' })).toThrow(
      'offered: linux/arm64/v8, unknown/unknown',
    );
  });
});
