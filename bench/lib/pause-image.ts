import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { pack } from 'tar-stream';

/** A blob of an image: what a manifest's descriptor names, and its bytes. */
export interface ImageBlob {
  mediaType: string;
  digest: string;
  size: number;
  data: Buffer;
}

/** An image as its manifest, config and layer blobs (image/test-registry's BuiltImage fits). */
export interface ImageBlobs {
  manifest: ImageBlob;
  config: ImageBlob;
  layers: ImageBlob[];
}

/**
 * Writes an OCI image layout tarball (image-spec image-layout.md) holding one image, named `name`
 * through the annotation containerd's importer reads, for `ctr images import`. Given the blobs
 * an image was pushed to a registry with, containerd gets the very same image (same digests).
 */
export async function writeImageTar(name: string, image: ImageBlobs, out: string): Promise<void> {
  const index = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: image.manifest.mediaType,
        digest: image.manifest.digest,
        size: image.manifest.size,
        annotations: {
          'io.containerd.image.name': name,
          'org.opencontainers.image.ref.name': name.split(':').pop(),
        },
      },
    ],
  });
  const blob = (b: ImageBlob) => ({ name: `blobs/sha256/${b.digest.slice(7)}`, mode: 0o644, data: b.data });
  const layout = await tarOf([
    { name: 'oci-layout', mode: 0o644, data: json({ imageLayoutVersion: '1.0.0' }) },
    { name: 'index.json', mode: 0o644, data: index },
    ...image.layers.map(blob),
    blob(image.config),
    blob(image.manifest),
  ]);
  fs.writeFileSync(out, layout);
}

/**
 * Writes an image layout tarball of an image whose only file is `/pause` (our static
 * berth-pause). It stands in for registry.k8s.io/pause where no registry is reachable.
 */
export async function writePauseImageTar(pauseBinary: string, name: string, out: string): Promise<void> {
  const layer = await tarOf([{ name: 'pause', mode: 0o755, data: fs.readFileSync(pauseBinary) }]);
  const layerDigest = sha256(layer);
  const config = json({
    architecture: 'amd64',
    os: 'linux',
    config: { Entrypoint: ['/pause'] },
    rootfs: { type: 'layers', diff_ids: [layerDigest] },
  });
  const described = (mediaType: string, data: Buffer): ImageBlob => ({
    mediaType,
    digest: sha256(data),
    size: data.length,
    data,
  });
  const layerBlob = described('application/vnd.oci.image.layer.v1.tar', layer);
  const configBlob = described('application/vnd.oci.image.config.v1+json', config);
  const manifest = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: configBlob.mediaType, digest: configBlob.digest, size: configBlob.size },
    layers: [{ mediaType: layerBlob.mediaType, digest: layerBlob.digest, size: layerBlob.size }],
  });
  await writeImageTar(
    name,
    {
      manifest: described('application/vnd.oci.image.manifest.v1+json', manifest),
      config: configBlob,
      layers: [layerBlob],
    },
    out,
  );
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function tarOf(entries: Array<{ name: string; mode: number; data: Buffer }>): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    archive.on('end', resolve);
    archive.on('error', reject);
  });
  for (const entry of entries)
    archive.entry({ name: entry.name, mode: entry.mode, mtime: new Date(0) }, entry.data);
  archive.finalize();
  await done;
  return Buffer.concat(chunks);
}
