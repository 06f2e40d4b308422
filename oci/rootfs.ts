import { promises as fs } from 'node:fs';
import { mount } from '../common/mounts';
import { FailedPreconditionError, InternalError } from '../common/errors';

export interface OverlayDirs {
  /** Where the container sees its root filesystem (the bundle's rootfs). */
  target: string;
  /** The container's own writable layer and overlayfs's scratch dir. */
  upper: string;
  work: string;
}

/**
 * Mounts a container's root filesystem: the image's unpacked layers (top first) as read-only
 * lower dirs under the container's own upper dir. Layers stay shared between images and
 * containers; a container's writes land in its upper dir only.
 */
export async function mountOverlay(lowerDirs: string[], dirs: OverlayDirs): Promise<void> {
  if (lowerDirs.length === 0) throw new FailedPreconditionError('the image has no layers to run');
  await Promise.all(
    [dirs.target, dirs.upper, dirs.work].map((d) => fs.mkdir(d, { recursive: true, mode: 0o755 })),
  );
  // The option string is limited to a page (4096 bytes): about 40 layers at our path lengths.
  const options = `lowerdir=${lowerDirs.join(':')},upperdir=${dirs.upper},workdir=${dirs.work}`;
  try {
    await mount('overlay', dirs.target, 'overlay', 0, options);
  } catch (err) {
    throw new InternalError(`cannot mount the container's rootfs: ${(err as Error).message}`, { cause: err });
  }
}
