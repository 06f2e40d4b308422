import { InvalidArgumentError, NotFoundError, UnimplementedError } from '../common/errors';
import { isSha256Digest } from './reference';

/**
 * Manifests, indexes and image configs: the media types we accept, their validation, and the
 * choice of one platform's manifest from an index (image-spec manifest.md, image-index.md,
 * config.md; Docker's schema 2 manifest and manifest list are the same shapes under other
 * media type names).
 */

export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** The Accept header for manifest requests: every manifest and index type we can read. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
].join(', ');

export type Compression = 'none' | 'gzip' | 'zstd';

const layerCompression: Record<string, Compression> = {
  [MediaType.ociLayer]: 'none',
  [MediaType.ociLayerGzip]: 'gzip',
  [MediaType.ociLayerZstd]: 'zstd',
  [MediaType.ociLayerNondistributable]: 'none',
  [MediaType.ociLayerNondistributableGzip]: 'gzip',
  [MediaType.ociLayerNondistributableZstd]: 'zstd',
  [MediaType.dockerLayerGzip]: 'gzip',
  [MediaType.dockerForeignLayerGzip]: 'gzip',
};

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Array<Descriptor & { compression: Compression }>;
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

/** The parts of an image config (config.md) berth reads. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    ExposedPorts?: Record<string, unknown>;
    Volumes?: Record<string, unknown>;
  };
  rootfs: { type: string; diff_ids: string[] };
  history?: unknown[];
}

function invalid(what: string, why: string): never {
  throw new InvalidArgumentError(`invalid ${what}: ${why}`);
}

function parseJson(what: string, body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    invalid(what, `not JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(what, 'not a JSON object');
  return value as Record<string, unknown>;
}

function parseDescriptor(what: string, value: unknown): Descriptor {
  if (typeof value !== 'object' || value === null) invalid(what, 'descriptor is not an object');
  const d = value as Record<string, unknown>;
  if (typeof d.mediaType !== 'string') invalid(what, 'descriptor without mediaType');
  if (typeof d.digest !== 'string' || !isSha256Digest(d.digest)) {
    invalid(what, `descriptor digest ${JSON.stringify(d.digest)} is not a sha256 digest`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    invalid(what, `descriptor size ${JSON.stringify(d.size)} is not a non-negative integer`);
  }
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (typeof d.platform === 'object' && d.platform !== null) {
    const p = d.platform as Record<string, unknown>;
    out.platform = {
      os: String(p.os ?? ''),
      architecture: String(p.architecture ?? ''),
      ...(typeof p.variant === 'string' && p.variant !== '' ? { variant: p.variant } : {}),
    };
  }
  if (typeof d.annotations === 'object' && d.annotations !== null) {
    out.annotations = d.annotations as Record<string, string>;
  }
  return out;
}

/**
 * Parses a manifest or index. The media type comes from the document's own `mediaType` field
 * when it has one, else from the response's Content-Type (image-spec: mediaType SHOULD be set;
 * Docker schema 2 always sets it).
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ImageManifest | ImageIndex {
  const doc = parseJson('manifest', body);
  const mediaType =
    typeof doc.mediaType === 'string' && doc.mediaType !== ''
      ? doc.mediaType
      : contentType?.split(';')[0].trim();
  if (
    mediaType === MediaType.dockerSchema1 ||
    mediaType === MediaType.dockerSchema1Signed ||
    doc.schemaVersion === 1
  ) {
    throw new UnimplementedError(
      'Docker image manifest schema 1 is not supported; push the image with schema 2',
    );
  }
  if (doc.schemaVersion !== 2)
    invalid('manifest', `schemaVersion ${JSON.stringify(doc.schemaVersion)} is not 2`);
  if (mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList) {
    if (!Array.isArray(doc.manifests)) invalid('index', 'no manifests array');
    return {
      kind: 'index',
      mediaType,
      manifests: doc.manifests.map((m: unknown) => parseDescriptor('index', m)),
    };
  }
  if (mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest) {
    const config = parseDescriptor('manifest config', doc.config);
    if (config.mediaType !== MediaType.ociConfig && config.mediaType !== MediaType.dockerConfig) {
      throw new UnimplementedError(`manifest config media type ${config.mediaType} is not an image config`);
    }
    if (!Array.isArray(doc.layers)) invalid('manifest', 'no layers array');
    const layers = doc.layers.map((l: unknown) => {
      const d = parseDescriptor('manifest layer', l);
      const compression = layerCompression[d.mediaType];
      if (compression === undefined)
        throw new UnimplementedError(`layer media type ${d.mediaType} is not supported`);
      return { ...d, compression };
    });
    return { kind: 'manifest', mediaType, config, layers };
  }
  throw new UnimplementedError(`manifest media type ${JSON.stringify(mediaType)} is not supported`);
}

/** Parses and checks an image config: a layer image whose diff IDs pair up with the layers. */
export function parseImageConfig(body: Buffer, layerCount: number): ImageConfig {
  const doc = parseJson('image config', body) as unknown as ImageConfig;
  const rootfs = doc.rootfs as ImageConfig['rootfs'] | undefined;
  if (!rootfs || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    invalid('image config', 'rootfs is not {type: "layers", diff_ids: [...]}');
  }
  for (const id of rootfs.diff_ids) {
    if (typeof id !== 'string' || !isSha256Digest(id))
      invalid('image config', `diff ID ${JSON.stringify(id)}`);
  }
  if (rootfs.diff_ids.length !== layerCount) {
    invalid('image config', `${rootfs.diff_ids.length} diff IDs for ${layerCount} layers`);
  }
  return doc;
}

/** The platform this process runs on, in OCI terms (image-spec image-index.md, platform). */
export function hostPlatform(): Platform {
  const arch: Record<string, Platform> = {
    x64: { os: 'linux', architecture: 'amd64' },
    arm64: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
    ppc64: { os: 'linux', architecture: 'ppc64le' },
    s390x: { os: 'linux', architecture: 's390x' },
    riscv64: { os: 'linux', architecture: 'riscv64' },
  };
  return arch[process.arch] ?? { os: 'linux', architecture: process.arch };
}

// A missing variant means the architecture's baseline (containerd platforms/cpuinfo.go).
const defaultVariant: Record<string, string> = { amd64: 'v1', arm64: 'v8', arm: 'v7' };

function variantOf(p: Platform): string {
  return p.variant ?? defaultVariant[p.architecture] ?? '';
}

/**
 * Picks the manifest for `platform` from an index: same os and architecture, same variant
 * (a missing variant meaning the baseline one); an entry that names the variant exactly beats
 * one that leaves it out. Attestation manifests (platform unknown/unknown) never match.
 */
export function selectPlatform(index: ImageIndex, platform: Platform): Descriptor {
  const candidates = index.manifests.filter(
    (m) =>
      (m.mediaType === MediaType.ociManifest || m.mediaType === MediaType.dockerManifest) &&
      m.platform !== undefined &&
      m.platform.os === platform.os &&
      m.platform.architecture === platform.architecture &&
      variantOf(m.platform) === variantOf(platform),
  );
  const exact = candidates.find((m) => m.platform?.variant === platform.variant);
  const chosen = exact ?? candidates[0];
  if (!chosen) {
    const offered = index.manifests
      .map((m) =>
        m.platform
          ? [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/')
          : '?',
      )
      .join(', ');
    const wanted = [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
    throw new NotFoundError(`no manifest for platform ${wanted} in index (offered: ${offered || 'none'})`);
  }
  return chosen;
}
