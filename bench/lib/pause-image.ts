import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { pack } from 'tar-stream';

/**
 * Writes an OCI image layout tarball holding one image whose only file is `/pause` (our static
 * berth-pause), named `name` through the annotation containerd's importer reads. It stands in
 * for registry.k8s.io/pause where no registry is reachable.
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
  const manifest = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: sha256(config),
      size: config.length,
    },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length },
    ],
  });
  const index = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: sha256(manifest),
        size: manifest.length,
        annotations: {
          'io.containerd.image.name': name,
          'org.opencontainers.image.ref.name': name.split(':').pop(),
        },
      },
    ],
  });
  const blob = (content: Buffer) => ({
    name: `blobs/sha256/${sha256(content).slice(7)}`,
    mode: 0o644,
    data: content,
  });
  const layout = await tarOf([
    { name: 'oci-layout', mode: 0o644, data: json({ imageLayoutVersion: '1.0.0' }) },
    { name: 'index.json', mode: 0o644, data: index },
    blob(layer),
    blob(config),
    blob(manifest),
  ]);
  fs.writeFileSync(out, layout);
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
